// capacity's pure pieces: rates as typed, the stages' plan, how a stage is judged and counted,
// and the answer the reports give (what broke first, the capacity line) from known records.
#include "hubstress/report/capacity.hpp"
#include "hubstress/report/report.hpp"
#include "hubstress/scenarios/capacity.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace hs = hubstress;

namespace {

// A student of `stage` who arrived at `at` and got its first result after `ttfr` (its ready step
// `ready` seconds), or failed at `failed_step`.
hs::StudentRecord student(int stage, double at, std::optional<double> ttfr, double ready = 1, std::string failed_step = "",
                          std::string reason = "") {
  hs::StudentRecord s;
  s.user = "hub-stress-test-" + std::to_string(static_cast<int>(at * 10));
  s.stage = stage;
  s.scheduled_s = at;
  s.time_to_first_result_s = ttfr;
  if (ttfr) {
    s.steps = {{"spawn", at, 0.1}, {"ready", at + 0.1, ready}, {"open", at + ready, 0.1}, {"kernel", at + ready, 0.5},
               {"first_result", at + ready + 0.5, 0.1}};
  }
  s.failed_step = std::move(failed_step);
  s.reason = std::move(reason);
  return s;
}

// Two stages of 60 s: the first holds (ttfr 5 s), the second does not (ttfr 80 s, ready 70 s).
hs::CapacityResult two_stages() {
  hs::CapacityResult r;
  r.stage_s = 60;
  r.stages = {{10, 0, 60, 0, 2, hs::StageVerdict::held}, {20, 60, 60, 2, 3, hs::StageVerdict::failed}};
  r.journey.students = {student(0, 10, 5.0), student(0, 40, 5.0), student(1, 65, 80.0, 70), student(1, 80, 80.0, 70),
                        student(1, 95, std::nullopt, 0, "ready", "spawn failed: no room")};
  r.journey.phases = {{"journeys", 120, 3.0}};
  return r;
}

std::vector<hs::Threshold> defaults() {
  std::vector<hs::Threshold> out;
  for (const auto& t : hs::capacity_default_thresholds()) out.push_back(hs::parse_threshold(t));
  return out;
}

} // namespace

TEST(Capacity, RatesAreWrittenPerMinuteOrPerSecond) {
  EXPECT_DOUBLE_EQ(hs::parse_rate("40/min", "--start"), 40);
  EXPECT_DOUBLE_EQ(hs::parse_rate("40/m", "--start"), 40);
  EXPECT_DOUBLE_EQ(hs::parse_rate("40", "--start"), 40);
  EXPECT_DOUBLE_EQ(hs::parse_rate("2/s", "--start"), 120);
  EXPECT_DOUBLE_EQ(hs::parse_rate("2.5/min", "--start"), 2.5);
  for (const char* bad : {"", "0", "-3/min", "40/h", "forty", "40 /min", "nan", "inf", "200000/min"}) {
    EXPECT_THROW(hs::parse_rate(bad, "--start"), std::invalid_argument) << bad;
  }
  try {
    hs::parse_rate("40/h", "--max");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--max '40/h'"), std::string::npos) << e.what();
  }
}

TEST(Capacity, StagesRiseByTheFactorUpToTheMaxOrFollowTheList) {
  EXPECT_EQ(hs::capacity_rates(10, 1.5, 40, {}), (std::vector<double>{10, 15, 22.5, 33.8}));
  EXPECT_EQ(hs::capacity_rates(10, 2, 80, {}), (std::vector<double>{10, 20, 40, 80}));
  EXPECT_EQ(hs::capacity_rates(10, 2, 10, {}), (std::vector<double>{10}));
  EXPECT_EQ(hs::capacity_rates(10, 2, 1000, {5, 7, 30}), (std::vector<double>{5, 7, 30}));
  EXPECT_THROW(hs::capacity_rates(10, 1, 40, {}), std::invalid_argument);
  EXPECT_THROW(hs::capacity_rates(10, 0.5, 40, {}), std::invalid_argument);
  EXPECT_THROW(hs::capacity_rates(40, 2, 10, {}), std::invalid_argument);
  EXPECT_THROW(hs::capacity_rates(1, 1.01, 100000, {}), std::invalid_argument);  // hundreds of stages
  EXPECT_THROW(hs::capacity_rates(10, 2, 80, {10, 10}), std::invalid_argument);  // not rising
}

