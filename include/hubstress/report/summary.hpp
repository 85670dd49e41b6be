#pragma once
// One Summary per run. Every report (terminal table, JSON, CSV, HTML) and every threshold is fed
// from it, so they can never disagree. Building it is a pure function of what the run recorded.
//
// Typical use at the end of a run:
//   SummaryInputs in;  in.command = "stress-test";  in.records = &session.records();  in.stress = &result; ...
//   Summary summary = build_summary(in);
//   summary.thresholds = evaluate_all(parsed_thresholds, summary);   // thresholds.hpp
//   std::cout << render_terminal(summary);                            // report.hpp
#include "hubstress/model/api_kind.hpp"
#include "hubstress/model/capacity.hpp"
#include "hubstress/model/hub_metrics.hpp"
#include "hubstress/model/request.hpp"
#include "hubstress/model/results.hpp"
#include "hubstress/model/stats.hpp"
#include "hubstress/model/version.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

// The kind of a call from its method and route, for records made without one (tests, older files).
// `route` is a route template ("/users/{name}/server") or a concrete path ("/users/alice/server?x=1",
// also absolute or under "/hub/api"): both classify the same.
ApiKind classify_request(std::string_view method, std::string_view route);

// Request counts and latency for one kind of API call (or for all of them).
struct ApiStats {
  std::string kind;                                     // to_string(ApiKind), or "all" for every request together
  std::size_t count = 0;                                // requests with a final answer or a transport failure
  std::size_t errors = 0;                               // of them: answers outside 2xx plus transport failures
  std::map<std::string, std::size_t> errors_by_status;  // "500" -> requests; transport failures by outcome ("timeout")
  std::size_t retries = 0;                              // attempts after the first, summed over the requests
  Distribution latency_s;                               // seconds of the last attempt, answered requests only (any status)
};

// A histogram with fixed bucket edges, Prometheus style (a value v goes to the first bucket with v <= edge).
struct Histogram {
  std::vector<double> upper_bounds_s;  // ascending finite bucket edges, seconds; one more bucket (+inf) follows the last
  std::vector<std::size_t> counts;     // values per bucket: counts[i] in (edge[i-1], edge[i]]; counts.back() above the last edge

  void add(double value_s);    // counts one value (NaN is ignored)
  std::size_t total() const;   // values counted, all buckets
};
// Edges 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300 seconds (and +inf): spawn-to-ready times.
const std::vector<double>& spawn_histogram_bounds();
// An empty histogram; throws std::invalid_argument unless the edges are finite and strictly ascending.
Histogram make_histogram(std::vector<double> upper_bounds_s);
Histogram make_spawn_histogram();
// Bucket-wise sum of two histograms with identical edges (e.g. two runs); throws std::invalid_argument otherwise.
Histogram merge(const Histogram& a, const Histogram& b);

// Servers that did not become ready, grouped by why.
struct FailureGroup {
  std::string reason;                 // as the hub said it, the user's own name replaced by "{user}"; the state when it gave none
  std::size_t count = 0;              // servers that ended with this reason
  std::vector<std::string> examples;  // up to 3 of those users, in the order they were started
};

// One step of the "servers ready over time" curve.
struct ReadyPoint {
  double t_s = 0;         // seconds since the spawn phase started (requested_at_s + ready_after_s)
  std::size_t ready = 0;  // servers ready by then, cumulative
};

// API calls that started within one second of the run.
struct LatencyBucket {
  long t_s = 0;            // whole seconds since the session started: the bucket covers [t_s, t_s + 1)
  std::size_t count = 0;   // requests started in it (answered or not)
  std::size_t errors = 0;  // of them: answers outside 2xx plus transport failures
  double p95_s = 0;        // p95 latency of the answered ones, seconds (0 when none was answered)
};

// One kind of API call, second by second (only the seconds in which such calls started).
struct KindSeries {
  std::string kind;                    // to_string(ApiKind)
  std::vector<LatencyBucket> seconds;  // in time order
};

