#pragma once
// One test spread over several processes (the pods of a Kubernetes Indexed Job), and the merge of
// their reports into the report of the whole test.
//
// Shard I of N runs its share of the count with its own numbers (NameSlot), begins its load at
// --start-at with the others, and writes into its --json report what it recorded (RunData, under
// "samples"). `merge` reads every shard's report, puts them on one time axis, and builds the one
// Summary from all of it together: counts are sums, percentiles come from every sample at once.
#include "hubstress/model/capacity.hpp"
#include "hubstress/report/summary.hpp"
#include "hubstress/hub/users.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

inline constexpr int kMaxShards = 10000;

struct ShardSpec {
  int index = 0;  // 0 .. count - 1, as Kubernetes' JOB_COMPLETION_INDEX counts
  int count = 1;
};
// "I/N", I counted from 0; throws std::invalid_argument (one line) on anything else.
ShardSpec parse_shard(std::string_view text);
// --shards N in a pod of an Indexed Job: the index from JOB_COMPLETION_INDEX's value (null: unset,
// which is an error: --shards needs it, --shard I/N does not).
ShardSpec shard_from_job_index(int shards, const char* job_completion_index);
std::string to_string(const ShardSpec& shard);  // "2/4"
// This shard's part of `total`: total / N, and one more for the first total % N shards.
int share_of(int total, const ShardSpec& shard);
// The numbers shard I of N gives its users: N % count == (I + 1) % count.
NameSlot name_slot(const ShardSpec& shard);

using UtcTime = std::chrono::system_clock::time_point;
// "2026-11-27T20:30:00Z": date, "T" (or a space), time with an optional fraction of a second, and
// "Z", "+00:00" or nothing (UTC either way). Throws std::invalid_argument otherwise.
UtcTime parse_utc_time(std::string_view text);
std::string format_utc_time(UtcTime t);  // "2026-11-27T20:30:00.250Z"
double unix_seconds(UtcTime t);

// Waits until `start_at` with the loop running, so that every shard begins its load together; a
// signal ends the wait (Interrupted). Returns how many seconds late the load begins (0 when on
// time) and says so in the log either way. A dry run does not wait.
double wait_for_start(Session& session, UtcTime start_at);

// Everything build_summary reads, as a run recorded it. A shard's --json carries it, so that a
// merge builds the whole test's Summary exactly as one process would have.
struct RunData {
  std::string command;
  std::string endpoint;
  std::string hub_version;
  std::string started_at;              // ISO-8601 UTC
  double duration_s = 0;
  double session_start_unix_s = 0;     // time 0 of the run's time axis (records, phases, hub samples), Unix seconds
  int requested_users = 0;
  std::vector<RequestRecord> records;  // the run's and the hub watcher's
  std::optional<StressResult> stress;
  std::optional<ActivityResult> activity;
  std::optional<JourneyResult> journey;
  std::optional<JourneyOptions> journey_options;
  std::optional<CapacityResult> capacity;  // capacity: its stages (its students are `journey`'s)
  std::vector<HubSample> hub_samples;
  RunInfo run;
};
// build_summary's inputs pointing into `data` (which must outlive them).
SummaryInputs summary_inputs(const RunData& data);

// The "samples" section of a shard's report (docs/report-schema.md), and back.
nlohmann::json run_data_json(const RunData& data);

// A shard's report as merge reads it. Throws std::invalid_argument (one line, naming nothing but
// the problem) when it is not a report, is of another schema version, or is not a shard's.
struct ShardReport {
  ShardInfo shard;
  RunData data;
  std::string options;  // what else must agree between shards (journey: --ramp-up, --cells, ...), as text
};
ShardReport read_shard_report(const nlohmann::json& report);

// The whole test from its shards' reports, which must be of one test: same command, hub, tool
// version, shard count, --start-at and total count, each index once (std::invalid_argument
// otherwise, naming the file by `names`). Shards may be missing (a pod that died): `missing` says which.
struct MergedRun {
  RunData data;
  std::vector<ShardRow> shards;  // one per report, by index
  std::vector<int> missing;      // indexes of shards without a report
};
MergedRun merge_shards(const std::vector<ShardReport>& reports, const std::vector<std::string>& names);

} // namespace hubstress
