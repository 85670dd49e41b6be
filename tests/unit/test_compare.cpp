// compare: two reports side by side, every figure both have with its change, judged (follows
// settings, beyond noise, within noise); reports that cannot be compared are refused with one line.
#include "hubstress/model/stats.hpp"
#include "hubstress/report/compare.hpp"
#include "hubstress/report/report.hpp"
#include "hubstress/report/summary.hpp"

#include <gtest/gtest.h>

using namespace hubstress;
using nlohmann::json;

namespace {

// A stress-test report whose servers were ready after `ready_s` seconds (one failed when `fail`).
json stress_report(const std::vector<double>& ready_s, bool fail) {
  StressResult r;
  for (std::size_t i = 0; i < ready_s.size(); ++i) {
    SpawnRecord s;
    s.user = "u-" + std::to_string(i);
    s.state = SpawnState::ready;
    s.requested_at_s = 0;
    s.ready_after_s = ready_s[i];
    r.spawns.push_back(s);
    r.created.push_back(s.user);
  }
  if (fail) {
    SpawnRecord s;
    s.user = "u-x";
    s.state = SpawnState::failed;
    r.spawns.push_back(s);
    r.created.push_back(s.user);
  }
  std::vector<RequestRecord> records(1);
  records[0].kind = ApiKind::stop_server;
  records[0].status = 204;
  records[0].latency_s = ready_s.front() / 10;
  SummaryInputs in;
  in.command = "stress-test";
  in.stress = &r;
  in.records = &records;
  in.requested_users = static_cast<int>(r.created.size());
  return to_json(build_summary(in));
}

// A journey of `students` students: every step takes `ready_s(i)` for the ready step and
// 0.1 s for the others; `cells` cells each; as typed on `command_line`.
struct Class {
  std::size_t students = 12;
  int cells = 3;
  double ramp_up_s = 30;
  Arrival arrival = Arrival::poisson;
  double (*ready_s)(std::size_t) = [](std::size_t i) { return 2.0 + 0.1 * static_cast<double>(i); };
  std::string command_line = "hub-stress-test -t *** journey -c 12 --ramp-up 30s --cells 3 --json a.json";
  std::size_t failing = 0;  // the last ones fail at the kernel step
};

json journey_report(const Class& k) {
  JourneyResult r;
  for (std::size_t i = 0; i < k.students; ++i) {
    StudentRecord st;
    st.user = "u-" + std::to_string(i);
    st.scheduled_s = static_cast<double>(i);
    for (const char* step : {"login", "spawn", "ready", "open", "kernel", "first_result"}) {
      st.steps.push_back({step, st.scheduled_s, std::string(step) == "ready" ? k.ready_s(i) : 0.1});
    }
    if (i + k.failing >= k.students) {
      st.steps.resize(4);  // login, spawn, ready, open
      st.failed_step = "kernel";
      st.reason = "no kernel";
    } else {
      for (int c = 1; c < k.cells; ++c) st.steps.push_back({"cell", st.scheduled_s + 5.0 * c, 0.1});
      st.time_to_first_result_s = k.ready_s(i) + 0.5;
    }
    r.created.push_back(st.user);
    r.students.push_back(st);
  }
  JourneyOptions o;
  o.count = static_cast<int>(k.students);
  o.cells = k.cells;
  o.ramp_up_s = k.ramp_up_s;
  o.arrival = k.arrival;
  SummaryInputs in;
  in.command = "journey";
  in.endpoint = "http://127.0.0.1:8000/hub/api";
  in.hub_version = "5.2.1";
  in.requested_users = static_cast<int>(k.students);
  in.journey = &r;
  in.journey_options = &o;
  in.run.command_line = k.command_line;
  return to_json(build_summary(in));
}

// The second run of issue 23: 10 s uniform with 2 cells.
const Class kSecond = [] {
  Class k;
  k.cells = 2;
  k.ramp_up_s = 10;
  k.arrival = Arrival::uniform;
  k.command_line = "hub-stress-test -t *** journey -c 12 --ramp-up 10s --arrival uniform --cells 2 --json b.json";
  return k;
}();

// The text of the listing from `heading` to the next blank line.
std::string block(const std::string& text, const std::string& heading) {
  const auto at = text.find(heading);
  if (at == std::string::npos) return "";
  return text.substr(at, text.find("\n\n", at) - at);
}

const CompareRow* row(const Comparison& c, const std::string& section, const std::string& metric) {
  for (const auto& r : c.rows) {
    if (r.section == section && r.metric == metric) return &r;
  }
  return nullptr;
}

} // namespace