// The spawn phase of a stress-test.
struct SpawnSummary {
  std::size_t servers = 0;                  // servers the run tried to start (one per user)
  std::size_t ready = 0;                    // of them: ready
  std::size_t failed = 0;                   // of them: the hub said the spawn failed
  std::size_t timed_out = 0;                // of them: not ready within the server timeout
  std::size_t unfinished = 0;               // of them: never requested, or still pending when the run ended
  double ready_rate_pct = 0;                // ready / servers, percent (0 when there were no servers)
  double failure_rate_pct = 0;              // (servers - ready) / servers, percent (0 when there were no servers)
  double ready_per_min = 0;                 // servers ready per minute of the spawn phase (0 without one)
  Distribution ready_s;                     // seconds from the first start request to ready, ready servers only
  Histogram histogram;                      // the same seconds in spawn_histogram_bounds() buckets
  std::vector<FailureGroup> failures;       // every server that did not become ready, most frequent reason first
  std::vector<ReadyPoint> ready_over_time;  // one point per ready server, in time order
  std::vector<ReadyPoint> pending_over_time;  // servers requested and not yet ready, failed or timed out, at each change (`ready` is the count)
};

// One metric of journey_metrics() over every student.
struct StepStats {
  std::string name;        // "kernel", ..., "time_to_first_result"
  Distribution seconds;    // of the students that completed the step ("cell": every further cell)
  std::size_t failed = 0;  // students whose journey ended at this step
};

// Students in each step during one second of the journeys phase.
struct StepsActive {
  double t_s = 0;                   // seconds since the journeys started: the second [t_s, t_s + 1)
  std::vector<std::size_t> active;  // per step of JourneySummary::active_steps
};

// The journey command.
struct JourneySummary {
  std::string auth;                  // "token" | "form"
  std::string arrival;               // "poisson" | "uniform"
  double ramp_up_s = 0;
  double rate_per_min = 0;           // students / ramp_up_s, per minute (0 when they all arrive at once)
  int cells = 0;                     // cells per student
  double think_s = 0;                // --think: seconds between two cells
  double step_timeout_s = 0;         // --step-timeout, seconds
  double server_timeout_s = 0;       // --server-timeout (the ready step's), seconds
  std::size_t students = 0;          // students that were to arrive
  std::size_t completed = 0;         // of them: every step worked
  std::size_t failed = 0;            // of them: ended at a failed step
  std::size_t interrupted = 0;       // of them: a signal ended the journey (not failures; not in failures)
  std::size_t never_arrived = 0;     // of the interrupted: before they arrived
  double failure_rate_pct = 0;       // failed / (students - interrupted), percent (0 without any)
  std::size_t late_starts = 0;       // students started more than kLateStart after their scheduled arrival
  double max_late_s = 0;             // the latest of those starts, seconds
  std::size_t kernels_deleted = 0;   // kernels the students deleted at the end
  std::vector<StepStats> steps;      // every journey_metrics() entry, in its order
  std::vector<FailureGroup> failures;  // reason "step: why", most frequent first
  Histogram time_to_first_result;    // spawn_histogram_bounds() buckets
  std::vector<std::string> active_steps;   // the steps of active_over_time (time_to_first_result is not one)
  std::vector<StepsActive> active_over_time;  // one point per second of the journeys
};

// How much the hub pushed back with 429.
struct Throttling {
  std::size_t answers_429 = 0;  // requests whose final answer was 429 (start requests are never retried on 429)
  int start_429 = 0;            // 429 answers to start-server requests (the hub's concurrent_spawn_limit)
  double throttled_s = 0;       // seconds users waited to be re-sent after a 429, summed over users
  int smallest_window = 0;      // the narrowest the spawn window got (the batch size when never throttled; 0 without a spawn phase)
};

// activity-stress-test.
struct ActivitySummary {
  std::size_t users = 0;    // users that got activity updates
  int workers = 0;          // senders used
  Distribution post_s;      // seconds per 2xx POST /users/{name}/activity
  Distribution ping_s;      // seconds per 2xx GET /users/{first user}
  int post_errors = 0;      // activity updates that did not answer 2xx
  int ping_errors = 0;      // pings that did not answer 2xx
  double updates_per_s = 0; // 2xx activity updates per second, from the first update sent to the last answered
};

// The hub's own numbers at one scrape, derived from consecutive HubSamples.
struct HubPoint {
  double t_s = 0;                         // seconds since the run started
  std::optional<double> cpu_pct;          // hub CPU since the previous scrape, percent of one core (none for the first or across a restart)
  std::optional<double> memory_bytes;     // resident memory of the hub process, bytes
  std::optional<double> running_servers;  // user servers running
  std::optional<double> event_loop_interval_s;  // JupyterHub 5+: mean event-loop interval since the previous scrape (hub saturation)
};

