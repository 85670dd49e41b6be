#include "hubstress/report/summary.hpp"

#include "common.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <stdexcept>

namespace hubstress {

namespace {

std::vector<std::string_view> path_segments(std::string_view route) {
  // an absolute URL: keep the path only
  if (const auto scheme = route.find("://"); scheme != std::string_view::npos) {
    const auto slash = route.find('/', scheme + 3);
    route = slash == std::string_view::npos ? std::string_view{} : route.substr(slash);
  }
  route = route.substr(0, route.find_first_of("?#"));
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start < route.size()) {
    auto slash = route.find('/', start);
    if (slash == std::string_view::npos) slash = route.size();
    if (slash > start) parts.push_back(route.substr(start, slash - start));
    start = slash + 1;
  }
  // a path under the API URL as the hub sees it: /hub/api/users -> users
  if (parts.size() >= 2 && parts[0] == "hub" && parts[1] == "api") parts.erase(parts.begin(), parts.begin() + 2);
  return parts;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The credentials, query and fragment of a URL never go into a report.
std::string clean_endpoint(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const auto host_start = scheme + 3;
  const auto path_start = std::min(url.find('/', host_start), url.size());
  const auto at = url.substr(host_start, path_start - host_start).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, host_start)) + std::string(url.substr(host_start + at + 1));
}

std::string error_key(const RequestRecord& r) {
  if (r.outcome != Outcome::ok) return to_string(r.outcome);
  return std::to_string(r.status);
}

// Stats of one group of records.
class ApiAccumulator {
public:
  void add(const RequestRecord& r) {
    ++stats_.count;
    stats_.retries += static_cast<std::size_t>(std::max(r.retries, 0));
    if (is_error(r)) {
      ++stats_.errors;
      ++stats_.errors_by_status[error_key(r)];
    }
    if (r.outcome == Outcome::ok) latencies_.push_back(r.latency_s);
  }
  ApiStats finish(std::string kind) {
    stats_.kind = std::move(kind);
    stats_.latency_s = summarize(latencies_);
    return stats_;
  }
  bool empty() const { return stats_.count == 0; }

private:
  ApiStats stats_;
  std::vector<double> latencies_;
};

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
  if (what.empty()) return text;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + with.size())) {
    text.replace(pos, what.size(), with);
  }
  return text;
}

std::vector<FailureGroup> group_failures(const std::vector<SpawnRecord>& spawns) {
  std::vector<std::pair<std::string, std::string>> failures;
  for (const auto& s : spawns) {
    if (s.state != SpawnState::ready) failures.emplace_back(s.user, s.reason.empty() ? std::string(to_string(s.state)) : s.reason);
  }
  return report_detail::group_reasons(failures);
}

SpawnSummary summarize_spawns(const StressResult& stress) {
  SpawnSummary out;
  out.histogram = make_spawn_histogram();
  out.servers = stress.spawns.size();
  std::vector<double> ready_s;
  for (const auto& s : stress.spawns) {
    switch (s.state) {
    case SpawnState::ready:
      ++out.ready;
      ready_s.push_back(s.ready_after_s);
      out.histogram.add(s.ready_after_s);
      if (s.requested_at_s >= 0 && s.ready_after_s >= 0) out.ready_over_time.push_back({s.requested_at_s + s.ready_after_s, 0});
      break;
    case SpawnState::failed: ++out.failed; break;
    case SpawnState::timed_out: ++out.timed_out; break;
    case SpawnState::not_started:
    case SpawnState::requested: ++out.unfinished; break;
    }
  }
  if (out.servers > 0) {
    const auto servers = static_cast<double>(out.servers);
    out.ready_rate_pct = static_cast<double>(out.ready) / servers * 100.0;
    out.failure_rate_pct = static_cast<double>(out.servers - out.ready) / servers * 100.0;
  }
  out.ready_s = summarize(ready_s);
  out.failures = group_failures(stress.spawns);
  std::sort(out.ready_over_time.begin(), out.ready_over_time.end(),
            [](const ReadyPoint& a, const ReadyPoint& b) { return a.t_s < b.t_s; });
  for (std::size_t i = 0; i < out.ready_over_time.size(); ++i) out.ready_over_time[i].ready = i + 1;
  std::vector<std::pair<double, int>> changes;  // +1 at a start request, -1 when the spawn ended
  for (const auto& s : stress.spawns) {
    if (s.requested_at_s < 0) continue;
    changes.emplace_back(s.requested_at_s, +1);
    if (s.ended_at_s >= 0) changes.emplace_back(s.ended_at_s, -1);
  }
  std::stable_sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  long pending = 0;
  for (const auto& [t, d] : changes) {
    pending += d;
    out.pending_over_time.push_back({t, static_cast<std::size_t>(std::max(pending, 0L))});
  }
  return out;
}

