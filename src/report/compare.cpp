// compare: reads two reports, lists their settings, and judges every figure's change: it follows
// from settings that differ, it lies within the noise of its sample size, or it is real.
#include "hubstress/report/compare.hpp"

#include "compare_parts.hpp"

#include "hubstress/model/stats.hpp"
#include "hubstress/report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace hubstress {

using nlohmann::json;

const char* const kCompareNoiseRule =
    "A percentile of n values is within noise when either run's value lies inside the other run's 95 % confidence "
    "interval of that percentile (distribution-free: order statistics, binomial; the values at those ranks read from "
    "the report's min, p50, p90, p95, p99 and max). A rate (failures, errors, servers ready, late starts) is within noise when "
    "either run's rate lies inside the other's 95 % Wilson interval. A max is one value: never more than noise. A "
    "figure without a sample size (hub peaks and means, 429s) is within noise when it changed by less than 10 %. "
    "Counts and the duration that follow from settings that differ are marked so, not judged.";

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNoSampleNoise = 10.0;  // percent: a figure without a sample size is noise below this change

std::optional<double> number_at(const json& doc, const std::string& pointer) {
  const json::json_pointer p(pointer);
  if (!doc.contains(p)) return std::nullopt;
  const json& v = doc.at(p);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

std::string text_at(const json& doc, const std::string& pointer) {
  const json::json_pointer p(pointer);
  return doc.contains(p) && doc.at(p).is_string() ? doc.at(p).get<std::string>() : std::string();
}

json object_at(const json& doc, const std::string& pointer) {
  if (pointer.empty() || pointer.front() != '/') return json::object();
  const json::json_pointer p(pointer);
  return doc.contains(p) && doc.at(p).is_object() ? doc.at(p) : json::object();
}

std::string title(const json& r) {
  std::string t = text_at(r, "/command") + " at " + text_at(r, "/started_at") + ", JupyterHub " + text_at(r, "/hub_version");
  if (!text_at(r, "/status").empty()) t += ", status " + text_at(r, "/status");
  if (!text_at(r, "/verdict/result").empty()) t += ", verdict " + text_at(r, "/verdict/result");
  if (!text_at(r, "/capacity/line").empty()) t += "\n   capacity: " + text_at(r, "/capacity/line");
  return t;
}

// ---- settings ----

// What a setting moves: the amount of work (so counts and the duration follow it) or nothing counted.
enum class Moves { nothing, load };

struct SettingSpec {
  const char* name;
  Moves moves;
  std::string (*read)(const json&);
};

std::string seconds_at(const json& r, const char* pointer) {
  const auto v = number_at(r, pointer);
  return v ? fmt::format("{:g} s", *v) : "-";
}
std::string positive_at(const json& r, const char* pointer, const char* unit = "") {
  const auto v = number_at(r, pointer);
  return v && *v > 0 ? fmt::format("{:g}{}", *v, unit) : "-";
}
std::string texts_in(const json& r, const char* array, const char* key) {
  const json::json_pointer p(array);
  if (!r.contains(p) || !r.at(p).is_array()) return "-";
  std::string out;
  for (const auto& item : r.at(p)) {
    const json& v = key[0] ? (item.contains(key) ? item[key] : json()) : item;
    if (v.is_string()) out += (out.empty() ? "" : ", ") + v.get<std::string>();
    if (v.is_number()) out += (out.empty() ? "" : ", ") + fmt::format("{:g}/min", v.get<double>());
  }
  return out.empty() ? "-" : out;
}

// Every setting a report carries, in the order shown. "-": the report does not carry it (or it does not apply).
const std::array<SettingSpec, 19>& setting_specs() {
  static const std::array<SettingSpec, 19> specs{{
      {"endpoint", Moves::nothing, [](const json& r) { return text_at(r, "/endpoint"); }},
      {"JupyterHub", Moves::nothing, [](const json& r) { return text_at(r, "/hub_version"); }},
      {"tool version", Moves::nothing, [](const json& r) { return text_at(r, "/run/tool_version"); }},
      {"count", Moves::load, [](const json& r) { return positive_at(r, "/users/requested"); }},
      {"batch size (-b)", Moves::load, [](const json& r) { return positive_at(r, "/run/batch_size"); }},
      {"workers", Moves::load, [](const json& r) { return positive_at(r, "/activity/workers"); }},
      {"auth", Moves::load, [](const json& r) { return text_at(r, "/journey/auth"); }},
      {"arrival", Moves::load, [](const json& r) { return text_at(r, "/journey/arrival"); }},
      {"ramp-up", Moves::load, [](const json& r) { return r.contains("capacity") && !r["capacity"].is_null() ? "-" : seconds_at(r, "/journey/ramp_up_s"); }},
      {"arrival rate", Moves::load, [](const json& r) { return r.contains("capacity") && !r["capacity"].is_null() ? "-" : positive_at(r, "/journey/rate_per_min", "/min"); }},
      {"cells", Moves::load, [](const json& r) { return positive_at(r, "/journey/cells"); }},
      {"think", Moves::load, [](const json& r) { return seconds_at(r, "/journey/think_s"); }},
      {"step timeout", Moves::nothing, [](const json& r) { return seconds_at(r, "/journey/step_timeout_s"); }},
      {"server timeout", Moves::nothing, [](const json& r) { return seconds_at(r, "/journey/server_timeout_s"); }},
      {"stage rates", Moves::load, [](const json& r) { return texts_in(r, "/stages", "rate_per_min"); }},
      {"stage", Moves::load, [](const json& r) { return seconds_at(r, "/capacity/stage_s"); }},
      {"stay", Moves::load,
       [](const json& r) { return number_at(r, "/capacity/stay_s").value_or(0) < 0 ? std::string("to the end") : seconds_at(r, "/capacity/stay_s"); }},
      {"shards", Moves::nothing,
       [](const json& r) {
         if (const auto n = number_at(r, "/shard/count")) return fmt::format("{:g}", *n);
         return r.contains("shards") && r["shards"].is_array() && !r["shards"].empty() ? std::to_string(r["shards"].size()) : std::string("-");
       }},
      {"thresholds", Moves::nothing, [](const json& r) { return texts_in(r, "/thresholds", "text"); }},
  }};
  return specs;
}

// ---- judging ----

enum class Better { lower, higher, neither };

// What a row's noise is judged from.
struct Evidence {
  enum Kind { none, percentile, one_value, proportion } kind = none;
  double p = 0;                       // percentile: which
  json dist_a, dist_b;                // percentile: the two distributions (docs/report-schema.md)
  std::size_t k_a = 0, n_a = 0, k_b = 0, n_b = 0;  // proportion: k of n in each run
};

// The settings a count follows: the class's size, or any setting of the load.
const std::vector<std::string> kFollowsCount{"count", "stage rates", "stage"};
const std::vector<std::string> kFollowsLoad{"*load"};

// The value of rank `rank` (1..n) of a distribution that the report keeps as min, p50, p90, p95,
// p99 and max at their nearest ranks; between two of them, linear in the rank.
double value_at_rank(const json& d, std::size_t rank) {
  const auto n = static_cast<double>(d.value("count", 0));
  auto rank_of = [&](double p) { return std::max(1.0, std::ceil(p / 100.0 * n)); };
  const std::array<std::pair<double, double>, 6> known{{{1, d.value("min", 0.0)},
                                                        {rank_of(50), d.value("p50", 0.0)},
                                                        {rank_of(90), d.value("p90", 0.0)},
                                                        {rank_of(95), d.value("p95", 0.0)},
                                                        {rank_of(99), d.value("p99", 0.0)},
                                                        {n, d.value("max", 0.0)}}};
  const auto r = static_cast<double>(rank);
  for (std::size_t i = 1; i < known.size(); ++i) {
    const auto [r0, v0] = known[i - 1];
    const auto [r1, v1] = known[i];
    if (r <= r1) return r1 == r0 ? v1 : v0 + (v1 - v0) * (r - r0) / (r1 - r0);
  }
  return known.back().second;
}

std::pair<double, double> percentile_interval(const json& d, double p) {
  const auto n = static_cast<std::size_t>(d.value("count", 0));
  const RankInterval r = percentile_rank_interval(n, p);
  return {r.lower == 0 ? -kInf : value_at_rank(d, r.lower), r.upper > n ? kInf : value_at_rank(d, r.upper)};
}

bool inside(double v, std::pair<double, double> range) { return v >= range.first && v <= range.second; }

std::string interval_text(std::pair<double, double> range, const std::string& unit) {
  return fmt::format("[{}, {}]", compare_detail::value(range.first, unit), compare_detail::value(range.second, unit));
}

// Whether a's and b's difference is within noise, and why in a phrase.
std::pair<bool, std::string> within_noise(const CompareRow& r, const Evidence& e) {
  switch (e.kind) {
  case Evidence::percentile: {
    const auto ia = percentile_interval(e.dist_a, e.p), ib = percentile_interval(e.dist_b, e.p);
    const bool noise = inside(*r.b, ia) || inside(*r.a, ib);
    return {noise, fmt::format("A {}, B {}", interval_text(ia, r.unit), interval_text(ib, r.unit))};
  }
  case Evidence::one_value:
    return {true, "one value in each run"};
  case Evidence::proportion: {
    const auto ia = proportion_interval(e.k_a, e.n_a), ib = proportion_interval(e.k_b, e.n_b);
    const double pa = e.n_a ? 100.0 * static_cast<double>(e.k_a) / static_cast<double>(e.n_a) : 0;
    const double pb = e.n_b ? 100.0 * static_cast<double>(e.k_b) / static_cast<double>(e.n_b) : 0;
    const bool noise = inside(pb, {ia.low, ia.high}) || inside(pa, {ib.low, ib.high});
    return {noise, fmt::format("{}/{} vs {}/{}: A [{:.1f}, {:.1f}] %, B [{:.1f}, {:.1f}] %", e.k_a, e.n_a, e.k_b, e.n_b,
                               ia.low, ia.high, ib.low, ib.high)};
  }
  case Evidence::none: break;
  }
  const auto c = r.change_pct();
  if (c && std::fabs(*c) < kNoSampleNoise) return {true, fmt::format("no sample size; under {:g} %", kNoSampleNoise)};
  return {false, fmt::format("no sample size; {:g} % or more", kNoSampleNoise)};
}

class Rows {
public:
  Rows(const json& a, const json& b, std::vector<std::string> differing, std::vector<CompareRow>& out)
      : a_(a), b_(b), differing_(std::move(differing)), out_(out) {}

  // One row from the same place in both reports; left out when neither has it.
  void add(const std::string& section, const std::string& metric, const std::string& unit, const std::string& pointer, Better better,
           const std::vector<std::string>& follows = {}, Evidence evidence = {}, double scale = 1.0) {
    add_from(section, metric, unit, pointer, pointer, better, follows, std::move(evidence), scale);
  }
  void add_from(const std::string& section, const std::string& metric, const std::string& unit, const std::string& in_a,
                const std::string& in_b, Better better, const std::vector<std::string>& follows = {}, Evidence evidence = {},
                double scale = 1.0) {
    auto a = number_at(a_, in_a), b = number_at(b_, in_b);
    if (!a && !b) return;
    if (a) *a *= scale;
    if (b) *b *= scale;
    CompareRow row{section, metric, unit, a, b, {}, {}, CompareJudgement::same, ""};
    if (evidence.kind == Evidence::percentile || evidence.kind == Evidence::one_value) {
      row.n_a = static_cast<std::size_t>(evidence.dist_a.value("count", 0));
      row.n_b = static_cast<std::size_t>(evidence.dist_b.value("count", 0));
    } else if (evidence.kind == Evidence::proportion) {
      row.n_a = evidence.n_a, row.n_b = evidence.n_b;
    }
    judge(row, better, follows, evidence);
    out_.push_back(std::move(row));
  }

  // A count of values and its percentiles (docs/report-schema.md): a percentile of no values is missing.
  void distribution(const std::string& section, const std::string& in_a, const std::string& in_b, const std::vector<std::string>& count_follows,
                    std::optional<std::size_t> of_a = {}, std::optional<std::size_t> of_b = {}) {
    const json da = object_at(a_, in_a), db = object_at(b_, in_b);
    Evidence counted;
    if (of_a && of_b) {
      counted = proportion(static_cast<std::size_t>(da.value("count", 0)), *of_a, static_cast<std::size_t>(db.value("count", 0)), *of_b);
    }
    add_from(section, "count", "", in_a + "/count", in_b + "/count", Better::higher, count_follows, counted);
    const std::size_t before = out_.size();
    for (const auto& [stat, p] : std::array<std::pair<const char*, double>, 4>{{{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}}}) {
      Evidence e;
      e.kind = Evidence::percentile, e.p = p, e.dist_a = da, e.dist_b = db;
      add_from(section, stat, "s", in_a + "/" + stat, in_b + "/" + stat, Better::lower, {}, e);
    }
    Evidence one;
    one.kind = Evidence::one_value, one.dist_a = da, one.dist_b = db;
    add_from(section, "max", "s", in_a + "/max", in_b + "/max", Better::lower, {}, one);
    for (std::size_t i = before; i < out_.size(); ++i) {  // the statistics of no values are no statistics
      if (da.value("count", 0) == 0) out_[i].a.reset();
      if (db.value("count", 0) == 0) out_[i].b.reset();
      if (da.value("count", 0) == 0 || db.value("count", 0) == 0) judge(out_[i], Better::lower, {}, {});
    }
  }

  static Evidence proportion(std::size_t k_a, std::size_t n_a, std::size_t k_b, std::size_t n_b) {
    Evidence e;
    e.kind = Evidence::proportion, e.k_a = std::min(k_a, n_a), e.n_a = n_a, e.k_b = std::min(k_b, n_b), e.n_b = n_b;
    return e;
  }
  // k of n in each run, where both are counts in the reports (missing: 0).
  Evidence proportion_at(const std::string& k, const std::string& n) const {
    return proportion(count(a_, k), count(a_, n), count(b_, k), count(b_, n));
  }
  // A rate in percent of n in each run.
  Evidence rate_at(const std::string& pct, const std::string& n) const {
    auto k = [&](const json& r) {
      return static_cast<std::size_t>(std::llround(number_at(r, pct).value_or(0) / 100.0 * static_cast<double>(count(r, n))));
    };
    return proportion(k(a_), count(a_, n), k(b_), count(b_, n));
  }
  static std::size_t count(const json& r, const std::string& pointer) {
    return static_cast<std::size_t>(std::max(0.0, number_at(r, pointer).value_or(0)));
  }

private:
  void judge(CompareRow& r, Better better, const std::vector<std::string>& follows, const Evidence& evidence) const {
    r.why.clear();
    if (compare_detail::value(r.a, r.unit) == compare_detail::value(r.b, r.unit)) {  // equal as shown: 0.0012 and 0.0014 s are both 0.001
      r.judgement = CompareJudgement::same;
      return;
    }
    std::string moved;
    for (const auto& name : differing_) {
      const bool loads = std::find(follows.begin(), follows.end(), "*load") != follows.end() && moves_load(name);
      if (loads || std::find(follows.begin(), follows.end(), name) != follows.end()) moved += (moved.empty() ? "" : ", ") + name;
    }
    if (!moved.empty()) {
      r.judgement = CompareJudgement::settings;
      r.why = "follows " + moved;
      return;
    }
    if (!r.a || !r.b) {
      r.judgement = CompareJudgement::changed;
      r.why = r.a ? "only in A" : "only in B";
      return;
    }
    auto [noise, why] = within_noise(r, evidence);
    r.why = std::move(why);
    if (noise) r.judgement = CompareJudgement::noise;
    else if (better == Better::neither) r.judgement = CompareJudgement::changed;
    else r.judgement = (*r.b < *r.a) == (better == Better::lower) ? CompareJudgement::better : CompareJudgement::worse;
  }

  static bool moves_load(const std::string& setting) {
    for (const auto& s : setting_specs()) {
      if (setting == s.name) return s.moves == Moves::load;
    }
    return false;
  }

  const json& a_;
  const json& b_;
  std::vector<std::string> differing_;
  std::vector<CompareRow>& out_;
};

// Index of the array element whose `key` is `value`, as a JSON pointer, or "" when there is none.
std::string element(const json& doc, const std::string& array, const char* key, const std::string& value) {
  const json::json_pointer p(array);
  if (!doc.contains(p) || !doc.at(p).is_array()) return "";
  const json& items = doc.at(p);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].contains(key) && items[i][key] == value) return array + "/" + std::to_string(i);
  }
  return "";
}