struct HubSummary {
  std::vector<HubSample> samples;            // as scraped, in time order
  std::vector<HubPoint> series;              // one point per sample
  int restarts = 0;                          // times process_start_time_seconds changed between two scrapes
  std::optional<double> peak_cpu_pct;        // highest cpu_pct, percent of one core
  std::optional<double> peak_memory_bytes;   // highest resident memory, bytes
  std::optional<double> request_mean_s;      // hub-side mean request duration between first and last scrape, seconds (none across a restart)
  std::optional<double> spawn_mean_s;        // hub-side mean spawn duration between first and last scrape, seconds (none across a restart)
  std::optional<double> proxy_add_mean_s;    // hub-side mean time to add a route to the proxy, likewise
  std::optional<double> event_loop_mean_s;   // JupyterHub 5+: mean event-loop interval, likewise (hub saturation)
  // The peaks within each phase of the run (the load's apart from the clean-up's); a phase no
  // scrape fell in has none.
  struct PhasePeak {
    std::string phase;
    std::optional<double> cpu_pct;
    std::optional<double> memory_bytes;
  };
  std::vector<PhasePeak> phase_peaks;
};

// The verdict on one threshold (thresholds.hpp); part of the Summary so every report shows it.
struct ThresholdResult {
  std::string text;       // the threshold as given, e.g. "spawn_p95<90s"
  std::string metric;     // "spawn_p95"
  std::string unit;       // unit of limit and actual: "s", "%", or "" for counts
  double limit = 0;       // the bound, in `unit`
  double actual = 0;      // what the run measured, in `unit` (0 without data)
  bool has_data = false;  // false: the run measured nothing for this metric (e.g. no server became ready), so it fails
  bool passed = false;    // the run met the threshold
};

// One stage of a capacity search, judged on the students who arrived in it.
struct StageSummary {
  int number = 0;                 // from 1
  double rate_per_min = 0;        // students arriving per minute (the whole test's)
  double start_s = 0;             // when its arrivals began, seconds since the run started
  double end_s = 0;               // when they ended
  std::size_t arrived = 0;        // students who arrived in it
  std::size_t population = 0;     // students on the hub at its end: its own and earlier stages' who stayed
  std::vector<StepStats> steps;   // every journey_metrics() entry over its students, as judged (a student's later cells apart)
  std::size_t failed = 0;         // its students who failed before their first result
  double failure_rate_pct = 0;    // failed / arrived, percent
  std::size_t later_cells_failed = 0;  // its students whose first result came but a later cell failed (not judged)
  std::size_t answers_429 = 0;    // 429 answers to start requests sent during its arrivals
  std::optional<double> hub_cpu_peak_pct;   // the hub's highest CPU during its arrivals, percent of one core
  std::optional<double> event_loop_mean_s;  // JupyterHub 5+: the hub's mean event-loop interval during its arrivals
  std::optional<double> proxy_add_mean_s;   // the hub's mean time to add a route to the proxy during its arrivals
  std::vector<FailureGroup> failures;       // "step: why", most frequent first
  std::string verdict;                      // to_string(StageVerdict): held, failed, interrupted, cut, not reached
  std::vector<ThresholdResult> thresholds;  // the stage's thresholds, as it was judged
};

// The answer of a capacity search.
struct CapacitySummary {
  double stage_s = 0;                       // each stage's arrivals, seconds
  double stay_s = -1;                       // a student left this long after its first result (< 0: stayed to the end)
  std::vector<std::string> thresholds;      // what each stage was judged by, as given
  std::vector<StageSummary> stages;         // every stage planned, in order
  std::optional<double> held_rate_per_min;  // the highest rate that held
  std::size_t held_population = 0;         // students on the hub at the end of that stage
  std::optional<double> failed_rate_per_min;  // the rate of the stage that did not hold
  bool reached_max = false;                 // the last stage planned held: the hub's limit is above it
  bool interrupted = false;
  std::string broke_first;                  // what broke first in the stage that failed, one sentence ("" when none did)
  std::string line;                         // "held 40/min (population 160); failed at 60/min: ..."
};

// The users a load command asked for beside what it got.
struct UsersCount {
  int requested = 0;  // users the command line asked for (--count)
  int created = 0;    // users this run created (activity-stress-test also reuses existing ones)
  std::optional<int> started;  // servers whose start was requested (stress-test, journey)
  std::optional<int> ready;    // of them: ready
};


// A shard's place in its test (a load command run with --shard I/N, or --shards N in a Job's pod).
struct ShardInfo {
  int index = 0;            // from 0
  int count = 1;            // shards of the test
  int total_count = 0;      // --count of the whole test (this shard ran its share of it)
  std::string start_at;     // --start-at, ISO-8601 UTC; empty without it
  double start_late_s = 0;  // seconds this shard began its load after --start-at (0: on time, or no --start-at)
  std::string prefix;       // --prefix: the test's user names (purge --prefix)
};