TEST(Compare, EveryFigureOfBothRunsWithItsChange) {
  const auto c = compare_reports(stress_report({1, 2, 3, 4}, false), stress_report({2, 4, 6, 8}, true));
  const auto* p50 = row(c, "spawn to ready", "p50");
  ASSERT_NE(p50, nullptr);
  EXPECT_DOUBLE_EQ(*p50->a, 2);
  EXPECT_DOUBLE_EQ(*p50->b, 4);
  EXPECT_DOUBLE_EQ(*p50->change_pct(), 100);
  const auto* failures = row(c, "servers", "failure rate");
  ASSERT_NE(failures, nullptr);
  EXPECT_DOUBLE_EQ(*failures->a, 0);
  EXPECT_DOUBLE_EQ(*failures->b, 20);
  EXPECT_FALSE(failures->change_pct()) << "no percentage of a change from 0";
  const auto* stop = row(c, "api stop server", "p95");
  ASSERT_NE(stop, nullptr);
  EXPECT_DOUBLE_EQ(*stop->b, 0.2);
  EXPECT_EQ(row(c, "step kernel", "p95"), nullptr) << "a stress-test has no journey steps";
  const std::string text = render_compare_terminal(c);
  EXPECT_NE(text.find("+100.0 %"), std::string::npos) << text;
  EXPECT_NE(text.find("A: stress-test at"), std::string::npos) << text;
  const std::string html = render_compare_html(c);
  EXPECT_NE(html.find("<table id=\"compare\">"), std::string::npos);
  EXPECT_NE(html.find("spawn to ready"), std::string::npos);
}

