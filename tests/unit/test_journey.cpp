// The journey's pure pieces: arrivals, the summary of students' steps, thresholds and reports
// fed from the one registry of step metrics, durations on the command line, the cell message.
#include "hubstress/duration.hpp"
#include "hubstress/scenarios/journey.hpp"
#include "hubstress/report/report.hpp"
#include "hubstress/report/summary.hpp"
#include "hubstress/report/thresholds.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hs = hubstress;

namespace {

hs::StudentRecord student(std::string user, double scheduled, std::vector<hs::StepTime> steps, std::optional<double> ttfr,
                          std::string failed_step = "", std::string reason = "") {
  hs::StudentRecord s;
  s.user = std::move(user);
  s.scheduled_s = scheduled;
  s.steps = std::move(steps);
  s.time_to_first_result_s = ttfr;
  s.failed_step = std::move(failed_step);
  s.reason = std::move(reason);
  s.kernel_deleted = s.failed_step.empty();
  return s;
}

// Two students who made it (one with a further cell, one late), and two who failed at ready
// with the same reason in their own names.
hs::JourneyResult class_of_four() {
  hs::JourneyResult r;
  r.created = {"u-1", "u-2", "u-3", "u-4"};
  r.students.push_back(student("u-1", 0, {{"spawn", 0, 0.5}, {"ready", 0, 2.0}, {"open", 2.0, 0.25}, {"kernel", 2.25, 1.0},
                                         {"first_result", 3.25, 0.25}, {"cell", 8.5, 0.5}}, 3.5));
  r.students.push_back(student("u-2", 1, {{"spawn", 1, 1.5}, {"ready", 1, 4.0}, {"open", 5.0, 0.75}, {"kernel", 5.75, 3.0},
                                         {"first_result", 8.75, 0.75}}, 8.5));
  r.students[1].late_s = 0.5;
  r.students.push_back(student("u-3", 2, {{"spawn", 2, 0.5}}, std::nullopt, "ready", "spawn failed: no room for u-3"));
  r.students.push_back(student("u-4", 3, {{"spawn", 3, 0.5}}, std::nullopt, "ready", "spawn failed: no room for u-4"));
  return r;
}

hs::Summary journey_summary(const hs::JourneyResult& r, const hs::JourneyOptions& o) {
  hs::SummaryInputs in;
  in.command = "journey";
  in.requested_users = 4;
  in.journey = &r;
  in.journey_options = &o;
  return hs::build_summary(in);
}

} // namespace

TEST(JourneyArrivals, UniformIsEvenlySpacedFromZero) {
  const auto t = hs::arrival_offsets(4, 10, hs::Arrival::uniform, 1);
  EXPECT_EQ(t, (std::vector<double>{0, 2.5, 5, 7.5}));
  EXPECT_EQ(hs::arrival_offsets(3, 0, hs::Arrival::poisson, 1), (std::vector<double>{0, 0, 0}));
  EXPECT_TRUE(hs::arrival_offsets(0, 10, hs::Arrival::uniform, 1).empty());
}

TEST(JourneyArrivals, PoissonArrivalsAreSortedWithinTheRampAndBunchUp) {
  const auto t = hs::arrival_offsets(2000, 100, hs::Arrival::poisson, 42);
  ASSERT_EQ(t.size(), 2000u);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  EXPECT_GE(t.front(), 0.0);
  EXPECT_LT(t.back(), 100.0);
  EXPECT_EQ(t, hs::arrival_offsets(2000, 100, hs::Arrival::poisson, 42)) << "the same seed, the same class";
  EXPECT_NE(t, hs::arrival_offsets(2000, 100, hs::Arrival::poisson, 43));
  // gaps of a Poisson process are exponential: their mean is ramp/count and their spread as large
  // as their mean (a uniform schedule has no spread at all)
  double sum = 0, sum2 = 0;
  for (std::size_t i = 1; i < t.size(); ++i) {
    const double gap = t[i] - t[i - 1];
    sum += gap;
    sum2 += gap * gap;
  }
  const double n = static_cast<double>(t.size() - 1);
  const double mean = sum / n;
  const double sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 0.05, 0.005);
  EXPECT_NEAR(sd / mean, 1.0, 0.15);
}

