#include "hubstress/scenarios/shard.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/watch.hpp"
#include "hubstress/log.hpp"
#include "hubstress/report/report.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <map>
#include <stdexcept>

namespace hubstress {

using nlohmann::json;

namespace {

int parse_int(std::string_view text, std::string_view what) {
  int value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) throw std::invalid_argument(std::string(what));
  return value;
}

void check_shard(const ShardSpec& s, std::string_view shown) {
  if (s.count < 1 || s.count > kMaxShards) {
    throw std::invalid_argument(fmt::format("{}: the number of shards must be 1 to {}", shown, kMaxShards));
  }
  if (s.index < 0 || s.index >= s.count) {
    throw std::invalid_argument(fmt::format("{}: the shard index counts from 0, as JOB_COMPLETION_INDEX does: 0 to {}",
                                            shown, s.count - 1));
  }
}

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
                        {"kernel_deleted", st.kernel_deleted}});
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

ShardInfo shard_info_from(const json& j) {
  ShardInfo s;
  s.index = j.at("index").get<int>();
  s.count = j.at("count").get<int>();
  s.total_count = j.at("total_count").get<int>();
  s.start_at = j.at("start_at").get<std::string>();
  s.start_late_s = j.at("start_late_s").get<double>();
  s.prefix = j.at("prefix").get<std::string>();
  return s;
}

// The span of a phase over every shard, on the merged axis; nothing when no shard had it.
std::optional<PhaseTime> merged_phase(const std::vector<std::vector<PhaseTime>>& per_shard, const std::vector<double>& shift,
                                      const std::string& name) {
  double start = INFINITY, end = -INFINITY;
  for (std::size_t i = 0; i < per_shard.size(); ++i) {
    for (const auto& p : per_shard[i]) {
      if (p.name != name || p.start_s < 0) continue;
      start = std::min(start, p.start_s + shift[i]);
      end = std::max(end, p.start_s + shift[i] + p.seconds);
    }
  }
  if (!(start <= end)) return std::nullopt;
  return PhaseTime{name, end - start, start};
}

std::vector<PhaseTime> merge_phases(const std::vector<std::vector<PhaseTime>>& per_shard, const std::vector<double>& shift) {
  std::vector<std::string> names;  // in the order the shards ran them
  for (const auto& phases : per_shard) {
    for (const auto& p : phases) {
      if (std::find(names.begin(), names.end(), p.name) == names.end()) names.push_back(p.name);
    }
  }
  std::vector<PhaseTime> out;
  for (const auto& name : names) {
    if (auto p = merged_phase(per_shard, shift, name)) out.push_back(*p);
  }
  return out;
}

// How far a time measured from a shard's `phase` moves to be measured from the merged one's.
double rebase(const std::vector<PhaseTime>& shard_phases, double shift, const std::vector<PhaseTime>& merged, const std::string& phase) {
  double own = -1, all = -1;
  for (const auto& p : shard_phases) {
    if (p.name == phase) own = p.start_s;
  }
  for (const auto& p : merged) {
    if (p.name == phase) all = p.start_s;
  }
  return own < 0 || all < 0 ? 0.0 : own + shift - all;
}

void moved(double& t, double by) {
  if (t >= 0) t += by;
}

std::string differs(const std::string& name, const std::string& first, const std::string& what, const std::string& theirs,
                    const std::string& ours) {
  return "merge: " + name + " is not of the same test as " + first + ": its " + what + " is " +
         (theirs.empty() ? "(none)" : theirs) + ", not " + (ours.empty() ? "(none)" : ours);
}

} // namespace

ShardSpec parse_shard(std::string_view text) {
  const std::string shown = "--shard " + std::string(text);
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) throw std::invalid_argument(shown + ": expected I/N, e.g. 0/4 for the first of four shards");
  ShardSpec s;
  s.index = parse_int(text.substr(0, slash), shown + ": expected I/N, e.g. 0/4 for the first of four shards");
  s.count = parse_int(text.substr(slash + 1), shown + ": expected I/N, e.g. 0/4 for the first of four shards");
  check_shard(s, shown);
  return s;
}

ShardSpec shard_from_job_index(int shards, const char* job_completion_index) {
  const std::string shown = "--shards " + std::to_string(shards);
  if (job_completion_index == nullptr || *job_completion_index == '\0') {
    throw std::invalid_argument(shown + " takes the shard's index from JOB_COMPLETION_INDEX (a pod of an Indexed Job), "
                                        "which is not set: use --shard I/N elsewhere");
  }
  ShardSpec s;
  s.count = shards;
  s.index = parse_int(job_completion_index, shown + ": JOB_COMPLETION_INDEX is not a number");
  check_shard(s, shown + " with JOB_COMPLETION_INDEX=" + job_completion_index);
  return s;
}

