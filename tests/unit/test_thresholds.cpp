#include "hubstress/report/thresholds.hpp"

#include "hubstress/duration.hpp"

#include <gtest/gtest.h>

#include <set>

#include <stdexcept>

using namespace hubstress;

namespace {

// 10 servers, 9 ready after 1..9 s, one failed; API latencies 0.1..1.0 s with one 500 and one timeout.
Summary sample_summary() {
  StressResult stress;
  for (int i = 1; i <= 10; ++i) {
    SpawnRecord s;
    s.user = "u-" + std::to_string(i);
    s.requested_at_s = 0;
    if (i < 10) {
      s.state = SpawnState::ready;
      s.ready_after_s = i;
    } else {
      s.state = SpawnState::failed;
      s.reason = "boom";
    }
    stress.spawns.push_back(s);
  }
  std::vector<RequestRecord> records;
  for (int i = 1; i <= 10; ++i) {
    RequestRecord r;
    r.method = "GET";
    r.route = "/users/{name}";
    r.status = i == 10 ? 500 : (i == 9 ? 429 : 200);
    r.latency_s = i / 10.0;
    records.push_back(r);
  }
  RequestRecord timeout;
  timeout.method = "GET";
  timeout.route = "/";
  timeout.outcome = Outcome::timeout;
  records.push_back(timeout);
  SummaryInputs in;
  in.records = &records;
  in.stress = &stress;
  return build_summary(in);
}

ThresholdResult check(const std::string& text, const Summary& s) { return evaluate(parse_threshold(text), s); }

} // namespace

TEST(ThresholdParse, GoodInputs) {
  Threshold t = parse_threshold("spawn_p95<90s");
  EXPECT_EQ(t.text, "spawn_p95<90s");
  EXPECT_EQ(t.metric, "spawn_p95");
  EXPECT_EQ(t.op, ThresholdOp::less);
  EXPECT_DOUBLE_EQ(t.limit, 90);

  t = parse_threshold("failure_rate<1%");
  EXPECT_EQ(t.metric, "failure_rate");
  EXPECT_DOUBLE_EQ(t.limit, 1);

  t = parse_threshold("api_p99<2s");
  EXPECT_EQ(t.metric, "api_p99");
  EXPECT_DOUBLE_EQ(t.limit, 2);

  t = parse_threshold("spawn_max<=300s");
  EXPECT_EQ(t.op, ThresholdOp::less_equal);
  EXPECT_DOUBLE_EQ(t.limit, 300);

  t = parse_threshold("errors<5");
  EXPECT_EQ(t.metric, "errors");
  EXPECT_DOUBLE_EQ(t.limit, 5);

  t = parse_threshold("throttled<10");
  EXPECT_EQ(t.metric, "throttled");

  t = parse_threshold("ready_rate>=99%");
  EXPECT_EQ(t.op, ThresholdOp::greater_equal);
  EXPECT_DOUBLE_EQ(t.limit, 99);

  t = parse_threshold("api_p50 < 500ms");
  EXPECT_EQ(t.op, ThresholdOp::less);
  EXPECT_DOUBLE_EQ(t.limit, 0.5);

  t = parse_threshold("  spawn_avg > 1.5  ");
  EXPECT_EQ(t.text, "spawn_avg > 1.5");
  EXPECT_EQ(t.op, ThresholdOp::greater);
  EXPECT_DOUBLE_EQ(t.limit, 1.5);

  t = parse_threshold("ready_rate>=99.5");
  EXPECT_DOUBLE_EQ(t.limit, 99.5);

  for (const auto& m : threshold_metrics()) EXPECT_NO_THROW(parse_threshold(m + "<1")) << m;
  // 16 of stress-test and activity-stress-test, 7 statistics of every journey metric (spawn_* is
  // already there), journey_failure_rate and late_starts; no name twice
  EXPECT_EQ(threshold_metrics().size(), 16u + 7u * (journey_metrics().size() - 1) + 2u);
  std::set<std::string> unique(threshold_metrics().begin(), threshold_metrics().end());
  EXPECT_EQ(unique.size(), threshold_metrics().size());
}