TEST(JourneySummary, EveryStepOfTheRegistryWithItsCountsFailuresAndHeadline) {
  hs::JourneyOptions o;
  o.cells = 2;
  const auto r = class_of_four();
  const auto s = journey_summary(r, o);
  ASSERT_TRUE(s.journey);
  const auto& j = *s.journey;
  ASSERT_EQ(j.steps.size(), hs::journey_metrics().size());
  for (std::size_t i = 0; i < j.steps.size(); ++i) EXPECT_EQ(j.steps[i].name, hs::journey_metrics()[i].name);
  EXPECT_EQ(j.students, 4u);
  EXPECT_EQ(j.completed, 2u);
  EXPECT_EQ(j.failed, 2u);
  EXPECT_DOUBLE_EQ(j.failure_rate_pct, 50.0);
  EXPECT_EQ(j.late_starts, 1u);
  EXPECT_DOUBLE_EQ(j.max_late_s, 0.5);
  EXPECT_EQ(j.kernels_deleted, 2u);
  EXPECT_EQ(hs::find_step(j, "spawn")->seconds.count, 4u);
  EXPECT_EQ(hs::find_step(j, "ready")->seconds.count, 2u);
  EXPECT_EQ(hs::find_step(j, "ready")->failed, 2u);
  EXPECT_DOUBLE_EQ(hs::find_step(j, "kernel")->seconds.max, 3.0);
  EXPECT_EQ(hs::find_step(j, "cell")->seconds.count, 1u);
  EXPECT_EQ(hs::find_step(j, "login")->seconds.count, 0u);
  EXPECT_DOUBLE_EQ(hs::find_step(j, hs::kTimeToFirstResult)->seconds.p50, 3.5);
  EXPECT_EQ(j.time_to_first_result.total(), 2u);
  ASSERT_EQ(j.failures.size(), 1u) << "the user's own name does not split a reason";
  EXPECT_EQ(j.failures[0].reason, "ready: spawn failed: no room for {user}");
  EXPECT_EQ(j.failures[0].count, 2u);
  EXPECT_EQ(j.failures[0].examples, (std::vector<std::string>{"u-3", "u-4"}));
  EXPECT_EQ(s.users->created, 4);
}

// docs/report-schema.md: late_starts are "students the tool started more than 0.1 s after their
// scheduled arrival"; max_late_s the latest such start.
TEST(JourneySummary, ALateStartIsAStudentStartedMoreThanATenthOfASecondLate) {
  hs::JourneyOptions o;
  auto r = class_of_four();
  r.students[0].late_s = 0.05;
  r.students[1].late_s = 0.1;
  r.students[2].late_s = 0.15;
  r.students[3].late_s = 0;
  const auto j = *journey_summary(r, o).journey;
  EXPECT_EQ(j.late_starts, 1u);
  EXPECT_DOUBLE_EQ(j.max_late_s, 0.15);
  EXPECT_EQ(r.late_starts(), 1) << "the warning at the end of a journey says the same";
}

TEST(JourneySummary, StudentsInEachStepDuringEachSecond) {
  hs::JourneyOptions o;
  const auto j = *journey_summary(class_of_four(), o).journey;
  const auto ready = std::find(j.active_steps.begin(), j.active_steps.end(), "ready") - j.active_steps.begin();
  const auto kernel = std::find(j.active_steps.begin(), j.active_steps.end(), "kernel") - j.active_steps.begin();
  ASSERT_LT(static_cast<std::size_t>(kernel), j.active_steps.size());
  EXPECT_EQ(std::find(j.active_steps.begin(), j.active_steps.end(), hs::kTimeToFirstResult), j.active_steps.end());
  ASSERT_GE(j.active_over_time.size(), 9u);
  EXPECT_EQ(j.active_over_time[1].active[static_cast<std::size_t>(ready)], 2u);   // u-1 [0, 2), u-2 [1, 5)
  EXPECT_EQ(j.active_over_time[3].active[static_cast<std::size_t>(ready)], 1u);   // u-2
  EXPECT_EQ(j.active_over_time[6].active[static_cast<std::size_t>(kernel)], 1u);  // u-2 [5.75, 8.75)
  EXPECT_EQ(j.active_over_time[2].active[static_cast<std::size_t>(kernel)], 1u);  // u-1 [2.25, 3.25): within the second
  EXPECT_EQ(j.active_over_time[8].t_s, 8.0);
}

TEST(JourneyThresholds, StepMetricsComeFromTheRegistry) {
  hs::JourneyOptions o;
  const auto s = journey_summary(class_of_four(), o);
  auto check = [&](const std::string& text) { return hs::evaluate(hs::parse_threshold(text), s); };
  EXPECT_TRUE(check("time_to_first_result_p50<=3.5s").passed);
  EXPECT_FALSE(check("time_to_first_result_max<8s").passed);
  EXPECT_DOUBLE_EQ(check("kernel_max<5s").actual, 3.0);
  EXPECT_DOUBLE_EQ(check("journey_failure_rate<1%").actual, 50.0);
  EXPECT_FALSE(check("journey_failure_rate<1%").passed);
  EXPECT_DOUBLE_EQ(check("late_starts<1").actual, 1.0);
  EXPECT_DOUBLE_EQ(check("spawn_max<1s").actual, 1.5) << "in a journey, spawn_* is the journey's spawn step";
  EXPECT_FALSE(check("login_p95<1s").has_data) << "no student logged in by form";
  for (const auto& m : hs::journey_metrics()) {
    EXPECT_NO_THROW(hs::parse_threshold(std::string(m.name) + "_p95<1s")) << m.name;
  }
  // outside a journey: no data for the journey's metrics, and ready_rate is still stress-test's
  hs::Summary stress;
  EXPECT_FALSE(hs::evaluate(hs::parse_threshold("kernel_p95<5s"), stress).has_data);
  EXPECT_FALSE(hs::evaluate(hs::parse_threshold("journey_failure_rate<1%"), stress).has_data);
}