std::string to_string(const ShardSpec& shard) { return std::to_string(shard.index) + "/" + std::to_string(shard.count); }

int share_of(int total, const ShardSpec& shard) {
  return total / shard.count + (shard.index < total % shard.count ? 1 : 0);
}

NameSlot name_slot(const ShardSpec& shard) {
  const auto n = static_cast<std::uint64_t>(shard.count);
  return {(static_cast<std::uint64_t>(shard.index) + 1) % n, n};
}

UtcTime parse_utc_time(std::string_view text) {
  const std::string bad = "--start-at " + std::string(text) + ": expected a UTC time like 2026-11-27T20:30:00Z";
  std::string_view t = text;
  if (t.size() >= 6 && t.substr(t.size() - 6) == "+00:00") t.remove_suffix(6);
  else if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.remove_suffix(1);
  // fixed places: YYYY-MM-DD?HH:MM:SS, then an optional fraction of a second
  auto digits = [&](std::size_t at, std::size_t n) {
    int v = 0;
    if (at + n > t.size()) throw std::invalid_argument(bad);
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') throw std::invalid_argument(bad);
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  auto is = [&](std::size_t at, std::string_view chars) { return at < t.size() && chars.find(t[at]) != std::string_view::npos; };
  if (t.size() < 19 || !is(4, "-") || !is(7, "-") || !is(10, "Tt ") || !is(13, ":") || !is(16, ":")) throw std::invalid_argument(bad);
  const int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2), minute = digits(14, 2),
            second = digits(17, 2);
  double fraction = 0;
  if (t.size() > 19) {
    if (t[19] != '.' || t.size() == 20) throw std::invalid_argument(bad);
    double scale = 0.1;
    for (std::size_t i = 20; i < t.size(); ++i, scale /= 10) fraction += digits(i, 1) * scale;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw std::invalid_argument(bad);
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t whole = timegm(&tm);
  if (whole == static_cast<std::time_t>(-1) || tm.tm_mday != day) throw std::invalid_argument(bad);  // 2026-02-30
  return std::chrono::system_clock::from_time_t(whole) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(fraction));
}

std::string format_utc_time(UtcTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(t)), ms);
}

double unix_seconds(UtcTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

double wait_for_start(Session& session, UtcTime start_at) {
  const auto shown = format_utc_time(start_at);
  double left = std::chrono::duration<double>(start_at - std::chrono::system_clock::now()).count();
  if (session.dry_run()) {
    logger().info("[dry-run] would wait {:.1f} s, until --start-at {}", std::max(left, 0.0), shown);
    return 0;
  }
  if (left > 0) {
    logger().info("Waiting {:.1f} s for --start-at {}", left, shown);
    session.progress().phase = Phase::wait;
    while (left > 0) {
      if (session.interrupted()) throw Interrupted("interrupted while waiting for --start-at " + shown);
      session.pause(std::min(left, 0.5));
      left = std::chrono::duration<double>(start_at - std::chrono::system_clock::now()).count();
    }
  }
  const double late = std::max(-left, 0.0);
  if (late > kLateStart) {
    logger().warn("This shard began its load {:.1f} s after --start-at {}: the shards did not start together", late, shown);
  } else {
    logger().info("Load begins at --start-at {}", shown);
  }
  return late > kLateStart ? late : 0.0;
}

SummaryInputs summary_inputs(const RunData& d) {
  SummaryInputs in;
  in.command = d.command;
  in.endpoint = d.endpoint;
  in.hub_version = d.hub_version;
  in.started_at = d.started_at;
  in.duration_s = d.duration_s;
  in.records = &d.records;
  in.requested_users = d.requested_users;
  in.stress = d.stress ? &*d.stress : nullptr;
  in.activity = d.activity ? &*d.activity : nullptr;
  in.journey = d.journey ? &*d.journey : nullptr;
  in.journey_options = d.journey_options ? &*d.journey_options : nullptr;
  in.hub_samples = &d.hub_samples;
  in.run = d.run;
  return in;
}

json run_data_json(const RunData& d) {
  json out{{"session_start_unix_s", d.session_start_unix_s},
           {"requested_users", d.requested_users},
           {"records", records_json(d.records)},
           {"stress", d.stress ? stress_json(*d.stress) : json(nullptr)},
           {"activity", d.activity ? activity_json(*d.activity) : json(nullptr)},
           {"journey", d.journey && d.journey_options ? journey_json(*d.journey, *d.journey_options) : json(nullptr)}};
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
    d.command = report.at("command").get<std::string>();
    d.endpoint = report.at("endpoint").get<std::string>();
    d.hub_version = report.at("hub_version").get<std::string>();
    d.started_at = report.at("started_at").get<std::string>();
    d.duration_s = report.at("duration_s").get<double>();
    const json& run = report.at("run");
    d.run.status = report.at("status").get<std::string>();
    d.run.error = report.at("error").get<std::string>();
    d.run.command_line = run.at("command_line").get<std::string>();
    d.run.run_id = run.at("run_id").get<std::string>();
    d.run.tool_version = run.at("tool_version").get<std::string>();
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
    // the hub's scrapes are in the report already, every one of them (hub.samples)
    if (!report.at("hub").is_null()) d.hub_samples = hub_samples_from(report["hub"].at("samples"));
    return r;
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("an incomplete shard report (") + e.what() + ")");
  }
}