TEST(Compare, ReportsThatCannotBeComparedAreRefusedWithOneLine) {
  const json stress = stress_report({1}, false);
  json journey = stress;
  journey["command"] = "journey";
  json other_version = stress;
  other_version["schema_version"] = 2;
  for (const auto& [a, b] : std::vector<std::pair<json, json>>{
           {stress, journey}, {stress, other_version}, {stress, json{{"hello", 1}}}, {json::array(), stress}}) {
    try {
      compare_reports(a, b);
      ADD_FAILURE() << "compared " << b.dump().substr(0, 80);
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

TEST(Compare, ShowsBothCommandLinesAndTheSettingsThatDifferBeforeAnyFigure) {
  const auto c = compare_reports(journey_report({}), journey_report(kSecond));
  const std::string text = render_compare_terminal(c);
  EXPECT_NE(text.find("   hub-stress-test -t *** journey -c 12 --ramp-up 30s --cells 3 --json a.json\n"), std::string::npos) << text;
  EXPECT_NE(text.find("--arrival uniform --cells 2 --json b.json"), std::string::npos) << text;
  const std::string settings = block(text, "Settings that differ:").substr(0, text.find("(timings below") - text.find("Settings that differ:"));
  EXPECT_NE(settings.find("cells         3        -> 2"), std::string::npos) << text;
  EXPECT_NE(settings.find("ramp-up       30 s     -> 10 s"), std::string::npos) << text;
  EXPECT_NE(settings.find("arrival       poisson  -> uniform"), std::string::npos) << text;
  EXPECT_EQ(settings.find("count"), std::string::npos) << "12 in both: not a difference\n" << text;
  EXPECT_NE(text.find("Same in both: endpoint http://127.0.0.1:8000/hub/api, JupyterHub 5.2.1"), std::string::npos) << text;
  EXPECT_NE(text.find("  count 12, auth token,"), std::string::npos) << "a setting and its value on one line\n" << text;
  EXPECT_LT(text.find("Settings that differ:"), text.find("p50")) << text;
  const std::string html = render_compare_html(c);
  EXPECT_NE(html.find("<code>hub-stress-test -t *** journey -c 12 --ramp-up 30s --cells 3 --json a.json</code>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"differs\"><td>cells</td><td>3</td><td>2</td></tr>"), std::string::npos) << html;
}

TEST(Compare, CountsThatFollowFromSettingsThatDifferAreNotRegressions) {
  const auto c = compare_reports(journey_report({}), journey_report(kSecond));
  const auto* cells = row(c, "step cell", "count");
  ASSERT_NE(cells, nullptr);
  EXPECT_DOUBLE_EQ(*cells->a, 24);
  EXPECT_DOUBLE_EQ(*cells->b, 12);
  EXPECT_EQ(cells->judgement, CompareJudgement::settings);
  EXPECT_NE(cells->why.find("cells"), std::string::npos) << cells->why;
  const auto* login = row(c, "step login", "count");  // 12 in both: equal, whatever the settings
  ASSERT_NE(login, nullptr);
  EXPECT_EQ(login->judgement, CompareJudgement::same);
  const std::string text = render_compare_terminal(c);
  EXPECT_NE(block(text, "Following from the settings that differ").find("step cell"), std::string::npos) << text;
  EXPECT_EQ(block(text, "Changes beyond noise").find("step cell"), std::string::npos) << text;

  Class fewer = kSecond;  // the same settings, but 3 of 12 students never got their further cell: a change, not settings
  fewer.failing = 3;
  const auto failed = compare_reports(journey_report(kSecond), journey_report(fewer));
  EXPECT_EQ(row(failed, "step cell", "count")->judgement, CompareJudgement::worse) << row(failed, "step cell", "count")->why;
  const auto same = compare_reports(journey_report({}), journey_report({}));
  EXPECT_NE(render_compare_terminal(same).find("Settings: the same in both runs."), std::string::npos);
}

TEST(Compare, AChangeWithinTheNoiseOfItsSampleSizeIsMarkedAndListedLast) {
  Class a, b;
  b.ready_s = [](std::size_t i) { return i == 11 ? 9.0 : 2.0 + 0.1 * static_cast<double>(i); };  // one slow student of 12
  const auto small = compare_reports(journey_report(a), journey_report(b));
  const auto* p95 = row(small, "step ready", "p95");
  ASSERT_NE(p95, nullptr);
  EXPECT_DOUBLE_EQ(*p95->b, 9.0);
  EXPECT_EQ(p95->judgement, CompareJudgement::noise) << "p95 of 12 values has no upper bound: " << p95->why;
  EXPECT_EQ(*p95->n_a, 12u);
  const std::string text = render_compare_terminal(small);
  EXPECT_NE(block(text, "Within noise for their sample size").find("step ready"), std::string::npos) << text;
  EXPECT_EQ(block(text, "Changes beyond noise").find("step ready"), std::string::npos) << text;
  EXPECT_NE(text.find("How noise is decided: A percentile of n values"), std::string::npos);
  EXPECT_GT(text.find("Within noise for their sample size"), text.find("Changes beyond noise")) << text;

  Class many = a, slower = a;  // 200 students, every one twice as slow: beyond noise, and worse
  many.students = slower.students = 200;
  many.ready_s = [](std::size_t i) { return 2.0 + 0.01 * static_cast<double>(i); };
  slower.ready_s = [](std::size_t i) { return 4.0 + 0.02 * static_cast<double>(i); };
  const auto big = compare_reports(journey_report(many), journey_report(slower));
  EXPECT_EQ(row(big, "step ready", "p95")->judgement, CompareJudgement::worse) << row(big, "step ready", "p95")->why;
  EXPECT_EQ(row(big, "step ready", "p50")->judgement, CompareJudgement::worse);
  EXPECT_EQ(row(big, "step ready", "max")->judgement, CompareJudgement::noise) << "a max is one value";
  const auto back = compare_reports(journey_report(slower), journey_report(many));
  EXPECT_EQ(row(back, "step ready", "p50")->judgement, CompareJudgement::better);
  EXPECT_NE(block(render_compare_terminal(big), "Changes beyond noise").find("step ready"), std::string::npos);
}

TEST(Compare, PercentileIntervalsAreTheBinomialOrderStatistics) {
  const auto median = percentile_rank_interval(100, 50);  // the textbook's 40th and 61st of 100
  EXPECT_EQ(median.lower, 40u);
  EXPECT_EQ(median.upper, 61u);
  const auto p95 = percentile_rank_interval(12, 95);  // p95 of 12: from the 10th value up, no upper bound
  EXPECT_EQ(p95.lower, 10u);
  EXPECT_EQ(p95.upper, 13u);
  const auto tail = percentile_rank_interval(200, 95);
  EXPECT_EQ(tail.lower, 184u);
  EXPECT_EQ(tail.upper, 197u);
  const auto none = proportion_interval(0, 12);  // 0 failures of 12 still allows about a quarter
  EXPECT_DOUBLE_EQ(none.low, 0);
  EXPECT_NEAR(none.high, 24.25, 0.05);
}

TEST(Compare, HtmlColoursBetterWorseAndNoiseAndDrawsTheStepsSideBySide) {
  Class many, slower;
  many.students = slower.students = 200;
  many.ready_s = [](std::size_t i) { return 2.0 + 0.01 * static_cast<double>(i); };
  slower.ready_s = [](std::size_t i) { return 4.0 + 0.02 * static_cast<double>(i); };
  const std::string html = render_compare_html(compare_reports(journey_report(many), journey_report(slower)));
  EXPECT_NE(html.find("<tr class=\"worse\"><td>step ready</td><td>p50 (s)</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<tr class=\"noise\"><td>step ready</td><td>max (s)</td>"), std::string::npos);
  EXPECT_NE(html.find("tr.worse td{background:#fbeeee;color:#a11}"), std::string::npos);
  EXPECT_NE(html.find("tr.noise td,tr.same td{color:#888}"), std::string::npos);
  const std::string better = render_compare_html(compare_reports(journey_report(slower), journey_report(many)));
  EXPECT_NE(better.find("<tr class=\"better\"><td>step ready</td><td>p50 (s)</td>"), std::string::npos);

  const auto svg_at = html.find("<svg id=\"chart-compare-steps\"");
  ASSERT_NE(svg_at, std::string::npos) << html;
  const std::string svg = html.substr(svg_at, html.find("</svg>", svg_at) - svg_at);
  std::size_t bars = 0;
  for (auto p = svg.find("<rect class=\"bar\""); p != std::string::npos; p = svg.find("<rect class=\"bar\"", p + 1)) ++bars;
  EXPECT_EQ(bars, 4u * 8u) << "A and B, p50 and p95, for each of the 8 steps";
  EXPECT_NE(svg.find("<title>A p95 ready: 3.89 s</title>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("<title>B p95 ready: 7.78 s</title>"), std::string::npos) << svg;
  for (const char* legend : {">A p50<", ">B p50<", ">A p95<", ">B p95<"}) EXPECT_NE(svg.find(legend), std::string::npos) << legend;
}