// One shard of a merged report.
struct ShardRow {
  ShardInfo shard;
  std::string run_id;         // the shard's journal id (purge --run ID on the machine or pod it ran in)
  std::string status;         // "complete", "failed", "interrupted"
  std::string error;          // why, when not complete
  int users_created = 0;      // users the shard created
  double offset_s = 0;        // when its run started, seconds after the first shard's
  double duration_s = 0;      // seconds its run took
};

// What was run, and how it ended.
struct RunInfo {
  std::string status = "complete";  // "complete", "failed" (could not finish) or "interrupted" (Ctrl-C, SIGTERM)
  std::string error;                // why it failed or was interrupted; empty when complete
  std::string command_line;         // as typed, with the token, a password and URL credentials as ***
  std::string run_id;               // the run's journal id; empty for a dry run and purge
  std::string tool_version = kToolVersion;
  int batch_size = 0;               // -b of stress-test and journey; 0 otherwise
  std::optional<ShardInfo> shard;   // this run was one shard of a test
};

// The answer first: did the hub hold, and why (or why not).
struct Verdict {
  std::string result;            // "PASS", "FAIL" or "INTERRUPTED"; empty until set
  std::vector<std::string> why;  // one line each
};

struct Summary {
  Verdict verdict;                           // set by the caller once the exit code is known
  RunInfo run;                               // what was run, and how it ended
  std::string command;                       // "stress-test", "activity-stress-test", "journey", "purge"
  std::string endpoint;                      // the hub API URL, without credentials, query or fragment
  std::string hub_version;                   // as GET {api}/ said, e.g. "3.0.0"
  std::string started_at;                    // ISO-8601 UTC time the run started
  double duration_s = 0;                     // seconds the whole run took
  std::optional<UsersCount> users;           // stress-test and activity-stress-test
  std::vector<PhaseTime> phases;             // stress-test phases in order (find, create, spawn, delete), seconds each
  std::vector<ApiStats> api;                 // one per kind of API call that was made, in ApiKind order
  ApiStats api_all;                          // every request together (kind "all")
  std::vector<LatencyBucket> latency_over_time;  // per second of the run that started requests, in time order
  std::vector<KindSeries> kinds_over_time;        // the same per kind of call, in ApiKind order
  std::optional<SpawnSummary> spawn;         // stress-test only
  Throttling throttle;                       // 429s, from the records and the spawn phase
  std::optional<ActivitySummary> activity;   // activity-stress-test only
  std::optional<JourneySummary> journey;     // journey and capacity (every student of every stage)
  std::optional<CapacitySummary> capacity;   // capacity only (report/capacity.hpp adds it)
  std::optional<HubSummary> hub;             // when /hub/metrics was scraped at least once
  std::vector<ThresholdResult> thresholds;   // set by the caller: evaluate_all() (thresholds.hpp); empty when none given
  std::vector<ShardRow> shards;              // a merged report: the shards merged, by index (empty otherwise)
  std::vector<int> missing_shards;           // a merged report: indexes of shards whose report was not given
};

// What build_summary reads. Pointers may be null: that part did not happen (e.g. no spawn phase).
struct SummaryInputs {
  std::string command;                               // the subcommand that ran: "stress-test", ...
  std::string endpoint;                              // the hub API URL; credentials, query and fragment are dropped
  std::string hub_version;                           // Session::hub_version()
  std::string started_at;                            // ISO-8601 UTC, e.g. iso8601_utc_now() at the start
  double duration_s = 0;                             // seconds the run took
  const std::vector<RequestRecord>* records = nullptr;   // Session::records(): every answered request
  int requested_users = 0;                           // --count of a load command (0: not one)
  const StressResult* stress = nullptr;              // stress-test's result
  const ActivityResult* activity = nullptr;          // activity-stress-test's result
  const JourneyResult* journey = nullptr;            // journey's result
  const JourneyOptions* journey_options = nullptr;   // with it: what was asked
  RunInfo run;                                       // copied into the Summary
  const std::vector<HubSample>* hub_samples = nullptr;   // /hub/metrics scrapes, any order
};

Summary build_summary(const SummaryInputs& in);
JourneySummary summarize_journeys(const JourneyResult& result, const JourneyOptions& options);
// The step of that name (journey_metrics()), or null.
const StepStats* find_step(const JourneySummary& journey, std::string_view name);

// Whether a record counts as an error: an answer outside 2xx (but a WebSocket's 101), or no answer at all.
bool is_error(const RequestRecord& record);

} // namespace hubstress