MergedRun merge_shards(const std::vector<ShardReport>& reports, const std::vector<std::string>& names) {
  if (reports.empty()) throw std::invalid_argument("merge: no reports");
  const ShardReport& first = reports.front();
  auto name_of = [&](std::size_t i) { return i < names.size() ? names[i] : "report " + std::to_string(i + 1); };
  std::map<int, std::size_t> by_index;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const ShardReport& r = reports[i];
    const auto check = [&](const std::string& what, const std::string& theirs, const std::string& ours) {
      if (theirs != ours) throw std::invalid_argument(differs(name_of(i), name_of(0), what, theirs, ours));
    };
    check("command", r.data.command, first.data.command);
    check("hub", r.data.endpoint, first.data.endpoint);
    // a shard that never reached the hub does not know its version: it is merged as a failed shard
    if (r.data.hub_version != "unknown" && first.data.hub_version != "unknown") {
      check("JupyterHub version", r.data.hub_version, first.data.hub_version);
    }
    check("--prefix", r.shard.prefix, first.shard.prefix);
    check("journey options", r.options, first.options);
    check("tool version", r.data.run.tool_version, first.data.run.tool_version);
    check("number of shards", std::to_string(r.shard.count), std::to_string(first.shard.count));
    check("--start-at", r.shard.start_at, first.shard.start_at);
    check("--count of the whole test", std::to_string(r.shard.total_count), std::to_string(first.shard.total_count));
    if (const auto [it, fresh] = by_index.emplace(r.shard.index, i); !fresh) {
      throw std::invalid_argument("merge: " + name_of(i) + " and " + name_of(it->second) + " are both shard " +
                                  to_string(ShardSpec{r.shard.index, r.shard.count}));
    }
  }

  MergedRun m;
  for (int i = 0; i < first.shard.count; ++i) {
    if (!by_index.count(i)) m.missing.push_back(i);
  }
  std::vector<const RunData*> shards;  // by index
  for (const auto& [index, i] : by_index) shards.push_back(&reports[i].data);
  double t0 = INFINITY;
  for (const RunData* d : shards) t0 = std::min(t0, d->session_start_unix_s);
  std::vector<double> shift;
  for (const RunData* d : shards) shift.push_back(d->session_start_unix_s - t0);

  RunData& out = m.data;
  out.command = first.data.command;
  out.endpoint = first.data.endpoint;
  out.hub_version = first.data.hub_version;
  for (const auto& r : reports) {
    if (r.data.hub_version != "unknown") out.hub_version = r.data.hub_version;
  }
  out.session_start_unix_s = t0;
  out.run.tool_version = first.data.run.tool_version;
  out.requested_users = first.shard.total_count;  // a missing shard's users were asked for too
  // the hub's own figures: one shard's scrapes (they all read the same hub), the one that saw the
  // longest; the other shards' scrapes are left out of the API figures too, as if one watched
  std::size_t widest = 0;
  double widest_span = -1;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const auto& s = shards[i]->hub_samples;
    const double span = s.empty() ? -1 : s.back().t_s - s.front().t_s;
    if (span > widest_span) widest = i, widest_span = span;
  }
  for (HubSample s : shards[widest]->hub_samples) {
    s.t_s += shift[widest];
    out.hub_samples.push_back(s);
  }
  auto watcher = [](const RequestRecord& r) { return r.kind == ApiKind::metrics || r.route == kHubHealthRoute; };

  std::vector<std::string> errors;
  bool failed = !m.missing.empty(), interrupted = false;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const RunData& d = *shards[i];
    if (shift[i] == 0) out.started_at = d.started_at;
    out.duration_s = std::max(out.duration_s, shift[i] + d.duration_s);
    out.run.batch_size += d.run.batch_size;
    failed = failed || d.run.status == "failed";
    interrupted = interrupted || d.run.status == "interrupted";
    if (!d.run.error.empty()) errors.push_back("shard " + std::to_string(d.run.shard->index) + ": " + d.run.error);
    for (RequestRecord r : d.records) {
      if (i != widest && watcher(r)) continue;
      r.start_s += shift[i];
      out.records.push_back(std::move(r));
    }
    ShardRow row;
    row.shard = *d.run.shard;
    row.run_id = d.run.run_id;
    row.status = d.run.status;
    row.error = d.run.error;
    row.users_created = static_cast<int>(d.stress ? d.stress->created.size() : d.journey ? d.journey->created.size()
                                                                       : d.activity ? d.activity->created.size() : 0);
    row.offset_s = shift[i];
    row.duration_s = d.duration_s;
    m.shards.push_back(std::move(row));
  }
  std::stable_sort(out.records.begin(), out.records.end(), [](const RequestRecord& a, const RequestRecord& b) { return a.start_s < b.start_s; });
  out.run.status = failed ? "failed" : interrupted ? "interrupted" : "complete";
  if (!m.missing.empty()) {
    std::string list;
    for (int i : m.missing) list += (list.empty() ? "" : ", ") + std::to_string(i);
    errors.insert(errors.begin(), fmt::format("{} of {} shards have no report (shard {})", m.missing.size(), first.shard.count, list));
  }
  for (const auto& e : errors) out.run.error += (out.run.error.empty() ? "" : "; ") + e;


  auto phases_of = [&](auto member) {
    std::vector<std::vector<PhaseTime>> all;
    for (const RunData* d : shards) all.push_back((*d).*member ? ((*d).*member)->phases : std::vector<PhaseTime>{});
    return all;
  };
  if (first.data.stress) {
    const auto per_shard = phases_of(&RunData::stress);
    StressResult s;
    s.phases = merge_phases(per_shard, shift);
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (!shards[i]->stress) continue;
      const StressResult& r = *shards[i]->stress;
      const double by = rebase(r.phases, shift[i], s.phases, "spawn");
      s.created.insert(s.created.end(), r.created.begin(), r.created.end());
      for (SpawnRecord rec : r.spawns) {
        moved(rec.requested_at_s, by);
        moved(rec.ended_at_s, by);
        s.spawns.push_back(std::move(rec));
      }
      s.spawn_stats.throttled += r.spawn_stats.throttled;
      s.spawn_stats.throttled_s += r.spawn_stats.throttled_s;
      s.spawn_stats.smallest_window += r.spawn_stats.smallest_window;  // the windows of the shards side by side
      s.deleted = s.deleted && r.deleted;
    }
    out.stress = std::move(s);
  }
  if (first.data.journey) {
    const auto per_shard = phases_of(&RunData::journey);
    JourneyResult j;
    j.phases = merge_phases(per_shard, shift);
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (!shards[i]->journey) continue;
      const JourneyResult& r = *shards[i]->journey;
      const double by = rebase(r.phases, shift[i], j.phases, "journeys");
      j.created.insert(j.created.end(), r.created.begin(), r.created.end());
      for (StudentRecord st : r.students) {
        st.scheduled_s += by;
        for (auto& step : st.steps) step.start_s += by;
        j.students.push_back(std::move(st));
      }
      j.interrupted = j.interrupted || r.interrupted;
      j.deleted = j.deleted && r.deleted;
      j.spawn_stats.throttled += r.spawn_stats.throttled;
      j.spawn_stats.throttled_s += r.spawn_stats.throttled_s;
    }
    std::stable_sort(j.students.begin(), j.students.end(),
                     [](const StudentRecord& a, const StudentRecord& b) { return a.scheduled_s < b.scheduled_s; });
    out.journey = std::move(j);
    out.journey_options = first.data.journey_options;
    out.journey_options->count = static_cast<int>(out.journey->created.size());
  }
  if (first.data.activity) {
    ActivityResult a;
    for (const RunData* d : shards) {
      if (!d->activity) continue;
      const ActivityResult& r = *d->activity;
      a.used.insert(a.used.end(), r.used.begin(), r.used.end());
      a.created.insert(a.created.end(), r.created.begin(), r.created.end());
      a.post_s.insert(a.post_s.end(), r.post_s.begin(), r.post_s.end());
      a.ping_s.insert(a.ping_s.end(), r.ping_s.begin(), r.ping_s.end());
      a.post_errors += r.post_errors;
      a.ping_errors += r.ping_errors;
      a.per_user.insert(r.per_user.begin(), r.per_user.end());
      a.workers += r.workers;
      a.deleted = a.deleted && r.deleted;
    }
    out.activity = std::move(a);
  }
  return m;
}

} // namespace hubstress