TEST(JourneyReports, TerminalJsonAndCsvCarryEveryStep) {
  hs::JourneyOptions o;
  o.cells = 2;
  const auto r = class_of_four();
  const auto s = journey_summary(r, o);
  const std::string text = hs::render_terminal(s);
  EXPECT_NE(text.find("Students: 4 arrived"), std::string::npos) << text;
  EXPECT_NE(text.find("2 completed, 2 failed (50.0 %)"), std::string::npos) << text;
  EXPECT_NE(text.find("time_to_first_result"), std::string::npos) << text;
  EXPECT_EQ(text.find("  login "), std::string::npos) << "a step no student took is left out";
  EXPECT_NE(text.find("2: ready: spawn failed: no room for {user} (e.g. u-3, u-4)"), std::string::npos) << text;

  const auto json = hs::to_json(s);
  ASSERT_TRUE(json["journey"].is_object());
  EXPECT_EQ(json["journey"]["steps"].size(), hs::journey_metrics().size());
  EXPECT_EQ(json["journey"]["completed"], 2);
  EXPECT_EQ(json["journey"]["steps"][2]["name"], "ready");

  const auto dir = std::filesystem::temp_directory_path() / ("hst-journey-csv-" + std::to_string(::getpid()));
  hs::write_csv(s, nullptr, {}, dir.string(), &r);
  std::ifstream in(dir / "journeys.csv");
  std::stringstream csv;
  csv << in.rdbuf();
  std::filesystem::remove_all(dir);
  std::string header, first;
  std::getline(csv, header);
  std::getline(csv, first);
  EXPECT_EQ(header, "user,scheduled_s,late_s,login_s,spawn_s,ready_s,open_s,kernel_s,first_result_s,cell_s,"
                    "time_to_first_result_s,cells_done,failed_step,reason,kernel_deleted");
  EXPECT_EQ(first, "u-1,0.000000,0.000000,,0.500000,2.000000,0.250000,1.000000,0.250000,0.500000,3.500000,2,,,true");
  const std::string rest = csv.str();
  EXPECT_NE(rest.find("u-3,2.000000,0.000000,,0.500000,,,,,,,0,ready,spawn failed: no room for u-3,false"), std::string::npos)
      << rest;

  const std::string html = hs::render_html(s);
  EXPECT_NE(html.find("id=\"chart-steps\""), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-ttfr\""), std::string::npos);
}

TEST(Durations, SecondsMillisecondsMinutesHours) {
  EXPECT_DOUBLE_EQ(hs::parse_duration("90", "--x"), 90);
  EXPECT_DOUBLE_EQ(hs::parse_duration("90s", "--x"), 90);
  EXPECT_DOUBLE_EQ(hs::parse_duration("500ms", "--x"), 0.5);
  EXPECT_DOUBLE_EQ(hs::parse_duration("1.5m", "--x"), 90);
  EXPECT_DOUBLE_EQ(hs::parse_duration("1h", "--x"), 3600);
  EXPECT_DOUBLE_EQ(hs::parse_duration("0", "--x"), 0);
  for (const char* bad : {"", "s", "-1s", "5x", "5 s", "1e3", "nan", "5sec"}) {
    try {
      hs::parse_duration(bad, "--think");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--think ", 0), 0u) << e.what();
    }
  }
}

TEST(JourneyCell, AnExecuteRequestAsTheMessagingProtocolWantsIt) {
  const auto m = nlohmann::json::parse(hs::execute_request("s-1", "s", "alice", "print(6 * 7)"));
  EXPECT_EQ(m["header"]["msg_type"], "execute_request");
  EXPECT_EQ(m["header"]["msg_id"], "s-1");
  EXPECT_EQ(m["header"]["session"], "s");
  EXPECT_EQ(m["header"]["username"], "alice");
  EXPECT_EQ(m["header"]["version"], "5.3");
  EXPECT_EQ(m["channel"], "shell");
  EXPECT_EQ(m["content"]["code"], "print(6 * 7)");
  EXPECT_EQ(m["content"]["silent"], false);
  EXPECT_EQ(m["content"]["allow_stdin"], false);
  EXPECT_TRUE(m["parent_header"].is_object() && m["parent_header"].empty());
}

