#pragma once
// Command line -> Config. Everything the user can set, fixed before the run starts.
#include "hubstress/scenarios/shard.hpp"

#include <optional>
#include <string>
#include <vector>

namespace hubstress::cli {

struct Config {
  std::string command;            // "stress-test" | "activity-stress-test" | "journey" | "capacity" | "purge" | ...
  std::string endpoint;           // -e / JUPYTERHUB_ENDPOINT
  std::string token;              // -t / JUPYTERHUB_API_TOKEN (never logged)
  bool dry_run = false;
  bool verbose = false;
  bool quiet = false;             // no live progress
  std::optional<std::string> log_file;   // set by --log-to-file (a default path when given no value)
  bool insecure = false;
  std::string ca_bundle;
  double timeout_s = 30.0;
  std::string prefix = "hub-stress-test";
  // stress-test / activity-stress-test
  int count = 100;
  int batch_size = 10;
  bool keep = false;
  std::string profile;
  int workers = 100;
  double duration_s = 0;          // activity-stress-test --duration
  double server_deadline_s = 300.0;
  double stop_deadline_s = 60.0;
  // journey
  double ramp_up_s = 0;
  std::string arrival = "poisson";  // poisson | uniform
  std::string auth = "token";       // token | form
  std::string password;             // --password / HUB_STRESS_TEST_PASSWORD (never logged)
  int cells = 3;
  double think_s = 5;
  std::string code = "print(6 * 7)";
  std::string expect = "42";
  double step_timeout_s = 60;
  // capacity (every journey option but --count, --ramp-up and --cells applies too)
  std::vector<double> rates;        // students per minute, one per stage (--start/--factor/--max, or --rates)
  double stage_s = 120;             // --stage
  double stay_s = -1;               // --stay (< 0: students stay until the run ends)
  // a test spread over shards (stress-test, activity-stress-test, journey)
  std::optional<ShardSpec> shard;   // --shard I/N, or --shards N and JOB_COMPLETION_INDEX; count, batch_size
                                    // and workers are then this shard's share of the whole test's
  int total_count = 0;              // --count of the whole test (count when not sharded)
  std::optional<UtcTime> start_at;  // --start-at: the load begins then
  std::vector<std::string> compare_files;  // compare A.json B.json
  std::vector<std::string> merge_files;    // merge A.json B.json ...: shards' reports
  std::string run_id;             // purge --run ID: only what that run made
  bool force = false;             // purge --force: even while a run on this machine is still going
  // reports (every command; may stand after the command name)
  std::string json_path;          // --json FILE
  std::string csv_dir;            // --csv DIR
  std::string html_path;          // --html FILE
  std::vector<std::string> thresholds;  // --threshold EXPR, as given (checked at parse time)
  double hub_metrics_interval_s = 2.0;  // --hub-metrics-interval
  std::string command_line;       // the arguments as typed, token, password and URL credentials as ***

  // The arguments as one log line, the token shown as ***.
  std::string describe() const;

private:
  std::string describe_common() const;
};

// Parses argv. On --help prints it and returns exit code 0 in `exit_code`;
// on bad input prints one line "hub-stress-test: error: ..." and sets exit_code 1.
struct ParseResult {
  std::optional<Config> config;
  int exit_code = 0;
};
ParseResult parse(int argc, const char* const* argv);

} // namespace hubstress::cli