TEST(Capacity, AStageBringsItsRateTimesItsLength) {
  EXPECT_EQ(hs::stage_students(40, 120), 80);
  EXPECT_EQ(hs::stage_students(30, 30), 15);
  EXPECT_EQ(hs::stage_students(10, 15), 3);  // 2.5 rounds up
  EXPECT_EQ(hs::stage_students(1, 1), 1);    // never an empty stage
}

TEST(Capacity, AStageIsJudgedOnItsFirstResultsNotOnLaterCells) {
  hs::CapacityResult r = two_stages();
  r.journey.students[0].failed_step = "cell";  // its third cell failed, long after its first result
  r.journey.students[0].reason = "WebSocket closed";
  const hs::JourneyResult judged = hs::judged_students(r, 0);
  ASSERT_EQ(judged.students.size(), 2u);
  EXPECT_EQ(judged.failed(), 0);
  EXPECT_EQ(hs::judged_students(r, 1).failed(), 1);
  EXPECT_EQ(hs::judged_students(r, 1).students.size(), 3u);
}

TEST(Capacity, ThePopulationIsWhoArrivedAndHasNotLeft) {
  hs::CapacityResult r = two_stages();
  r.journey.students[0].left_s = 30;  // left (--stay) before the first stage ended
  EXPECT_EQ(hs::population_at(r.journey, 60), 1u);
  EXPECT_EQ(hs::population_at(r.journey, 10), 0u);   // arriving at 10 is not yet there at 10
  EXPECT_EQ(hs::population_at(r.journey, 120), 4u);  // the failed one never left (left_s unknown)
}

TEST(Capacity, WhatBrokeFirstNamesTheThresholdTheStepThatGrewAnd429s) {
  const hs::CapacityResult r = two_stages();
  hs::JourneyOptions o;
  hs::Summary whole;
  whole.phases = r.journey.phases;
  std::vector<hs::RequestRecord> records(2);
  for (auto& rec : records) {
    rec.kind = hs::ApiKind::start_server;
    rec.status = 429;
    rec.start_s = 3.0 + 70;  // during stage 2's arrivals, on the run's time axis
  }
  records[1].start_s = 3.0 + 30;  // stage 1's
  const hs::CapacitySummary c = hs::summarize_capacity(r, o, defaults(), whole, records);
  ASSERT_EQ(c.stages.size(), 2u);
  EXPECT_EQ(c.stages[0].answers_429, 1u);
  EXPECT_EQ(c.stages[1].answers_429, 1u);
  EXPECT_DOUBLE_EQ(c.stages[1].start_s, 63.0);
  EXPECT_EQ(c.stages[1].failed, 1u);
  EXPECT_NEAR(c.stages[1].failure_rate_pct, 100.0 / 3, 1e-9);
  ASSERT_TRUE(c.held_rate_per_min && c.failed_rate_per_min);
  EXPECT_EQ(*c.held_rate_per_min, 10);
  EXPECT_EQ(*c.failed_rate_per_min, 20);
  EXPECT_NE(c.broke_first.find("time_to_first_result_p95<60s: 80 s, 33 % over"), std::string::npos) << c.broke_first;
  EXPECT_NE(c.broke_first.find("journey_failure_rate<1%"), std::string::npos) << c.broke_first;
  EXPECT_NE(c.broke_first.find("ready p95 grew most: 1.0 s at 10/min -> 70 s"), std::string::npos) << c.broke_first;
  EXPECT_NE(c.broke_first.find("1 start requests answered 429"), std::string::npos) << c.broke_first;
  EXPECT_NE(c.broke_first.find("ready: spawn failed: no room"), std::string::npos) << c.broke_first;
  EXPECT_EQ(c.line.rfind("held 10/min (population 2); failed at 20/min: ", 0), 0u) << c.line;
}