TEST(ThresholdParse, BadInputsThrowOneLineNamingTheMetrics) {
  for (const char* bad : {"", "   ", "spawn_p95", "spawn_p95<", "spawn_p95<<90", "spawn_p95=90", "spawn_p95==90", "spawn_p95!=90",
                          "spawn_p95<90d", "spawn_p95<90%", "failure_rate<1s", "errors<5s", "throttled<1%", "p95<1",
                          "spawn_p96<1", "SPAWN_P95<1", "<90", "spawn_p95<abc", "spawn_p95<nan", "spawn_p95<inf",
                          "spawn_p95<90s extra", "spawn p95<90"}) {
    try {
      parse_threshold(bad);
      ADD_FAILURE() << "accepted: '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_NE(message.find("spawn_p95"), std::string::npos) << message;
      EXPECT_NE(message.find("failure_rate"), std::string::npos) << message;
      EXPECT_NE(message.find("throttled"), std::string::npos) << message;
    }
  }
  try {
    parse_threshold("latency<1s");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown metric 'latency'"), std::string::npos) << e.what();
  }
}

// One grammar of durations: a threshold's time limit takes what every DURATION option takes.
TEST(ThresholdParse, TimeLimitsTakeTheUnitsOfEveryDurationOption) {
  for (const char* limit : {"1m", "2min", "1.5m", "90s", "500ms", "1h", "90", "0.25"}) {
    EXPECT_DOUBLE_EQ(parse_threshold(std::string("time_to_first_result_p95<") + limit).limit, parse_duration(limit, "--x")) << limit;
    EXPECT_DOUBLE_EQ(parse_threshold(std::string("api_p95 < ") + limit).limit, parse_duration(limit, "--x")) << limit;
  }
  try {
    parse_threshold("spawn_p95<2d");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unit 'd' does not fit spawn_p95 (a duration: ms, s, m (or min) or h)"), std::string::npos)
        << e.what();
  }
}

TEST(ThresholdEvaluate, SpawnMetrics) {
  const Summary s = sample_summary();
  ThresholdResult r = check("spawn_p95<90s", s);
  EXPECT_TRUE(r.passed);
  EXPECT_TRUE(r.has_data);
  EXPECT_DOUBLE_EQ(r.actual, 9);
  EXPECT_EQ(r.unit, "s");
  EXPECT_EQ(r.metric, "spawn_p95");
  EXPECT_EQ(r.text, "spawn_p95<90s");
  EXPECT_DOUBLE_EQ(r.limit, 90);

  EXPECT_FALSE(check("spawn_p50<5s", s).passed);   // p50 of 1..9 is 5
  EXPECT_TRUE(check("spawn_p50<=5s", s).passed);
  EXPECT_TRUE(check("spawn_min>=1", s).passed);
  EXPECT_FALSE(check("spawn_min>1", s).passed);
  EXPECT_DOUBLE_EQ(check("spawn_avg<10", s).actual, 5);
  EXPECT_DOUBLE_EQ(check("spawn_max<10", s).actual, 9);
  EXPECT_FALSE(check("spawn_max<8999ms", s).passed);
  EXPECT_TRUE(check("spawn_max<9001ms", s).passed);
}

TEST(ThresholdEvaluate, RatesCountsAndApi) {
  const Summary s = sample_summary();
  ThresholdResult r = check("failure_rate<1%", s);
  EXPECT_FALSE(r.passed);
  EXPECT_DOUBLE_EQ(r.actual, 10);
  EXPECT_EQ(r.unit, "%");
  EXPECT_TRUE(check("failure_rate<=10%", s).passed);
  EXPECT_FALSE(check("ready_rate>=99%", s).passed);
  EXPECT_DOUBLE_EQ(check("ready_rate>=90%", s).actual, 90);
  EXPECT_TRUE(check("ready_rate>=90%", s).passed);

  r = check("errors<5", s);  // 429, 500 and the timeout
  EXPECT_DOUBLE_EQ(r.actual, 3);
  EXPECT_EQ(r.unit, "");
  EXPECT_TRUE(r.passed);
  EXPECT_FALSE(check("errors<3", s).passed);
  EXPECT_DOUBLE_EQ(check("throttled<10", s).actual, 1);

  // api: 0.1 .. 1.0 s answered (the timeout has no latency)
  EXPECT_DOUBLE_EQ(check("api_p99<2s", s).actual, 1.0);
  EXPECT_TRUE(check("api_p99<2s", s).passed);
  EXPECT_DOUBLE_EQ(check("api_p50<1", s).actual, 0.5);
  EXPECT_DOUBLE_EQ(check("api_p90<1", s).actual, 0.9);
  EXPECT_FALSE(check("api_max<1000ms", s).passed);
}