std::vector<LatencyBucket> latency_over_time(const std::vector<RequestRecord>& records) {
  struct Second {
    std::size_t count = 0, errors = 0;
    std::vector<double> latencies;
  };
  std::map<long, Second> seconds;
  for (const auto& r : records) {
    const double start = std::isfinite(r.start_s) ? std::max(r.start_s, 0.0) : 0.0;
    Second& s = seconds[static_cast<long>(std::floor(start))];
    ++s.count;
    if (is_error(r)) ++s.errors;
    if (r.outcome == Outcome::ok) s.latencies.push_back(r.latency_s);
  }
  std::vector<LatencyBucket> out;
  out.reserve(seconds.size());
  for (const auto& [t, s] : seconds) out.push_back({t, s.count, s.errors, percentile(s.latencies, 95)});
  return out;
}

std::optional<double> delta_mean(const std::optional<double>& sum0, const std::optional<double>& count0,
                                 const std::optional<double>& sum1, const std::optional<double>& count1) {
  if (!sum0 || !count0 || !sum1 || !count1) return std::nullopt;
  const double n = *count1 - *count0;
  if (!(n > 0)) return std::nullopt;
  return (*sum1 - *sum0) / n;
}

HubSummary summarize_hub(std::vector<HubSample> samples) {
  std::stable_sort(samples.begin(), samples.end(), [](const HubSample& a, const HubSample& b) { return a.t_s < b.t_s; });
  HubSummary out;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const HubSample& s = samples[i];
    HubPoint p{s.t_s, std::nullopt, s.resident_memory_bytes, s.running_servers, std::nullopt};
    if (i > 0) {
      const HubSample& prev = samples[i - 1];
      const bool restarted = prev.start_time_s && s.start_time_s && *prev.start_time_s != *s.start_time_s;
      if (restarted) ++out.restarts;
      const double dt = s.t_s - prev.t_s;
      if (!restarted && dt > 0 && prev.cpu_seconds_total && s.cpu_seconds_total && *s.cpu_seconds_total >= *prev.cpu_seconds_total) {
        p.cpu_pct = (*s.cpu_seconds_total - *prev.cpu_seconds_total) / dt * 100.0;
      }
      if (!restarted) p.event_loop_interval_s = delta_mean(prev.event_loop_sum_s, prev.event_loop_count, s.event_loop_sum_s, s.event_loop_count);
    }
    if (p.cpu_pct) out.peak_cpu_pct = std::max(out.peak_cpu_pct.value_or(*p.cpu_pct), *p.cpu_pct);
    if (p.memory_bytes) out.peak_memory_bytes = std::max(out.peak_memory_bytes.value_or(*p.memory_bytes), *p.memory_bytes);
    out.series.push_back(p);
  }
  if (samples.size() >= 2 && out.restarts == 0) {
    const HubSample& a = samples.front();
    const HubSample& b = samples.back();
    out.request_mean_s = delta_mean(a.request_duration_sum_s, a.request_count, b.request_duration_sum_s, b.request_count);
    out.spawn_mean_s = delta_mean(a.spawn_duration_sum_s, a.spawn_count, b.spawn_duration_sum_s, b.spawn_count);
    out.proxy_add_mean_s = delta_mean(a.proxy_add_sum_s, a.proxy_add_count, b.proxy_add_sum_s, b.proxy_add_count);
    out.event_loop_mean_s = delta_mean(a.event_loop_sum_s, a.event_loop_count, b.event_loop_sum_s, b.event_loop_count);
  }
  out.samples = std::move(samples);
  return out;
}

} // namespace

std::vector<FailureGroup> report_detail::group_reasons(const std::vector<std::pair<std::string, std::string>>& failures) {
  std::vector<FailureGroup> groups;
  for (const auto& [user, why] : failures) {
    const std::string reason = replace_all(why, user, "{user}");
    auto it = std::find_if(groups.begin(), groups.end(), [&](const FailureGroup& g) { return g.reason == reason; });
    if (it == groups.end()) {
      groups.push_back({reason, 0, {}});
      it = std::prev(groups.end());
    }
    ++it->count;
    if (it->examples.size() < 3) it->examples.push_back(user);
  }
  std::stable_sort(groups.begin(), groups.end(), [](const FailureGroup& a, const FailureGroup& b) { return a.count > b.count; });
  return groups;
}

