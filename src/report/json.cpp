#include "hubstress/report/report.hpp"

#include "common.hpp"

namespace hubstress {

using nlohmann::json;

namespace {

// Every string goes through this: text from the hub may be cut inside a UTF-8 character.
json text(std::string_view s) { return report_detail::valid_utf8(s); }

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json distribution(const Distribution& d) {
  return {{"count", d.count}, {"min", d.min}, {"mean", d.mean}, {"p50", d.p50}, {"p90", d.p90},
          {"p95", d.p95},     {"p99", d.p99}, {"max", d.max}};
}

json api_stats(const ApiStats& a) {
  json by_status = json::object();
  for (const auto& [key, n] : a.errors_by_status) by_status[report_detail::valid_utf8(key)] = n;
  return {{"kind", text(a.kind)},   {"count", a.count},     {"errors", a.errors}, {"errors_by_status", by_status},
          {"retries", a.retries}, {"latency_s", distribution(a.latency_s)}};
}

json histogram(const Histogram& h) {
  json buckets = json::array();
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    buckets.push_back({{"le_s", i < h.upper_bounds_s.size() ? json(h.upper_bounds_s[i]) : json(nullptr)}, {"count", h.counts[i]}});
  }
  return buckets;
}

json failure_groups(const std::vector<FailureGroup>& groups) {
  json failures = json::array();
  for (const auto& f : groups) {
    json examples = json::array();
    for (const auto& u : f.examples) examples.push_back(text(u));
    failures.push_back({{"reason", text(f.reason)}, {"count", f.count}, {"example_users", examples}});
  }
  return failures;
}

json spawn(const SpawnSummary& sp) {
  const json failures = failure_groups(sp.failures);
  json ready = json::array();
  for (const auto& p : sp.ready_over_time) ready.push_back({{"t_s", p.t_s}, {"ready", p.ready}});
  json pending = json::array();
  for (const auto& p : sp.pending_over_time) pending.push_back({{"t_s", p.t_s}, {"pending", p.ready}});
  return {{"servers", sp.servers},
          {"ready", sp.ready},
          {"failed", sp.failed},
          {"timed_out", sp.timed_out},
          {"unfinished", sp.unfinished},
          {"ready_rate_pct", sp.ready_rate_pct},
          {"failure_rate_pct", sp.failure_rate_pct},
          {"ready_per_min", sp.ready_per_min},
          {"ready_s", distribution(sp.ready_s)},
          {"histogram", histogram(sp.histogram)},
          {"failures", failures},
          {"ready_over_time", ready},
          {"pending_over_time", pending}};
}

json activity(const ActivitySummary& a) {
  return {{"users", a.users},           {"workers", a.workers},         {"post_s", distribution(a.post_s)},
          {"ping_s", distribution(a.ping_s)}, {"post_errors", a.post_errors}, {"ping_errors", a.ping_errors},
          {"updates_per_s", a.updates_per_s}};
}

json journey(const JourneySummary& j) {
  json steps = json::array();
  for (const auto& step : j.steps) {
    steps.push_back({{"name", step.name}, {"seconds", distribution(step.seconds)}, {"failed", step.failed}});
  }
  json active = json::array();
  for (const auto& p : j.active_over_time) active.push_back({{"t_s", p.t_s}, {"active", p.active}});
  return {{"auth", j.auth},
          {"arrival", j.arrival},
          {"ramp_up_s", j.ramp_up_s},
          {"rate_per_min", j.rate_per_min},
          {"cells", j.cells},
          {"think_s", j.think_s},
          {"step_timeout_s", j.step_timeout_s},
          {"server_timeout_s", j.server_timeout_s},
          {"students", j.students},
          {"completed", j.completed},
          {"failed", j.failed},
          {"interrupted", j.interrupted},
          {"never_arrived", j.never_arrived},
          {"failure_rate_pct", j.failure_rate_pct},
          {"late_starts", j.late_starts},
          {"max_late_s", j.max_late_s},
          {"kernels_deleted", j.kernels_deleted},
          {"steps", steps},
          {"failures", failure_groups(j.failures)},
          {"time_to_first_result_histogram", histogram(j.time_to_first_result)},
          {"active_steps", j.active_steps},
          {"active_over_time", active}};
}

json stage(const StageSummary& st) {
  json steps = json::array();
  for (const auto& step : st.steps) {
    steps.push_back({{"name", step.name}, {"seconds", distribution(step.seconds)}, {"failed", step.failed}});
  }
  json results = json::array();
  for (const auto& t : st.thresholds) {
    results.push_back({{"threshold", text(t.text)}, {"actual", t.actual}, {"has_data", t.has_data}, {"passed", t.passed}});
  }
  return {{"number", st.number},
          {"rate_per_min", st.rate_per_min},
          {"start_s", st.start_s},
          {"end_s", st.end_s},
          {"arrived", st.arrived},
          {"population", st.population},
          {"steps", steps},
          {"failed", st.failed},
          {"failure_rate_pct", st.failure_rate_pct},
          {"later_cells_failed", st.later_cells_failed},
          {"answers_429", st.answers_429},
          {"hub_cpu_peak_pct", optional_number(st.hub_cpu_peak_pct)},
          {"event_loop_mean_s", optional_number(st.event_loop_mean_s)},
          {"proxy_add_mean_s", optional_number(st.proxy_add_mean_s)},
          {"failures", failure_groups(st.failures)},
          {"verdict", st.verdict},
          {"thresholds", results}};
}

json capacity(const CapacitySummary& c) {
  json given = json::array();
  for (const auto& t : c.thresholds) given.push_back(text(t));
  return {{"held_rate_per_min", optional_number(c.held_rate_per_min)},
          {"held_population", c.held_population},
          {"failed_rate_per_min", optional_number(c.failed_rate_per_min)},
          {"reached_max", c.reached_max},
          {"interrupted", c.interrupted},
          {"broke_first", text(c.broke_first)},
          {"line", text(c.line)},
          {"stage_s", c.stage_s},
          {"stay_s", c.stay_s},
          {"thresholds", given}};
}

json hub(const HubSummary& h) {
  json samples = json::array();
  for (const auto& s : h.samples) {
    json sample{{"t_s", s.t_s}};
    for (const auto& f : hub_sample_fields()) sample[f.name] = optional_number(s.*f.field);
    samples.push_back(std::move(sample));
  }
  json series = json::array();
  for (const auto& p : h.series) {
    series.push_back({{"t_s", p.t_s},
                      {"cpu_pct", optional_number(p.cpu_pct)},
                      {"memory_bytes", optional_number(p.memory_bytes)},
                      {"running_servers", optional_number(p.running_servers)},
                      {"event_loop_interval_s", optional_number(p.event_loop_interval_s)}});
  }
  json peaks = json::array();
  for (const auto& p : h.phase_peaks) {
    peaks.push_back({{"phase", text(p.phase)}, {"peak_cpu_pct", optional_number(p.cpu_pct)}, {"peak_memory_bytes", optional_number(p.memory_bytes)}});
  }
  return {{"samples", samples},
          {"series", series},
          {"restarts", h.restarts},
          {"peak_cpu_pct", optional_number(h.peak_cpu_pct)},
          {"peak_memory_bytes", optional_number(h.peak_memory_bytes)},
          {"request_mean_s", optional_number(h.request_mean_s)},
          {"spawn_mean_s", optional_number(h.spawn_mean_s)},
          {"proxy_add_mean_s", optional_number(h.proxy_add_mean_s)},
          {"event_loop_mean_s", optional_number(h.event_loop_mean_s)},
          {"phase_peaks", peaks}};
}

json shard_info(const ShardInfo& s) {
  return {{"index", s.index},       {"count", s.count},           {"total_count", s.total_count},
          {"start_at", s.start_at}, {"start_late_s", s.start_late_s}, {"prefix", s.prefix}};
}

json shard_rows(const std::vector<ShardRow>& rows) {
  json out = json::array();
  for (const auto& r : rows) {
    out.push_back({{"index", r.shard.index},
                   {"run_id", text(r.run_id)},
                   {"status", text(r.status)},
                   {"error", text(r.error)},
                   {"users_created", r.users_created},
                   {"offset_s", r.offset_s},
                   {"duration_s", r.duration_s},
                   {"start_late_s", r.shard.start_late_s}});
  }
  return out;
}

} // namespace

