#pragma once
// Pass/fail criteria for a run, in the style of k6 thresholds: "spawn_p95<90s", "failure_rate<1%".
//
// Grammar (spaces around the parts are allowed):
//   threshold := metric op number [unit]
//   op        := "<" | "<=" | ">" | ">="
//   unit      := "ms" | "s" | "m" | "min" | "h"   for the time metrics, as every DURATION option
//                             (parse_duration; no unit: seconds)
//              | "%"          for the rate metrics (no unit: percent)
//              |              (none) for the counts
// Metrics:
//   spawn_min spawn_p50 spawn_p90 spawn_p95 spawn_p99 spawn_max spawn_avg
//                 spawn-to-ready seconds of the servers that became ready
//   api_p50 api_p90 api_p95 api_p99 api_max
//                 latency of every answered API request (any status), seconds
//   failure_rate  servers that did not become ready / servers started, percent
//   ready_rate    servers that became ready / servers started, percent
//   errors        API requests answered outside 2xx, plus transport failures (count)
//   throttled     API requests whose final answer was 429 (count)
// api_* and errors take a kind of call in k6's tag style: "api_p95{kind:stop server}<1s",
// "errors{kind:start server}<5" (kinds as the API table names them: version, list users, create
// users, get user, start server, progress, stop server, delete user, activity, create token,
// metrics, login page, login, open server, start kernel, kernel websocket, delete kernel, other).
// A metric the command never measures is refused before the run (check_measured); one it measured
// nothing for (spawn_* with no ready server; failure_rate and ready_rate
// without a spawn phase; api_* with no answered request) fails its threshold: it cannot be met.
//
// The CLI exits with kThresholdExitCode when the run itself succeeded but a threshold failed.
#include "hubstress/report/summary.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

// The exit code of a run that finished but violated at least one threshold (distinct from 1: bad
// arguments and 128: the run failed).
inline constexpr int kThresholdExitCode = 99;

enum class ThresholdOp { less, less_equal, greater, greater_equal };

struct Threshold {
  std::string text;      // as given, trimmed: "spawn_p95<90s"
  std::string metric;    // "spawn_p95"
  std::string kind;      // api_* and errors: only the calls of this kind ("stop server"); empty: every call
  ThresholdOp op = ThresholdOp::less;
  double limit = 0;      // in the metric's base unit: seconds, percent, or a count ("90s" -> 90, "500ms" -> 0.5)
};

// Parses one threshold. Throws std::invalid_argument with a one-line message (naming the valid
// metrics when the metric is unknown) on anything else.
Threshold parse_threshold(std::string_view text);

// Refuses, before anything is sent, a threshold `command` never measures: it could only end "(no
// data)" or pass on nothing (errors of a kind of call never made). `command`: stress-test,
// activity-stress-test, journey or capacity (any other: nothing is refused); `auth`: a journey's
// "token" or "form", whose students make different calls (empty: either). Throws
// std::invalid_argument with one line naming the metric that fits, when there is one.
void check_measured(const Threshold& threshold, std::string_view command, std::string_view auth = {});

// Every metric name parse_threshold accepts, in documentation order.
const std::vector<std::string>& threshold_metrics();

// The run's value for `threshold.metric` against its limit.
ThresholdResult evaluate(const Threshold& threshold, const Summary& summary);
std::vector<ThresholdResult> evaluate_all(const std::vector<Threshold>& thresholds, const Summary& summary);
// True when every result passed (also when there are none).
bool all_passed(const std::vector<ThresholdResult>& results);

// "PASS spawn_p95<90s (actual 41.200 s)", "FAIL ready_rate>=99% (actual 97.500 %)", "FAIL spawn_p95<90s (no data)"
std::string format_threshold_result(const ThresholdResult& result);

} // namespace hubstress