TEST(ThresholdEvaluate, NoDataFails) {
  const Summary empty = build_summary(SummaryInputs{});
  for (const char* t : {"spawn_p95<90s", "api_p99<2s", "failure_rate<1%", "ready_rate>=0%"}) {
    const ThresholdResult r = check(t, empty);
    EXPECT_FALSE(r.has_data) << t;
    EXPECT_FALSE(r.passed) << t;
  }
  // counts are measured even when nothing happened
  EXPECT_TRUE(check("errors<1", empty).passed);
  EXPECT_TRUE(check("throttled<1", empty).has_data);
}

TEST(ThresholdEvaluate, AllAndFormat) {
  const Summary s = sample_summary();
  const std::vector<Threshold> ts{parse_threshold("spawn_p95<90s"), parse_threshold("errors<3")};
  const auto results = evaluate_all(ts, s);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].passed);
  EXPECT_FALSE(results[1].passed);
  EXPECT_FALSE(all_passed(results));
  EXPECT_TRUE(all_passed({results[0]}));
  EXPECT_TRUE(all_passed({}));

  EXPECT_EQ(format_threshold_result(results[0]), "PASS spawn_p95<90s (actual 9.000 s)");
  EXPECT_EQ(format_threshold_result(results[1]), "FAIL errors<3 (actual 3)");
  EXPECT_EQ(format_threshold_result(check("spawn_p95<90s", build_summary(SummaryInputs{}))), "FAIL spawn_p95<90s (no data)");
  EXPECT_EQ(kThresholdExitCode, 99);
}

TEST(ThresholdEvaluate, PerKindOfCallInK6TagStyle) {
  std::vector<RequestRecord> records;
  for (int i = 1; i <= 4; ++i) {
    RequestRecord r;
    r.kind = ApiKind::stop_server;
    r.status = i == 4 ? 500 : 204;
    r.latency_s = 0.1 * i;  // 0.1 .. 0.4
    records.push_back(r);
    r.kind = ApiKind::start_server;
    r.status = 202;
    r.latency_s = 10.0 * i;  // slow spawns: 10 .. 40
    records.push_back(r);
  }
  SummaryInputs in;
  in.records = &records;
  const Summary s = build_summary(in);
  const auto stop = check("api_p95{kind:stop server}<1s", s);
  EXPECT_TRUE(stop.passed);
  EXPECT_DOUBLE_EQ(stop.actual, 0.4);
  EXPECT_EQ(stop.metric, "api_p95");
  EXPECT_FALSE(check("api_p95<1s", s).passed) << "every call together: the slow spawns count";
  EXPECT_DOUBLE_EQ(check("api_max{ kind: start server }<1s", s).actual, 40);
  EXPECT_DOUBLE_EQ(check("errors{kind:stop server}<1", s).actual, 1);
  EXPECT_DOUBLE_EQ(check("errors{kind:start server}<1", s).actual, 0);
  EXPECT_FALSE(check("api_p95{kind:delete user}<1s", s).has_data) << "no call of that kind: no data";
  EXPECT_EQ(parse_threshold("api_p95{kind:stop server}<1s").kind, "stop server");
  EXPECT_EQ(parse_threshold("api_p95<1s").kind, "");
  for (const char* bad : {"api_p95{kind:stop}<1s", "api_p95{stop server}<1s", "api_p95{kind:stop server<1s",
                          "spawn_p95{kind:stop server}<1s"}) {
    EXPECT_THROW(parse_threshold(bad), std::invalid_argument) << bad;
  }
}