TEST(JourneyReports, InterruptedStudentsAreCountedApartNotAsFailures) {
  hs::JourneyOptions o;
  hs::JourneyResult r = class_of_four();  // 2 completed, 2 failed
  hs::StudentRecord on_the_way;
  on_the_way.user = "u-5";
  on_the_way.failed_step = "ready";
  on_the_way.reason = "interrupted";
  hs::StudentRecord not_yet = on_the_way;
  not_yet.user = "u-6";
  not_yet.failed_step = "arrival";
  not_yet.reason = "interrupted before it arrived";
  r.students.push_back(on_the_way);
  r.students.push_back(not_yet);
  r.interrupted = true;
  hs::Summary s = journey_summary(r, o);
  ASSERT_TRUE(s.journey);
  EXPECT_EQ(s.journey->students, 6u);
  EXPECT_EQ(s.journey->failed, 2u);
  EXPECT_EQ(s.journey->interrupted, 2u);
  EXPECT_EQ(s.journey->never_arrived, 1u);
  EXPECT_DOUBLE_EQ(s.journey->failure_rate_pct, 50.0);  // 2 of the 4 who were not interrupted
  for (const auto& f : s.journey->failures) EXPECT_EQ(f.reason.find("interrupted"), std::string::npos) << f.reason;
  for (const auto& step : s.journey->steps) {
    if (step.name == "ready") {
      EXPECT_EQ(step.failed, 2u);  // u-3 and u-4, not u-5
    }
  }
  s.verdict.result = "INTERRUPTED";
  s.verdict.why = {"interrupted at 0:18"};
  const std::string text = hs::render_terminal(s);
  EXPECT_NE(text.find("2 completed, 2 failed (50.0 %), 2 interrupted (1 before they arrived)"), std::string::npos) << text;
  // the verdict opens the summary and closes it: the last lines on screen
  EXPECT_EQ(text.rfind("Verdict: INTERRUPTED", 0), 0u) << text;
  EXPECT_EQ(text.substr(text.size() - std::string("Verdict: INTERRUPTED\n  - interrupted at 0:18\n").size()),
            "Verdict: INTERRUPTED\n  - interrupted at 0:18\n");
  EXPECT_EQ(hs::to_json(s)["journey"]["interrupted"], 2);
  EXPECT_NE(hs::render_html(s).find("2 interrupted (1 before they arrived), not counted as failures"), std::string::npos);
}

// The charts over time: the legend in its own column right of the plot (never over the data or
// the bands' labels); in "Students in each step", spawn drawn over ready and the overlap said;
// narrow windows get tighter tables.
TEST(JourneyReports, TheHtmlLegendsStandBesideThePlotAndSayReadyIncludesSpawn) {
  hs::JourneyOptions o;
  hs::JourneyResult r = class_of_four();
  r.phases = {{"find", 0.1, 0.0}, {"create", 0.2, 0.1}, {"journeys", 10.0, 0.3}, {"delete", 0.5, 10.3}};
  const std::string html = hs::render_html(journey_summary(r, o));
  const auto chart = html.find("id=\"chart-steps\"");
  ASSERT_NE(chart, std::string::npos);
  const std::string svg = html.substr(chart, html.find("</svg>", chart) - chart);
  // the x axis: <line class="axis" x1=L y1=B x2=R y2=B/>, the second axis line
  const std::regex axis(R"re(<line class="axis" x1="([0-9.]+)" y1="([0-9.]+)" x2="([0-9.]+)" y2="\2"/>)re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, axis)) << svg;
  const double plot_right = std::stod(m[3]);
  const std::regex legend_box(R"re(<rect x="([0-9.]+)" y="[0-9.]+" width="10" height="10")re");
  int boxes = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), legend_box); it != std::sregex_iterator(); ++it) {
    ++boxes;
    EXPECT_GT(std::stod((*it)[1]), plot_right) << "a legend entry over the plot";
  }
  EXPECT_GE(boxes, 4);
  const auto ready = svg.find(">ready (includes spawn)</text>");
  const auto spawn = svg.find(">spawn</text>");
  ASSERT_NE(ready, std::string::npos) << svg;
  ASSERT_NE(spawn, std::string::npos) << svg;
  EXPECT_LT(ready, spawn) << "spawn is drawn after ready, over it";
  EXPECT_NE(html.find("ready runs from the start request to the ready event"), std::string::npos);
  EXPECT_NE(html.find("@media (max-width:1000px)"), std::string::npos);
}