ApiKind classify_request(std::string_view method_in, std::string_view route) {
  const std::string method = upper(method_in);
  for (std::size_t k = 0; k + 1 < kApiKindCount; ++k) {  // a route template of the table names its kind
    if (method == kApiKinds[k].method && route == kApiKinds[k].route) return static_cast<ApiKind>(k);
  }
  const auto p = path_segments(route);
  const bool get = method == "GET", post = method == "POST", del = method == "DELETE";
  if (p.empty()) return get ? ApiKind::version : ApiKind::other;
  if (p.size() == 2 && p[0] == "hub" && p[1] == "metrics") return get ? ApiKind::metrics : ApiKind::other;
  if (p[0] != "users") return ApiKind::other;
  if (p.size() == 1) return get ? ApiKind::list_users : post ? ApiKind::create_users : ApiKind::other;
  if (p.size() == 2) return get ? ApiKind::get_user : del ? ApiKind::delete_user : ApiKind::other;
  if (p.size() == 3 && p[2] == "server") return post ? ApiKind::start_server : del ? ApiKind::stop_server : ApiKind::other;
  if (p.size() == 3 && p[2] == "activity") return post ? ApiKind::activity : ApiKind::other;
  if (p.size() == 3 && p[2] == "tokens") return post ? ApiKind::create_token : ApiKind::other;
  if (p.size() == 4 && p[2] == "server" && p[3] == "progress") return get ? ApiKind::progress : ApiKind::other;
  return ApiKind::other;
}

bool is_error(const RequestRecord& record) {
  // 101 is a WebSocket handshake that worked (a student's kernel channels)
  if (record.outcome == Outcome::ok && record.status == 101) return false;
  return record.outcome != Outcome::ok || record.status < 200 || record.status >= 300;
}

void Histogram::add(double value_s) {
  if (std::isnan(value_s)) return;
  if (counts.size() != upper_bounds_s.size() + 1) counts.resize(upper_bounds_s.size() + 1, 0);
  const auto it = std::lower_bound(upper_bounds_s.begin(), upper_bounds_s.end(), value_s);
  ++counts[static_cast<std::size_t>(it - upper_bounds_s.begin())];
}

std::size_t Histogram::total() const {
  std::size_t n = 0;
  for (auto c : counts) n += c;
  return n;
}

const std::vector<double>& spawn_histogram_bounds() {
  static const std::vector<double> bounds{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300};
  return bounds;
}

Histogram make_histogram(std::vector<double> upper_bounds_s) {
  for (std::size_t i = 0; i < upper_bounds_s.size(); ++i) {
    if (!std::isfinite(upper_bounds_s[i]) || (i > 0 && !(upper_bounds_s[i] > upper_bounds_s[i - 1]))) {
      throw std::invalid_argument("histogram bucket edges must be finite and strictly ascending");
    }
  }
  Histogram h;
  h.counts.assign(upper_bounds_s.size() + 1, 0);
  h.upper_bounds_s = std::move(upper_bounds_s);
  return h;
}

Histogram make_spawn_histogram() { return make_histogram(spawn_histogram_bounds()); }

Histogram merge(const Histogram& a, const Histogram& b) {
  if (a.upper_bounds_s != b.upper_bounds_s) throw std::invalid_argument("cannot merge histograms with different bucket edges");
  Histogram out = make_histogram(a.upper_bounds_s);
  for (std::size_t i = 0; i < out.counts.size(); ++i) {
    out.counts[i] = (i < a.counts.size() ? a.counts[i] : 0) + (i < b.counts.size() ? b.counts[i] : 0);
  }
  return out;
}