std::string json_error_text(const nlohmann::json::exception& e) {
  const std::string what = e.what();
  const auto bracket = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos ? what.substr(bracket + 2) : what;
}

void check_report(const json& r, std::string_view reader) {
  if (!r.is_object() || !r.contains("schema") || r["schema"] != kReportSchema) {
    throw std::invalid_argument("not a hub-stress-test report (its \"schema\" is not \"" + std::string(kReportSchema) + "\")");
  }
  if (!r.contains("schema_version") || r["schema_version"] != kReportSchemaVersion) {
    throw std::invalid_argument("a report of another schema version than " + std::to_string(kReportSchemaVersion) + ": " +
                                std::string(reader) + " reports of this version of the tool");
  }
}

json to_json(const Summary& s) {
  json stages = json::array();
  if (s.capacity) {
    for (const auto& st : s.capacity->stages) stages.push_back(stage(st));
  }
  json phases = json::array();
  for (const auto& p : s.phases) {
    phases.push_back({{"name", text(p.name)}, {"seconds", p.seconds}, {"start_s", p.start_s >= 0 ? json(p.start_s) : json(nullptr)}});
  }
  json kinds = json::array();
  for (const auto& a : s.api) kinds.push_back(api_stats(a));
  json latency = json::array();
  for (const auto& b : s.latency_over_time) {
    latency.push_back({{"t_s", b.t_s}, {"count", b.count}, {"errors", b.errors}, {"p95_s", b.p95_s}});
  }
  json per_kind = json::array();
  for (const auto& k : s.kinds_over_time) {
    json seconds = json::array();
    for (const auto& b : k.seconds) seconds.push_back({{"t_s", b.t_s}, {"count", b.count}, {"errors", b.errors}, {"p95_s", b.p95_s}});
    per_kind.push_back({{"kind", text(k.kind)}, {"seconds", seconds}});
  }
  json thresholds = json::array();
  for (const auto& t : s.thresholds) {
    thresholds.push_back({{"text", text(t.text)},
                          {"metric", text(t.metric)},
                          {"unit", t.unit},
                          {"limit", t.limit},
                          {"actual", t.actual},
                          {"has_data", t.has_data},
                          {"passed", t.passed}});
  }
  json why = json::array();
  for (const auto& w : s.verdict.why) why.push_back(text(w));
  json users = nullptr;
  if (s.users) {
    users = {{"requested", s.users->requested},
             {"created", s.users->created},
             {"started", s.users->started ? json(*s.users->started) : json(nullptr)},
             {"ready", s.users->ready ? json(*s.users->ready) : json(nullptr)}};
  }
  return {{"schema", kReportSchema},
          {"schema_version", kReportSchemaVersion},
          {"verdict", {{"result", text(s.verdict.result)}, {"why", why}}},
          {"status", text(s.run.status)},
          {"error", text(s.run.error)},
          {"run",
           {{"command_line", text(s.run.command_line)},
            {"run_id", text(s.run.run_id)},
            {"tool_version", text(s.run.tool_version)},
            {"batch_size", s.run.batch_size}}},
          {"shard", s.run.shard ? shard_info(*s.run.shard) : json(nullptr)},
          {"shards", shard_rows(s.shards)},
          {"missing_shards", s.missing_shards},
          {"command", text(s.command)},
          {"endpoint", text(s.endpoint)},
          {"hub_version", text(s.hub_version)},
          {"started_at", text(s.started_at)},
          {"duration_s", s.duration_s},
          {"users", users},
          {"phases", phases},
          {"api", {{"kinds", kinds}, {"all", api_stats(s.api_all)}}},
          {"latency_over_time", latency},
          {"kinds_over_time", per_kind},
          {"spawn", s.spawn ? spawn(*s.spawn) : json(nullptr)},
          {"throttle",
           {{"answers_429", s.throttle.answers_429},
            {"start_429", s.throttle.start_429},
            {"throttled_s", s.throttle.throttled_s},
            {"smallest_window", s.throttle.smallest_window}}},
          {"activity", s.activity ? activity(*s.activity) : json(nullptr)},
          {"journey", s.journey ? journey(*s.journey) : json(nullptr)},
          {"hub", s.hub ? hub(*s.hub) : json(nullptr)},
          {"capacity", s.capacity ? capacity(*s.capacity) : json(nullptr)},
          {"stages", stages},
          {"thresholds", thresholds}};
}

} // namespace hubstress