std::vector<std::string> names_in(const json& a, const json& b, const std::string& array, const char* key) {
  std::vector<std::string> names;
  for (const json* doc : {&a, &b}) {
    const json::json_pointer p(array);
    if (!doc->contains(p) || !doc->at(p).is_array()) continue;
    for (const auto& item : doc->at(p)) {
      if (!item.contains(key) || !item[key].is_string()) continue;
      const std::string name = item[key];
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

std::optional<double> step_stat(const json& r, const std::string& at, const char* stat) {
  if (at.empty() || number_at(r, at + "/seconds/count").value_or(0) == 0) return std::nullopt;
  return number_at(r, at + "/seconds/" + stat);
}

} // namespace

const char* to_string(CompareJudgement j) {
  switch (j) {
  case CompareJudgement::settings: return "settings differ";
  case CompareJudgement::worse: return "worse";
  case CompareJudgement::better: return "better";
  case CompareJudgement::changed: return "changed";
  case CompareJudgement::noise: return "noise";
  case CompareJudgement::same: return "same";
  }
  return "";
}

std::optional<double> CompareRow::change_pct() const {
  if (!a || !b || *a == 0) return std::nullopt;
  return (*b - *a) / std::fabs(*a) * 100.0;
}

Comparison compare_reports(const json& a, const json& b) {
  check_report(a, "compare");
  check_report(b, "compare");
  if (text_at(a, "/command") != text_at(b, "/command")) {
    throw std::invalid_argument("the first report is of " + text_at(a, "/command") + ", the second of " + text_at(b, "/command") +
                                ": compare two runs of one command");
  }
  Comparison c;
  c.a_title = title(a);
  c.b_title = title(b);
  c.a_command_line = text_at(a, "/run/command_line");
  c.b_command_line = text_at(b, "/run/command_line");
  std::vector<std::string> differing;
  for (const auto& spec : setting_specs()) {
    CompareSetting s{spec.name, spec.read(a), spec.read(b)};
    if (s.a.empty()) s.a = "-";
    if (s.b.empty()) s.b = "-";
    if (s.a == "-" && s.b == "-") continue;
    if (s.differs()) differing.push_back(s.name);
    c.settings.push_back(std::move(s));
  }

  Rows rows(a, b, differing, c.rows);
  using E = Evidence;
  const auto students = "/journey/students";
  rows.add("capacity", "held rate", "/min", "/capacity/held_rate_per_min", Better::higher);
  rows.add("capacity", "population held", "", "/capacity/held_population", Better::higher, {"stay"});
  rows.add("capacity", "failed at", "/min", "/capacity/failed_rate_per_min", Better::higher);
  rows.add("run", "duration", "s", "/duration_s", Better::neither, kFollowsLoad);
  rows.add("users", "requested", "", "/users/requested", Better::neither, kFollowsCount);
  for (const char* field : {"created", "started", "ready"}) {
    const std::string at = std::string("/users/") + field;
    rows.add("users", field, "", at, Better::higher, kFollowsCount, rows.proportion_at(at, "/users/requested"));
  }
  rows.add("servers", "ready", "", "/spawn/ready", Better::higher, kFollowsCount, rows.proportion_at("/spawn/ready", "/spawn/servers"));
  rows.add("servers", "failure rate", "%", "/spawn/failure_rate_pct", Better::lower, {}, rows.rate_at("/spawn/failure_rate_pct", "/spawn/servers"));
  rows.distribution("spawn to ready", "/spawn/ready_s", "/spawn/ready_s", kFollowsCount, Rows::count(a, "/spawn/servers"),
                    Rows::count(b, "/spawn/servers"));
  rows.add("students", "completed", "", "/journey/completed", Better::higher, kFollowsCount, rows.proportion_at("/journey/completed", students));
  rows.add("students", "failure rate", "%", "/journey/failure_rate_pct", Better::lower, {}, rows.rate_at("/journey/failure_rate_pct", students));
  rows.add("students", "late starts", "", "/journey/late_starts", Better::lower, kFollowsCount, rows.proportion_at("/journey/late_starts", students));
  for (const auto& step : names_in(a, b, "/journey/steps", "name")) {
    const std::string in_a = element(a, "/journey/steps", "name", step), in_b = element(b, "/journey/steps", "name", step);
    if (number_at(a, in_a + "/seconds/count").value_or(0) + number_at(b, in_b + "/seconds/count").value_or(0) == 0) continue;
    if (step == "cell") {  // every further cell: as many as students times cells - 1
      std::vector<std::string> follows = kFollowsCount;
      follows.insert(follows.end(), {"cells", "think", "stay"});
      rows.distribution("step " + step, in_a + "/seconds", in_b + "/seconds", follows);
    } else {
      rows.distribution("step " + step, in_a + "/seconds", in_b + "/seconds", kFollowsCount, Rows::count(a, students), Rows::count(b, students));
    }
    c.steps.push_back({step, step_stat(a, in_a, "p50"), step_stat(a, in_a, "p95"), step_stat(b, in_b, "p50"), step_stat(b, in_b, "p95")});
  }
  rows.add("activity", "updates (2xx)", "", "/activity/post_s/count", Better::higher, kFollowsLoad);
  {
    E e;
    e.kind = E::percentile, e.p = 95, e.dist_a = object_at(a, "/activity/post_s"), e.dist_b = object_at(b, "/activity/post_s");
    rows.add("activity", "update p95", "s", "/activity/post_s/p95", Better::lower, {}, e);
  }
  for (const auto& kind : names_in(a, b, "/api/kinds", "kind")) {
    const std::string in_a = element(a, "/api/kinds", "kind", kind), in_b = element(b, "/api/kinds", "kind", kind);
    const std::string section = "api " + kind;
    rows.add_from(section, "count", "", in_a + "/count", in_b + "/count", Better::neither, kFollowsLoad);
    rows.add_from(section, "errors", "", in_a + "/errors", in_b + "/errors", Better::lower, {},
                  Rows::proportion(Rows::count(a, in_a + "/errors"), Rows::count(a, in_a + "/count"), Rows::count(b, in_b + "/errors"),
                                   Rows::count(b, in_b + "/count")));
    const json da = object_at(a, in_a + "/latency_s"), db = object_at(b, in_b + "/latency_s");
    for (const auto& [stat, p] : std::array<std::pair<const char*, double>, 3>{{{"p50", 50}, {"p95", 95}, {"p99", 99}}}) {
      E e;
      e.kind = E::percentile, e.p = p, e.dist_a = da, e.dist_b = db;
      rows.add_from(section, stat, "s", in_a + "/latency_s/" + stat, in_b + "/latency_s/" + stat, Better::lower, {}, e);
    }
  }
  rows.add("throttle", "429 answers", "", "/throttle/answers_429", Better::lower, kFollowsLoad);
  rows.add("hub", "peak CPU", "%", "/hub/peak_cpu_pct", Better::lower);
  rows.add("hub", "peak memory", "MB", "/hub/peak_memory_bytes", Better::lower, {}, {}, 1e-6);
  rows.add("hub", "mean request", "s", "/hub/request_mean_s", Better::lower);
  rows.add("hub", "mean spawn", "s", "/hub/spawn_mean_s", Better::lower);
  return c;
}

} // namespace hubstress
