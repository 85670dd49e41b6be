#pragma once
// The hub's own view of a run: GET /hub/metrics (Prometheus text exposition format) parsed into
// samples, and the handful of series a report plots picked out of them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstress {

// One sample line: `name{label="value",...} value [timestamp_ms]`.
struct PromSample {
  std::string name;                                        // metric name, e.g. "process_cpu_seconds_total"
  std::vector<std::pair<std::string, std::string>> labels; // as written, values unescaped (\\ \" \n)
  double value = 0;                                        // may be NaN or +-Inf
  std::optional<std::int64_t> timestamp_ms;                // the optional trailing timestamp (ms since epoch)

  // The value of label `key`, or nullopt when the sample has no such label.
  std::optional<std::string> label(std::string_view key) const;
};

// Parses the text exposition format. Never throws on input: comments (# HELP/# TYPE/# EOF), blank
// lines and every line that is not a well-formed sample are skipped; `skipped`, when given, is set
// to the number of non-blank, non-comment lines that were skipped as malformed.
std::vector<PromSample> parse_prometheus(std::string_view text, std::size_t* skipped = nullptr);

// What one scrape of /hub/metrics says about the hub. A field is empty when the hub did not export
// it (versions differ; a proxy in front may cut some out).
struct HubSample {
  double t_s = 0;                                // seconds since the run started when this was scraped
  std::optional<double> cpu_seconds_total;       // process_cpu_seconds_total: CPU seconds the hub process used since it started
  std::optional<double> resident_memory_bytes;   // process_resident_memory_bytes: the hub process's RSS, bytes
  std::optional<double> running_servers;         // jupyterhub_running_servers: user servers running now
  std::optional<double> total_users;             // jupyterhub_total_users: users in the hub's database
  std::optional<double> start_time_s;            // process_start_time_seconds: unix time the hub started; a change means a restart
  std::optional<double> request_duration_sum_s;  // jupyterhub_request_duration_seconds_sum over all label sets, seconds
  std::optional<double> request_count;           // jupyterhub_request_duration_seconds_count over all label sets: requests served
  std::optional<double> spawn_duration_sum_s;    // jupyterhub_server_spawn_duration_seconds_sum over all statuses, seconds
  std::optional<double> spawn_count;             // jupyterhub_server_spawn_duration_seconds_count over all statuses: spawns finished
  std::optional<double> proxy_add_sum_s;         // jupyterhub_proxy_add_duration_seconds_sum: adding routes to the proxy, seconds
  std::optional<double> proxy_add_count;         // jupyterhub_proxy_add_duration_seconds_count: routes added
  std::optional<double> event_loop_sum_s;        // JupyterHub 5+: *event_loop_interval_seconds_sum (the name may carry a prefix)
  std::optional<double> event_loop_count;        // *event_loop_interval_seconds_count
};

// Every optional figure of a HubSample: its name in the JSON report ("cpu_seconds_total", ...),
// which the report writes and a shard's report is read back by, and the Prometheus series it is
// taken from, which the scrape is parsed by.
struct HubSampleField {
  const char* name;
  std::optional<double> HubSample::*field;
  std::string_view metric; // the series' name, or (suffix) how it ends: 5.x's may carry a prefix
  bool sum;                // a histogram's _sum or _count: every label set added up (else: the value)
  bool suffix;
};
const std::vector<HubSampleField>& hub_sample_fields();

// Picks the series above out of one scrape taken `t_s` seconds into the run. Samples whose value is
// NaN are ignored; for the histogram sums and counts, every label set is added up.
HubSample extract_hub_sample(const std::vector<PromSample>& samples, double t_s);

// The same from a scrape's text, parsing only the lines of the series above: a hub with hundreds of
// users exports hundreds of lines a scrape, and the watcher scrapes every few seconds.
HubSample hub_sample_from(std::string_view metrics_text, double t_s);

} // namespace hubstress