namespace {
// check_measured's one line, or "" when it accepts.
std::string refusal(const std::string& threshold, const std::string& command, const std::string& auth = "") {
  try {
    check_measured(parse_threshold(threshold), command, auth);
    return "";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
}
} // namespace

// Issue 23 item 1: a threshold the command never measures ended "(no data)" (or passed on nothing)
// after the run; it is refused before, naming the metric that fits.
TEST(ThresholdMeasured, EachCommandRefusesWhatItNeverMeasuresNamingWhatFits) {
  EXPECT_EQ(refusal("failure_rate<1%", "journey"),
            "journey never measures 'failure_rate<1%' (the servers of a stress-test): use 'journey_failure_rate<1%'");
  EXPECT_EQ(refusal("ready_rate>=99%", "journey"),
            "journey never measures 'ready_rate>=99%' (the servers of a stress-test): use 'journey_failure_rate<=1%'");
  EXPECT_EQ(refusal("journey_failure_rate<1%", "stress-test"),
            "stress-test never measures 'journey_failure_rate<1%' (the students of a journey): use 'failure_rate<1%'");
  EXPECT_EQ(refusal("ready_p95<2m", "stress-test"),
            "stress-test never measures 'ready_p95<2m' (a journey's step): use 'spawn_p95<2m' (spawn-to-ready)");
  EXPECT_NE(refusal("kernel_p95<1s", "stress-test").find("its metrics are spawn_STAT"), std::string::npos);
  EXPECT_NE(refusal("late_starts<1", "stress-test").find("its metrics are spawn_STAT"), std::string::npos);
  for (const char* t : {"spawn_p95<90s", "failure_rate<1%", "ready_rate>99%", "kernel_p95<1s", "journey_failure_rate<1%"}) {
    EXPECT_NE(refusal(t, "activity-stress-test").find("its metrics are api_STAT, errors, throttled"), std::string::npos) << t;
  }
  EXPECT_EQ(refusal("failure_rate<1%", "capacity"),
            "capacity judges each stage by its students' journeys, not by 'failure_rate<1%': use 'journey_failure_rate<1%'");
  EXPECT_NE(refusal("api_p95<1s", "capacity").find("its metrics are STEP_STAT"), std::string::npos);
  // kinds of call the command never makes: errors{kind:...} would pass on "actual 0"
  EXPECT_NE(refusal("errors{kind:activity}<1", "journey").find("journey makes no 'activity' calls"), std::string::npos);
  EXPECT_NE(refusal("api_p95{kind:login}<1s", "journey", "token").find("makes no 'login' calls"), std::string::npos);
  EXPECT_NE(refusal("errors{kind:create token}<1", "journey", "form").find("journey --auth form makes no 'create token' calls"),
            std::string::npos);
  EXPECT_NE(refusal("errors{kind:start server}<1", "activity-stress-test").find("makes no 'start server' calls"), std::string::npos);
  EXPECT_NE(refusal("errors{kind:open server}<1", "stress-test").find("makes no 'open server' calls"), std::string::npos);
}

// What each command does measure stays accepted: the students' own calls are records of a journey.
TEST(ThresholdMeasured, WhatACommandMeasuresIsAccepted) {
  for (const char* t : {"spawn_p95<90s", "api_p95<1s", "failure_rate<1%", "ready_rate>=99%", "errors<5", "throttled<1",
                        "api_p95{kind:start server}<5s", "errors{kind:stop server}<1"}) {
    EXPECT_EQ(refusal(t, "stress-test"), "") << t;
  }
  for (const char* t : {"api_p95<1s", "errors{kind:activity}<1", "api_p99{kind:get user}<1s", "throttled<1", "errors{kind:stop server}<1"}) {
    EXPECT_EQ(refusal(t, "activity-stress-test"), "") << t;
  }
  for (const char* t : {"spawn_p95<90s", "time_to_first_result_p95<2m", "journey_failure_rate<1%", "late_starts<1", "api_p95<1s",
                        "api_p95{kind:start server}<5s", "errors{kind:start kernel}<1", "errors{kind:open server}<1", "throttled<1"}) {
    EXPECT_EQ(refusal(t, "journey"), "") << t;
  }
  EXPECT_EQ(refusal("errors{kind:create token}<1", "journey", "token"), "");
  EXPECT_EQ(refusal("errors{kind:login}<1", "journey", "form"), "");
  EXPECT_EQ(refusal("errors{kind:login}<1", "journey"), "") << "a merge that does not know the auth refuses neither";
  for (const char* t : {"ready_p95<30s", "spawn_p95<10s", "journey_failure_rate<5%", "late_starts<3"}) EXPECT_EQ(refusal(t, "capacity"), "") << t;
  for (const char* command : {"purge", "compare", "merge", ""}) EXPECT_EQ(refusal("kernel_p95<1s", command), "") << command;
}