TEST(Capacity, TheLineSaysWhenNoStageHeldOrTheLastOneDid) {
  hs::CapacityResult r = two_stages();
  hs::Summary whole;
  r.stages[0].verdict = hs::StageVerdict::failed;
  r.stages[1].verdict = hs::StageVerdict::pending;
  auto c = hs::summarize_capacity(r, {}, defaults(), whole, {});
  EXPECT_EQ(c.line.rfind("no stage held; failed at 10/min (the first stage): ", 0), 0u) << c.line;
  EXPECT_FALSE(c.held_rate_per_min);
  r.stages[0].verdict = hs::StageVerdict::held;
  r.stages[1].verdict = hs::StageVerdict::held;
  r.reached_max = true;
  c = hs::summarize_capacity(r, {}, defaults(), whole, {});
  EXPECT_NE(c.line.find("held 20/min"), std::string::npos) << c.line;
  EXPECT_NE(c.line.find("raise --max"), std::string::npos) << c.line;
}

TEST(Capacity, AStageIsJudgedOnlyByWhatItsStudentsMeasure) {
  EXPECT_NO_THROW(hs::check_stage_threshold(hs::parse_threshold("ready_p95<30s")));
  EXPECT_NO_THROW(hs::check_stage_threshold(hs::parse_threshold("journey_failure_rate<5%")));
  EXPECT_NO_THROW(hs::check_stage_threshold(hs::parse_threshold("late_starts<3")));
  EXPECT_NO_THROW(hs::check_stage_threshold(hs::parse_threshold("spawn_p95<10s")));  // the students' spawn step
  for (const char* other : {"api_p95<1s", "failure_rate<1%", "errors<1", "throttled<1", "ready_rate>99%"}) {
    EXPECT_THROW(hs::check_stage_threshold(hs::parse_threshold(other)), std::invalid_argument) << other;
  }
}

TEST(Capacity, TheReportsCarryTheStages) {
  const hs::CapacityResult r = two_stages();
  hs::Summary s;
  s.command = "capacity";
  s.phases = r.journey.phases;
  s.duration_s = 130;
  s.journey = hs::summarize_journeys(r.journey, {});  // its students chart runs on the time axis
  s.capacity = hs::summarize_capacity(r, {}, defaults(), s, {});
  const nlohmann::json doc = hs::to_json(s);
  ASSERT_EQ(doc["stages"].size(), 2u);
  EXPECT_EQ(doc["stages"][1]["verdict"], "failed");
  EXPECT_EQ(doc["stages"][1]["arrived"], 3);
  EXPECT_EQ(doc["capacity"]["held_rate_per_min"], 10.0);
  EXPECT_EQ(doc["capacity"]["line"], s.capacity->line);
  const std::string text = hs::render_terminal(s);
  EXPECT_NE(text.find("Capacity: " + s.capacity->line), std::string::npos);
  const std::string html = hs::render_html(s);
  EXPECT_NE(html.find("id=\"chart-capacity-ttfr\""), std::string::npos);
  EXPECT_NE(html.find("stage 2 20/min failed"), std::string::npos);  // the stages are the time axis's bands
}