namespace {

// The API table, the throttling count and the latency series, from every request's record.
void add_requests(Summary& s, const std::vector<RequestRecord>& records) {
  std::array<ApiAccumulator, kApiKindCount> kinds;
  ApiAccumulator all;
  for (const auto& r : records) {
    kinds[static_cast<std::size_t>(r.kind)].add(r);
    all.add(r);
    if (r.outcome == Outcome::ok && r.status == 429) ++s.throttle.answers_429;
  }
  for (std::size_t k = 0; k < kApiKindCount; ++k) {
    if (!kinds[k].empty()) s.api.push_back(kinds[k].finish(to_string(static_cast<ApiKind>(k))));
  }
  s.api_all = all.finish("all");
  s.latency_over_time = latency_over_time(records);
  for (std::size_t k = 0; k < kApiKindCount; ++k) {
    std::vector<RequestRecord> of_kind;
    for (const auto& r : records) {
      if (static_cast<std::size_t>(r.kind) == k) of_kind.push_back(r);
    }
    if (!of_kind.empty()) s.kinds_over_time.push_back({to_string(static_cast<ApiKind>(k)), latency_over_time(of_kind)});
  }
}

// The hub's own metrics, and each phase's peaks.
void add_hub(Summary& s, const std::vector<HubSample>& samples) {
  s.hub = summarize_hub(samples);
  // a scrape's CPU figure covers the time since the one before: it belongs to the phase it ends in
  for (const auto& phase : s.phases) {
    if (phase.start_s < 0) continue;
    HubSummary::PhasePeak peak{phase.name, std::nullopt, std::nullopt};
    for (const auto& p : s.hub->series) {
      if (p.t_s < phase.start_s || p.t_s > phase.start_s + phase.seconds) continue;
      if (p.cpu_pct) peak.cpu_pct = std::max(peak.cpu_pct.value_or(0.0), *p.cpu_pct);
      if (p.memory_bytes) peak.memory_bytes = std::max(peak.memory_bytes.value_or(0.0), *p.memory_bytes);
    }
    s.hub->phase_peaks.push_back(peak);
  }
}

} // namespace

Summary build_summary(const SummaryInputs& in) {
  Summary s;
  s.run = in.run;
  s.command = in.command;
  s.endpoint = clean_endpoint(in.endpoint);
  s.hub_version = in.hub_version;
  s.started_at = in.started_at;
  s.duration_s = in.duration_s;

  if (in.records) {
    add_requests(s, *in.records);
  } else {
    s.api_all.kind = "all";
  }

  if (in.stress || in.activity) {
    const auto created = in.stress ? in.stress->created.size() : in.activity->created.size();
    s.users = UsersCount{in.requested_users, static_cast<int>(created), std::nullopt, std::nullopt};
  }
  if (in.stress) {
    s.phases = in.stress->phases;
    s.spawn = summarize_spawns(*in.stress);
    for (const auto& p : in.stress->phases) {
      if (p.name == "spawn" && p.seconds > 0) s.spawn->ready_per_min = static_cast<double>(s.spawn->ready) / p.seconds * 60.0;
    }
    s.users->started = static_cast<int>(std::count_if(in.stress->spawns.begin(), in.stress->spawns.end(),
                                                       [](const SpawnRecord& r) { return r.state != SpawnState::not_started; }));
    s.users->ready = static_cast<int>(s.spawn->ready);
    s.throttle.start_429 = in.stress->spawn_stats.throttled;
    s.throttle.throttled_s = in.stress->spawn_stats.throttled_s;
    s.throttle.smallest_window = in.stress->spawn_stats.smallest_window;
  }

  if (in.activity) {
    const ActivityResult& a = *in.activity;
    s.activity = ActivitySummary{a.used.size(), a.workers, summarize(a.post_s), summarize(a.ping_s), a.post_errors, a.ping_errors, 0.0};
    if (in.records != nullptr) {
      double first = -1, last = -1;
      for (const auto& r : *in.records) {
        if (r.kind != ApiKind::activity) continue;
        if (first < 0 || r.start_s < first) first = r.start_s;
        last = std::max(last, r.start_s + r.total_s);
      }
      if (last > first && first >= 0) s.activity->updates_per_s = static_cast<double>(s.activity->post_s.count) / (last - first);
    }
  }

  if (in.journey && in.journey_options) {
    s.users = UsersCount{in.requested_users, static_cast<int>(in.journey->created.size()), std::nullopt, std::nullopt};
    s.phases = in.journey->phases;
    s.journey = summarize_journeys(*in.journey, *in.journey_options);
    s.users->started = static_cast<int>(find_step(*s.journey, "spawn")->seconds.count);
    s.users->ready = static_cast<int>(find_step(*s.journey, "ready")->seconds.count);
    s.throttle.start_429 = in.journey->spawn_stats.throttled;
    s.throttle.throttled_s = in.journey->spawn_stats.throttled_s;
  }

  if (in.hub_samples && !in.hub_samples->empty()) add_hub(s, *in.hub_samples);
  return s;
}

} // namespace hubstress
