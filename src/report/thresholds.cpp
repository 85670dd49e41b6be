#include "hubstress/report/thresholds.hpp"

#include "hubstress/duration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <utility>
#include <cmath>
#include <stdexcept>

namespace hubstress {

namespace {

enum class Family { time, rate, count };

struct MetricDef {
  std::string name;
  Family family;
};

constexpr const char* kStats[] = {"min", "p50", "p90", "p95", "p99", "max", "avg"};

// Every metric, in documentation order. The journey's come from journey_metrics(): a new step
// is a new set of metrics without an edit here.
const std::vector<MetricDef>& metric_defs() {
  static const std::vector<MetricDef> defs = [] {
    std::vector<MetricDef> out;
    for (const char* stat : kStats) out.push_back({std::string("spawn_") + stat, Family::time});
    for (const char* stat : kStats) {
      if (std::string_view(stat) != "min" && std::string_view(stat) != "avg") out.push_back({std::string("api_") + stat, Family::time});
    }
    for (const char* name : {"failure_rate", "ready_rate"}) out.push_back({name, Family::rate});
    for (const char* name : {"errors", "throttled"}) out.push_back({name, Family::count});
    for (const auto& m : journey_metrics()) {
      for (const char* stat : kStats) {
        const std::string name = std::string(m.name) + "_" + stat;  // spawn_* is already there
        if (std::none_of(out.begin(), out.end(), [&](const MetricDef& d) { return d.name == name; })) out.push_back({name, Family::time});
      }
    }
    out.push_back({"journey_failure_rate", Family::rate});
    out.push_back({"late_starts", Family::count});
    return out;
  }();
  return defs;
}

// std::string, not const char*: assigning a literal here trips a GCC 12 -Wrestrict false positive
std::string unit_of(Family f) {
  switch (f) {
  case Family::time: return "s";
  case Family::rate: return "%";
  case Family::count: return "";
  }
  return "";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  std::string steps;
  for (const auto& m : journey_metrics()) steps += (steps.empty() ? "" : ", ") + std::string(m.name);
  throw std::invalid_argument(fmt::format("bad threshold '{}': {} (format METRIC<NUMBER[UNIT] with <, <=, >, >=; "
                                          "e.g. spawn_p95<90s, failure_rate<1%; metrics: spawn_STAT, api_STAT, failure_rate, "
                                          "ready_rate, errors, throttled; journey: STEP_STAT, journey_failure_rate, late_starts; "
                                          "STAT: min, p50, p90, p95, p99, max, avg (api_: no min, avg); STEP: {})",
                                          text, why, steps));
}

bool compare(double actual, ThresholdOp op, double limit) {
  switch (op) {
  case ThresholdOp::less: return actual < limit;
  case ThresholdOp::less_equal: return actual <= limit;
  case ThresholdOp::greater: return actual > limit;
  case ThresholdOp::greater_equal: return actual >= limit;
  }
  return false;
}

struct Measured {
  double value = 0;
  bool has_data = false;
};

Measured from_distribution(const Distribution& d, std::string_view stat) {
  if (d.count == 0) return {};
  double v = 0;
  if (stat == "min") v = d.min;
  else if (stat == "p50") v = d.p50;
  else if (stat == "p90") v = d.p90;
  else if (stat == "p95") v = d.p95;
  else if (stat == "p99") v = d.p99;
  else if (stat == "max") v = d.max;
  else if (stat == "avg") v = d.mean;
  return {v, true};
}

// The stats of one kind of call, or null when the run made none.
const ApiStats* api_of(const Summary& s, const std::string& kind) {
  if (kind.empty()) return &s.api_all;
  for (const auto& a : s.api) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

Measured measure(std::string_view metric, const std::string& kind, const Summary& s) {
  if (metric == "journey_failure_rate") {
    if (!s.journey || s.journey->students == 0) return {};
    return {s.journey->failure_rate_pct, true};
  }
  if (metric == "late_starts") {
    if (!s.journey) return {};
    return {static_cast<double>(s.journey->late_starts), true};
  }
  for (const auto& m : journey_metrics()) {
    const std::string_view name(m.name);
    if (metric.size() <= name.size() + 1 || metric.substr(0, name.size()) != name || metric[name.size()] != '_') continue;
    const std::string_view stat = metric.substr(name.size() + 1);
    if (std::find(std::begin(kStats), std::end(kStats), stat) == std::end(kStats)) continue;  // ready_rate is not a step's
    // spawn_*: the journey's spawn step in a journey, spawn-to-ready in a stress-test
    if (!s.journey) break;
    const StepStats* step = find_step(*s.journey, name);
    return step ? from_distribution(step->seconds, stat) : Measured{};
  }
  if (metric.rfind("spawn_", 0) == 0) {
    if (!s.spawn) return {};
    return from_distribution(s.spawn->ready_s, metric.substr(6));
  }
  if (metric.rfind("api_", 0) == 0) {
    const ApiStats* api = api_of(s, kind);
    return api ? from_distribution(api->latency_s, metric.substr(4)) : Measured{};
  }
  if (metric == "failure_rate" || metric == "ready_rate") {
    if (!s.spawn || s.spawn->servers == 0) return {};
    return {metric == "ready_rate" ? s.spawn->ready_rate_pct : s.spawn->failure_rate_pct, true};
  }
  if (metric == "errors") {
    const ApiStats* api = api_of(s, kind);
    return {api ? static_cast<double>(api->errors) : 0.0, true};  // no call of that kind: no error either
  }
  if (metric == "throttled") {
    // every 429 to a start request is also a final answer in the records; the max covers a Summary built without records
    return {static_cast<double>(std::max<std::size_t>(s.throttle.answers_429, static_cast<std::size_t>(std::max(s.throttle.start_429, 0)))),
            true};
  }
  return {};
}

const MetricDef* find_metric(std::string_view name) {
  for (const auto& m : metric_defs()) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

// The kinds of call a command makes (where each is built: the admin's clean-up stops servers in
// every command; a journey's students log in only with --auth form, and have tokens minted only
// with --auth token).
std::vector<ApiKind> kinds_made(std::string_view command, std::string_view auth) {
  std::vector<ApiKind> kinds{ApiKind::version,     ApiKind::list_users,  ApiKind::create_users, ApiKind::get_user,
                             ApiKind::stop_server, ApiKind::delete_user, ApiKind::metrics,      ApiKind::other};
  if (command == "stress-test") kinds.insert(kinds.end(), {ApiKind::start_server, ApiKind::progress});
  if (command == "activity-stress-test") kinds.push_back(ApiKind::activity);
  if (command == "journey" || command == "capacity") {
    kinds.insert(kinds.end(), {ApiKind::start_server, ApiKind::progress, ApiKind::open_server, ApiKind::start_kernel,
                               ApiKind::kernel_socket, ApiKind::delete_kernel});
    if (auth != "form") kinds.push_back(ApiKind::create_token);
    if (auth != "token") kinds.insert(kinds.end(), {ApiKind::login_page, ApiKind::login});
  }
  std::sort(kinds.begin(), kinds.end());
  return kinds;
}

// The journey step `metric` is a statistic of ("kernel" of "kernel_p95"), or "".
std::string step_of(std::string_view metric) {
  for (const auto& m : journey_metrics()) {
    const std::string_view name(m.name);
    if (metric.size() <= name.size() + 1 || metric.substr(0, name.size()) != name || metric[name.size()] != '_') continue;
    if (std::find(std::begin(kStats), std::end(kStats), metric.substr(name.size() + 1)) != std::end(kStats)) return std::string(name);
  }
  return {};
}

// `t` with another metric in its place: "failure_rate<1%" -> "journey_failure_rate<1%".
std::string renamed(const Threshold& t, std::string_view metric) { return std::string(metric) + t.text.substr(t.metric.size()); }

// `t`, a rate of servers that became ready, as the rate of journeys that failed: "ready_rate>=99%" -> "journey_failure_rate<=1%".
std::string as_journey_failure_rate(const Threshold& t) {
  const char* op = t.op == ThresholdOp::less ? ">" : t.op == ThresholdOp::less_equal ? ">=" : t.op == ThresholdOp::greater ? "<" : "<=";
  return fmt::format("journey_failure_rate{}{:g}%", op, 100 - t.limit);
}

[[noreturn]] void unmeasured(const Threshold& t, std::string_view command, std::string_view why, const std::string& instead) {
  throw std::invalid_argument(fmt::format("{} never measures '{}' ({}): {}", command, t.text, why, instead));
}

} // namespace

void check_measured(const Threshold& t, std::string_view command, std::string_view auth) {
  const bool journeys = command == "journey" || command == "capacity";
  if (!journeys && command != "stress-test" && command != "activity-stress-test") return;
  const std::string& m = t.metric;
  const std::string step = step_of(m);
  const bool of_calls = m.rfind("api_", 0) == 0 || m == "errors" || m == "throttled";
  const bool of_journeys = !step.empty() || m == "journey_failure_rate" || m == "late_starts";
  const bool of_servers = m.rfind("spawn_", 0) == 0 || m == "failure_rate" || m == "ready_rate";
  constexpr const char* kStressMetrics = "its metrics are spawn_STAT (spawn-to-ready), api_STAT, failure_rate, ready_rate, errors, throttled";
  if (command == "capacity" && !of_journeys) {
    const std::string instead = m == "failure_rate" || m == "ready_rate"
                                    ? "use '" + (m == "ready_rate" ? as_journey_failure_rate(t) : renamed(t, "journey_failure_rate")) + "'"
                                    : "its metrics are STEP_STAT (time_to_first_result_p95, ready_p95, ...), journey_failure_rate, late_starts";
    throw std::invalid_argument(fmt::format("capacity judges each stage by its students' journeys, not by '{}': {}", t.text, instead));
  }
  if (command == "journey" && (m == "failure_rate" || m == "ready_rate")) {
    unmeasured(t, command, "the servers of a stress-test",
               "use '" + (m == "ready_rate" ? as_journey_failure_rate(t) : renamed(t, "journey_failure_rate")) + "'");
  }
  if (command == "stress-test" && of_journeys && m.rfind("spawn_", 0) != 0) {
    if (m == "journey_failure_rate") unmeasured(t, command, "the students of a journey", "use '" + renamed(t, "failure_rate") + "'");
    if (step == "ready") unmeasured(t, command, "a journey's step", "use '" + renamed(t, "spawn_" + m.substr(6)) + "' (spawn-to-ready)");
    unmeasured(t, command, step.empty() ? "the students of a journey" : "a journey's step", kStressMetrics);
  }
  if (command == "activity-stress-test" && (of_journeys || of_servers)) {
    unmeasured(t, command, "it starts no servers and no journeys", "its metrics are api_STAT, errors, throttled, e.g. 'api_p95{kind:activity}<1s'");
  }
  if (!t.kind.empty() && of_calls) {
    const auto kinds = kinds_made(command, auth);
    if (std::none_of(kinds.begin(), kinds.end(), [&](ApiKind k) { return t.kind == to_string(k); })) {
      std::string made;
      for (const ApiKind k : kinds) made += (made.empty() ? "" : ", ") + std::string(to_string(k));
      const std::string who = auth.empty() || !journeys ? std::string(command) : fmt::format("{} --auth {}", command, auth);
      throw std::invalid_argument(fmt::format("{} makes no '{}' calls: '{}' would measure nothing (its kinds: {})", who, t.kind, t.text, made));
    }
  }
}

const std::vector<std::string>& threshold_metrics() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& m : metric_defs()) out.push_back(m.name);
    return out;
  }();
  return names;
}