TEST(Capacity, AStepWhoseGrowthThePrintedFiguresDoNotShowIsNotNamed) {
  hs::CapacityResult r = two_stages();
  // the failed stage: one student failed, the others as fast as the stage that held
  r.journey.students = {student(0, 10, 5.0), student(0, 40, 5.0), student(1, 65, 5.02, 1.01), student(1, 80, 5.02, 1.01),
                        student(1, 95, std::nullopt, 0, "ready", "spawn failed: no room")};
  hs::Summary whole;
  whole.phases = r.journey.phases;
  const hs::CapacitySummary c = hs::summarize_capacity(r, {}, defaults(), whole, {});
  EXPECT_EQ(c.broke_first.find("grew most"), std::string::npos) << c.broke_first;
  EXPECT_NE(c.broke_first.find("ready: spawn failed: no room"), std::string::npos) << c.broke_first;
}

TEST(Capacity, AMergeJudgesEveryStageOnAllItsStudentsUpToTheFirstThatFails) {
  hs::CapacityResult r = two_stages();
  r.stages.push_back({40, 120, 60, 5, 0, hs::StageVerdict::cut});
  // each shard held both stages on its own; together stage 2 misses the thresholds
  r.stages[0].verdict = hs::StageVerdict::held;
  r.stages[1].verdict = hs::StageVerdict::held;
  hs::judge_stages(r, defaults(), {});
  EXPECT_EQ(r.stages[0].verdict, hs::StageVerdict::held);
  EXPECT_EQ(r.stages[1].verdict, hs::StageVerdict::failed);
  EXPECT_EQ(r.stages[2].verdict, hs::StageVerdict::cut);
  EXPECT_FALSE(r.reached_max);
  // a stage a shard was interrupted in stays so, and none after it is judged
  r = two_stages();
  r.stages[0].verdict = hs::StageVerdict::interrupted;
  r.stages[1].verdict = hs::StageVerdict::held;
  hs::judge_stages(r, defaults(), {});
  EXPECT_EQ(r.stages[0].verdict, hs::StageVerdict::interrupted);
  EXPECT_EQ(r.stages[1].verdict, hs::StageVerdict::cut);
}

TEST(Capacity, StudentsArePlacedInTheirStagesWhateverTheirOrder) {
  hs::CapacityResult r = two_stages();
  std::reverse(r.journey.students.begin(), r.journey.students.end());
  r.stages[0].first = r.stages[1].first = 99;
  hs::place_students(r);
  EXPECT_EQ(r.stages[0].first, 0u);
  EXPECT_EQ(r.stages[0].count, 2u);
  EXPECT_EQ(r.stages[1].first, 2u);
  EXPECT_EQ(r.stages[1].count, 3u);
  EXPECT_DOUBLE_EQ(r.journey.students[0].scheduled_s, 10);
  EXPECT_DOUBLE_EQ(r.journey.students[2].scheduled_s, 65);
}

TEST(Capacity, ASearchThatCouldNotMakeItsNextStageSaysWhy) {
  hs::CapacityResult r = two_stages();
  r.stages[1].verdict = hs::StageVerdict::cut;
  r.ended_by = "making stage 2's students failed (HTTP 503)";
  hs::Summary whole;
  const auto c = hs::summarize_capacity(r, {}, defaults(), whole, {});
  EXPECT_EQ(c.line, "held 10/min (population 2); the search ended there: making stage 2's students failed (HTTP 503)");
}

TEST(Capacity, AStageNotReachedShowsNoHubFigures) {
  hs::CapacityResult r = two_stages();
  r.stages[1].verdict = hs::StageVerdict::pending;  // the hub was scraped in its planned time all the same (the clean-up)
  hs::Summary whole;
  whole.phases = r.journey.phases;
  whole.hub = hs::HubSummary{};
  whole.hub->series = {{30.0, 40.0, {}, {}, {}}, {90.0, 80.0, {}, {}, {}}};  // on the run's time axis: stage 1's, stage 2's
  const auto c = hs::summarize_capacity(r, {}, defaults(), whole, {});
  ASSERT_TRUE(c.stages[0].hub_cpu_peak_pct);
  EXPECT_DOUBLE_EQ(*c.stages[0].hub_cpu_peak_pct, 40.0);
  EXPECT_FALSE(c.stages[1].hub_cpu_peak_pct);
}
