// A shard's report: what it recorded (RunData) as JSON under "samples", and read back for merge.
#include "hubstress/scenarios/shard.hpp"

#include "hubstress/hub/url.hpp"
#include "hubstress/hub/users.hpp"
#include "hubstress/report/report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace hubstress {

using nlohmann::json;

namespace {

// An enum value from its to_string() name, among the first `count` values.
template <typename E>
E from_name(const std::string& name, int count, const char* what) {
  for (int i = 0; i < count; ++i) {
    if (name == to_string(static_cast<E>(i))) return static_cast<E>(i);
  }
  throw std::invalid_argument(std::string("unknown ") + what + " \"" + name + "\"");
}

ApiKind kind_named(const std::string& name) {
  for (std::size_t i = 0; i < kApiKindCount; ++i) {
    if (name == to_string(static_cast<ApiKind>(i))) return static_cast<ApiKind>(i);
  }
  throw std::invalid_argument("unknown API call kind \"" + name + "\"");
}

// --- RunData to JSON: tables of rows where there are many of a kind ---

json phases_json(const std::vector<PhaseTime>& phases) {
  json out = json::array();
  for (const auto& p : phases) out.push_back({p.name, p.seconds, p.start_s});
  return out;
}

std::vector<PhaseTime> phases_from(const json& j) {
  std::vector<PhaseTime> out;
  for (const auto& p : j) out.push_back({p.at(0).get<std::string>(), p.at(1).get<double>(), p.at(2).get<double>()});
  return out;
}

json records_json(const std::vector<RequestRecord>& records) {
  json rows = json::array();
  for (const auto& r : records) {
    rows.push_back({to_string(r.kind), r.method, r.route, r.status, to_string(r.outcome), r.start_s, r.latency_s, r.total_s, r.retries});
  }
  return {{"columns", {"kind", "method", "route", "status", "outcome", "start_s", "latency_s", "total_s", "retries"}}, {"rows", rows}};
}

std::vector<RequestRecord> records_from(const json& j) {
  std::vector<RequestRecord> out;
  out.reserve(j.at("rows").size());
  for (const auto& r : j.at("rows")) {
    RequestRecord rec;
    rec.kind = kind_named(r.at(0).get<std::string>());
    rec.method = r.at(1).get<std::string>();
    rec.route = r.at(2).get<std::string>();
    rec.status = r.at(3).get<long>();
    rec.outcome = from_name<Outcome>(r.at(4).get<std::string>(), static_cast<int>(Outcome::hub_down) + 1, "outcome");
    rec.start_s = r.at(5).get<double>();
    rec.latency_s = r.at(6).get<double>();
    rec.total_s = r.at(7).get<double>();
    rec.retries = r.at(8).get<int>();
    out.push_back(std::move(rec));
  }
  return out;
}

json stress_json(const StressResult& s) {
  json spawns = json::array();
  for (const auto& r : s.spawns) {
    spawns.push_back({r.user, to_string(r.state), r.requested_at_s, r.ready_after_s, r.ended_at_s, r.throttled, r.reason});
  }
  return {{"phases", phases_json(s.phases)},
          {"created", s.created},
          {"spawns",
           {{"columns", {"user", "state", "requested_at_s", "ready_after_s", "ended_at_s", "throttled", "reason"}}, {"rows", spawns}}},
          {"spawn_stats",
           {{"throttled", s.spawn_stats.throttled},
            {"throttled_s", s.spawn_stats.throttled_s},
            {"smallest_window", s.spawn_stats.smallest_window}}},
          {"deleted", s.deleted}};
}

StressResult stress_from(const json& j) {
  StressResult s;
  s.phases = phases_from(j.at("phases"));
  s.created = j.at("created").get<std::vector<std::string>>();
  for (const auto& r : j.at("spawns").at("rows")) {
    SpawnRecord rec;
    rec.user = r.at(0).get<std::string>();
    rec.state = from_name<SpawnState>(r.at(1).get<std::string>(), static_cast<int>(SpawnState::timed_out) + 1, "server state");
    rec.requested_at_s = r.at(2).get<double>();
    rec.ready_after_s = r.at(3).get<double>();
    rec.ended_at_s = r.at(4).get<double>();
    rec.throttled = r.at(5).get<int>();
    rec.reason = r.at(6).get<std::string>();
    s.spawns.push_back(std::move(rec));
  }
  const json& st = j.at("spawn_stats");
  s.spawn_stats.throttled = st.at("throttled").get<int>();
  s.spawn_stats.throttled_s = st.at("throttled_s").get<double>();
  s.spawn_stats.smallest_window = st.at("smallest_window").get<int>();
  s.deleted = j.at("deleted").get<bool>();
  return s;
}

json activity_json(const ActivityResult& a) {
  json per_user = json::object();
  for (const auto& [user, counts] : a.per_user) per_user[user] = {counts.first, counts.second};
  return {{"used", a.used},           {"created", a.created},         {"post_s", a.post_s},   {"ping_s", a.ping_s},
          {"post_errors", a.post_errors}, {"ping_errors", a.ping_errors}, {"per_user", per_user}, {"workers", a.workers},
          {"deleted", a.deleted}};
}

ActivityResult activity_from(const json& j) {
  ActivityResult a;
  a.used = j.at("used").get<std::vector<std::string>>();
  a.created = j.at("created").get<std::vector<std::string>>();
  a.post_s = j.at("post_s").get<std::vector<double>>();
  a.ping_s = j.at("ping_s").get<std::vector<double>>();
  a.post_errors = j.at("post_errors").get<int>();
  a.ping_errors = j.at("ping_errors").get<int>();
  for (const auto& [user, counts] : j.at("per_user").items()) a.per_user[user] = {counts.at(0).get<int>(), counts.at(1).get<int>()};
  a.workers = j.at("workers").get<int>();
  a.deleted = j.at("deleted").get<bool>();
  return a;
}

json journey_json(const JourneyResult& r, const JourneyOptions& o) {
  json students = json::array();
  for (const auto& st : r.students) {
    json steps = json::array();
    for (const auto& step : st.steps) steps.push_back({step.step, step.start_s, step.seconds});
    students.push_back({{"user", st.user},
                        {"scheduled_s", st.scheduled_s},
                        {"late_s", st.late_s},
                        {"steps", steps},
                        {"time_to_first_result_s", st.time_to_first_result_s ? json(*st.time_to_first_result_s) : json(nullptr)},
                        {"failed_step", st.failed_step},
                        {"reason", st.reason},
                        {"kernel_deleted", st.kernel_deleted},
                        {"stage", st.stage},
                        {"left_s", st.left_s}});
  }
  return {{"phases", phases_json(r.phases)},
          {"created", r.created},
          {"students", students},
          {"interrupted", r.interrupted},
          {"deleted", r.deleted},
          {"spawn_stats", {{"throttled", r.spawn_stats.throttled}, {"throttled_s", r.spawn_stats.throttled_s}}},
          {"options",
           {{"auth", to_string(o.auth)},
            {"arrival", to_string(o.arrival)},
            {"ramp_up_s", o.ramp_up_s},
            {"cells", o.cells},
            {"think_s", o.think_s},
            {"step_timeout_s", o.step_timeout_s},
            {"server_timeout_s", o.server_timeout_s}}}};
}

void journey_from(const json& j, RunData& d) {
  JourneyResult r;
  r.phases = phases_from(j.at("phases"));
  r.created = j.at("created").get<std::vector<std::string>>();
  for (const auto& s : j.at("students")) {
    StudentRecord st;
    st.user = s.at("user").get<std::string>();
    st.scheduled_s = s.at("scheduled_s").get<double>();
    st.late_s = s.at("late_s").get<double>();
    for (const auto& step : s.at("steps")) st.steps.push_back({step.at(0).get<std::string>(), step.at(1).get<double>(), step.at(2).get<double>()});
    if (!s.at("time_to_first_result_s").is_null()) st.time_to_first_result_s = s.at("time_to_first_result_s").get<double>();
    st.failed_step = s.at("failed_step").get<std::string>();
    st.reason = s.at("reason").get<std::string>();
    st.kernel_deleted = s.at("kernel_deleted").get<bool>();
    st.stage = s.value("stage", -1);  // since capacity
    st.left_s = s.value("left_s", -1.0);
    r.students.push_back(std::move(st));
  }
  r.interrupted = j.at("interrupted").get<bool>();
  r.deleted = j.at("deleted").get<bool>();
  if (const auto st = j.find("spawn_stats"); st != j.end() && st->is_object()) {  // since the students' requests are recorded
    r.spawn_stats.throttled = st->value("throttled", 0);
    r.spawn_stats.throttled_s = st->value("throttled_s", 0.0);
  }
  const json& oj = j.at("options");
  JourneyOptions o;
  o.auth = from_name<JourneyAuth>(oj.at("auth").get<std::string>(), 2, "--auth");
  o.arrival = from_name<Arrival>(oj.at("arrival").get<std::string>(), 2, "--arrival");
  o.ramp_up_s = oj.at("ramp_up_s").get<double>();
  o.cells = oj.at("cells").get<int>();
  o.think_s = oj.at("think_s").get<double>();
  o.step_timeout_s = oj.at("step_timeout_s").get<double>();
  o.server_timeout_s = oj.at("server_timeout_s").get<double>();
  o.count = static_cast<int>(r.created.size());
  d.journey = std::move(r);
  d.journey_options = std::move(o);
}

std::vector<HubSample> hub_samples_from(const json& j) {
  std::vector<HubSample> out;
  for (const auto& one : j) {
    HubSample s;
    s.t_s = one.at("t_s").get<double>();
    for (const auto& f : hub_sample_fields()) {
      if (one.contains(f.name) && !one[f.name].is_null()) s.*f.field = one[f.name].get<double>();
    }
    out.push_back(s);
  }
  return out;
}

constexpr int kMaxTotalUsers = 1'000'000;  // --count's limit

// A report's text as a log line may carry it: control characters (terminal escapes) as '?'.
std::string printable_text(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

ShardInfo shard_info_from(const json& j) {
  ShardInfo s;
  s.index = j.at("index").get<int>();
  s.count = j.at("count").get<int>();
  s.total_count = j.at("total_count").get<int>();
  s.start_at = j.at("start_at").get<std::string>();
  s.start_late_s = j.at("start_late_s").get<double>();
  s.prefix = j.at("prefix").get<std::string>();
  // what no shard of this tool writes: refused before anything is sized by it
  if (s.count < 1 || s.count > kMaxShards) throw std::invalid_argument(fmt::format("shard count {} is not 1 to {}", s.count, kMaxShards));
  if (s.index < 0 || s.index >= s.count) throw std::invalid_argument(fmt::format("shard index {} of {} is not 0 to {}", s.index, s.count, s.count - 1));
  if (s.total_count < 0 || s.total_count > kMaxTotalUsers) throw std::invalid_argument(fmt::format("total count {} is not 0 to {}", s.total_count, kMaxTotalUsers));
  if (!std::isfinite(s.start_late_s) || s.start_late_s < 0) throw std::invalid_argument("start_late_s is not a time");
  try {
    validate_prefix(s.prefix);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("its prefix is not one this tool makes users with");
  }
  return s;
}

} // namespace

json capacity_json(const CapacityResult& c) {
  json stages = json::array();
  for (const auto& st : c.stages) {
    stages.push_back({{"rate_per_min", st.rate_per_min}, {"start_s", st.start_s}, {"duration_s", st.duration_s}, {"verdict", to_string(st.verdict)}});
  }
  return {{"stage_s", c.stage_s}, {"stay_s", c.stay_s}, {"reached_max", c.reached_max}, {"ended_by", c.ended_by}, {"thresholds", c.thresholds}, {"stages", stages}};
}

// The stages as a shard ran them; its students are the journey's (each names its stage).
CapacityResult capacity_from(const json& j, const JourneyResult& journey) {
  CapacityResult c;
  c.stage_s = j.at("stage_s").get<double>();
  c.stay_s = j.at("stay_s").get<double>();
  c.ended_by = j.value("ended_by", std::string());
  c.thresholds = j.value("thresholds", std::vector<std::string>());
  c.reached_max = j.at("reached_max").get<bool>();
  for (const auto& st : j.at("stages")) {
    CapacityStage stage;
    stage.rate_per_min = st.at("rate_per_min").get<double>();
    stage.start_s = st.at("start_s").get<double>();
    stage.duration_s = st.at("duration_s").get<double>();
    const std::string verdict = st.at("verdict").get<std::string>();
    for (const auto v : {StageVerdict::pending, StageVerdict::held, StageVerdict::failed, StageVerdict::interrupted, StageVerdict::cut}) {
      if (verdict == to_string(v)) stage.verdict = v;
    }
    c.stages.push_back(stage);
  }
  c.journey = journey;
  place_students(c);
  return c;
}

json run_data_json(const RunData& d) {
  json out{{"session_start_unix_s", d.session_start_unix_s},
           {"requested_users", d.requested_users},
           {"records", records_json(d.records)},
           {"stress", d.stress ? stress_json(*d.stress) : json(nullptr)},
           {"activity", d.activity ? activity_json(*d.activity) : json(nullptr)},
           {"journey", d.journey && d.journey_options ? journey_json(*d.journey, *d.journey_options) : json(nullptr)}};
  if (d.capacity) out["capacity"] = capacity_json(*d.capacity);
  return out;
}

ShardReport read_shard_report(const json& report) {
  check_report(report, "merge");
  if (!report.contains("shard") || !report["shard"].is_object() || !report.contains("samples") || !report["samples"].is_object()) {
    throw std::invalid_argument("not a shard's report: run the shards with --shard I/N (or --shards N in a Job) and --json");
  }
  try {
    ShardReport r;
    r.shard = shard_info_from(report.at("shard"));
    RunData& d = r.data;
    d.command = printable_text(report.at("command").get<std::string>());
    d.endpoint = printable_text(report.at("endpoint").get<std::string>());
    try {
      if (normalize_api_url(d.endpoint) != d.endpoint) throw std::invalid_argument("");
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("its endpoint is not a hub API URL as this tool writes it");
    }
    d.hub_version = printable_text(report.at("hub_version").get<std::string>());
    d.started_at = printable_text(report.at("started_at").get<std::string>());
    d.duration_s = report.at("duration_s").get<double>();
    if (!std::isfinite(d.duration_s) || d.duration_s < 0 || d.duration_s > 366 * 86400.0) throw std::invalid_argument("duration_s is not a run's length");
    const json& run = report.at("run");
    d.run.status = printable_text(report.at("status").get<std::string>());
    d.run.error = printable_text(report.at("error").get<std::string>());
    d.run.command_line = printable_text(run.at("command_line").get<std::string>());
    d.run.run_id = printable_text(run.at("run_id").get<std::string>());
    d.run.tool_version = printable_text(run.at("tool_version").get<std::string>());
    d.run.batch_size = run.at("batch_size").get<int>();
    d.run.shard = r.shard;
    const json& s = report.at("samples");
    d.session_start_unix_s = s.at("session_start_unix_s").get<double>();
    d.requested_users = s.at("requested_users").get<int>();
    d.records = records_from(s.at("records"));
    if (!s.at("stress").is_null()) d.stress = stress_from(s.at("stress"));
    if (!s.at("activity").is_null()) d.activity = activity_from(s.at("activity"));
    if (!s.at("journey").is_null()) {
      journey_from(s.at("journey"), d);
      r.options = s["journey"].at("options").dump();
    }
    if (s.contains("capacity") && s["capacity"].is_object() && d.journey) {
      d.capacity = capacity_from(s["capacity"], *d.journey);
      json rates = json::array();
      for (const auto& st : d.capacity->stages) rates.push_back(st.rate_per_min);
      r.options += " rates " + rates.dump() + " stage " + std::to_string(d.capacity->stage_s);  // shards of one search
    }
    // the hub's scrapes are in the report already, every one of them (hub.samples)
    if (!report.at("hub").is_null()) d.hub_samples = hub_samples_from(report["hub"].at("samples"));
    return r;
  } catch (const json::exception& e) {
    throw std::invalid_argument("an incomplete or damaged shard report (" + json_error_text(e) + ")");
  }
}

} // namespace hubstress