Threshold parse_threshold(std::string_view input) {
  const std::string_view text = trim(input);
  if (text.empty()) bad(text, "it is empty");
  std::size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
  const std::string_view name = text.substr(0, i);
  if (name.empty()) bad(text, "it does not start with a metric name");
  const MetricDef* def = find_metric(name);
  if (!def) bad(text, fmt::format("unknown metric '{}'", name));

  std::string_view rest = trim(text.substr(i));
  Threshold t;
  t.text = std::string(text);
  t.metric = std::string(name);
  if (!rest.empty() && rest.front() == '{') {
    const auto close = rest.find('}');
    if (close == std::string_view::npos) bad(text, "a '{' without its '}'");
    const std::string_view tag = trim(rest.substr(1, close - 1));
    if (name.rfind("api_", 0) != 0 && name != "errors") bad(text, fmt::format("{} takes no {{kind:...}}; api_* and errors do", name));
    if (tag.rfind("kind:", 0) != 0) bad(text, "expected {kind:NAME}, e.g. api_p95{kind:stop server}<1s");
    t.kind = std::string(trim(tag.substr(5)));
    std::string kinds;
    bool known = false;
    for (std::size_t k = 0; k < kApiKindCount; ++k) {
      const std::string kind = to_string(static_cast<ApiKind>(k));
      known = known || kind == t.kind;
      kinds += (kinds.empty() ? "" : ", ") + kind;
    }
    if (!known) bad(text, fmt::format("unknown kind '{}' (kinds: {})", t.kind, kinds));
    rest = trim(rest.substr(close + 1));
  }
  // two-character operators first, so "<=" is not read as "<" followed by "=..."
  static constexpr std::pair<std::string_view, ThresholdOp> kOps[] = {
      {"<=", ThresholdOp::less_equal}, {">=", ThresholdOp::greater_equal}, {"<", ThresholdOp::less}, {">", ThresholdOp::greater}};
  const auto op = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& o) { return rest.substr(0, o.first.size()) == o.first; });
  if (op == std::end(kOps)) bad(text, fmt::format("expected <, <=, > or >= after '{}'", name));
  t.op = op->second;
  rest.remove_prefix(op->first.size());

  rest = trim(rest);
  double number = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), number, std::chars_format::fixed);
  if (ec != std::errc() || end == rest.data() || !std::isfinite(number)) bad(text, "expected a number after the operator");
  const std::string_view unit = trim(rest.substr(static_cast<std::size_t>(end - rest.data())));

  switch (def->family) {
  case Family::time:  // the units of every DURATION option: "<90s", "<500ms", "<2m", "<2min", "<1h"
    if (const auto seconds = duration_unit_seconds(unit)) number *= *seconds;
    else bad(text, fmt::format("unit '{}' does not fit {} (a duration: {})", unit, name, kDurationUnits));
    break;
  case Family::rate:
    if (!unit.empty() && unit != "%") bad(text, fmt::format("unit '{}' does not fit {} (use %)", unit, name));
    break;
  case Family::count:
    if (!unit.empty()) bad(text, fmt::format("{} is a count and takes no unit, not '{}'", name, unit));
    break;
  }
  t.limit = number;
  return t;
}

ThresholdResult evaluate(const Threshold& threshold, const Summary& summary) {
  ThresholdResult r;
  r.text = threshold.text;
  r.metric = threshold.metric;
  r.limit = threshold.limit;
  const MetricDef* def = find_metric(threshold.metric);
  if (def) r.unit = unit_of(def->family);
  const Measured m = def ? measure(threshold.metric, threshold.kind, summary) : Measured{};
  r.actual = m.value;
  r.has_data = m.has_data;
  r.passed = m.has_data && compare(m.value, threshold.op, threshold.limit);
  return r;
}

std::vector<ThresholdResult> evaluate_all(const std::vector<Threshold>& thresholds, const Summary& summary) {
  std::vector<ThresholdResult> out;
  out.reserve(thresholds.size());
  for (const auto& t : thresholds) out.push_back(evaluate(t, summary));
  return out;
}

bool all_passed(const std::vector<ThresholdResult>& results) {
  return std::all_of(results.begin(), results.end(), [](const ThresholdResult& r) { return r.passed; });
}

std::string format_threshold_result(const ThresholdResult& r) {
  const char* verdict = r.passed ? "PASS" : "FAIL";
  if (!r.has_data) return fmt::format("{} {} (no data)", verdict, r.text);
  if (r.unit.empty()) return fmt::format("{} {} (actual {})", verdict, r.text, r.actual);
  return fmt::format("{} {} (actual {:.3f} {})", verdict, r.text, r.actual, r.unit);
}

} // namespace hubstress
