#include "hubstress/report/capacity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hubstress {

namespace {

// The steps a stage's students go through before their first result: what can grow under load.
constexpr const char* kGrowingSteps[] = {"login", "spawn", "ready", "open", "kernel", "first_result"};

std::string seconds(double s) { return s >= 10 ? fmt::format("{:.0f} s", s) : fmt::format("{:.1f} s", s); }

// "time_to_first_result_p95<60s: 75 s, 25 % over" (a limit of 0 has no ratio).
std::string missed(const ThresholdResult& t) {
  if (!t.has_data) return t.text + ": no data";
  const std::string actual = t.unit == "s" ? seconds(t.actual) : t.unit == "%" ? fmt::format("{:.1f} %", t.actual) : fmt::format("{:g}", t.actual);
  if (t.limit == 0) return fmt::format("{}: {}", t.text, actual);
  const double over = std::abs(t.actual - t.limit) / std::abs(t.limit) * 100.0;
  return fmt::format("{}: {}, {:.0f} % {}", t.text, actual, over, t.actual > t.limit ? "over" : "under");
}

// The step whose p95 grew most (in seconds) from `before` to `now`: "ready p95 3.1 s -> 48 s".
std::string grew_most(const StageSummary& before, const StageSummary& now) {
  std::string best;
  double growth = 0;
  for (const char* name : kGrowingSteps) {
    const auto find = [&](const StageSummary& st) -> const StepStats* {
      for (const auto& s : st.steps) {
        if (s.name == name) return &s;
      }
      return nullptr;
    };
    const StepStats* a = find(before);
    const StepStats* b = find(now);
    if (!a || !b || a->seconds.count == 0 || b->seconds.count == 0) continue;
    const double g = b->seconds.p95 - a->seconds.p95;
    // growth the printed figures do not show (0.3 s -> 0.3 s) is no answer
    if (g > growth && seconds(a->seconds.p95) != seconds(b->seconds.p95)) {
      growth = g;
      best = fmt::format("{} p95 grew most: {} at {} -> {}", name, seconds(a->seconds.p95), format_rate(before.rate_per_min),
                         seconds(b->seconds.p95));
    }
  }
  return best;
}

// What the run saw in the stage that failed, most telling first.
std::string broke_first(const CapacitySummary& c, std::size_t failed) {
  const StageSummary& st = c.stages[failed];
  std::vector<std::string> parts;
  for (const auto& t : st.thresholds) {
    if (!t.passed) parts.push_back(missed(t));
  }
  if (c.held_rate_per_min) {
    for (std::size_t k = failed; k-- > 0;) {
      if (c.stages[k].verdict != to_string(StageVerdict::held)) continue;
      if (auto g = grew_most(c.stages[k], st); !g.empty()) parts.push_back(g);
      break;
    }
  }
  if (st.answers_429 > 0) parts.push_back(fmt::format("{} start requests answered 429", st.answers_429));
  if (st.hub_cpu_peak_pct) parts.push_back(fmt::format("hub CPU peak {:.0f} % of one core", *st.hub_cpu_peak_pct));
  if (st.event_loop_mean_s) parts.push_back(fmt::format("hub event-loop interval {:.3f} s", *st.event_loop_mean_s));
  if (st.proxy_add_mean_s) parts.push_back(fmt::format("proxy route add {:.3f} s", *st.proxy_add_mean_s));
  if (!st.failures.empty()) {
    parts.push_back(fmt::format("{} of {} students failed, most: {} ({})", st.failed, st.arrived, st.failures.front().reason,
                                st.failures.front().count));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// The hub's samples scraped within [from, to]: CPU peak, and the means of two histograms between
// the first and the last of them.
void hub_in(StageSummary& st, const Summary& summary) {
  if (!summary.hub) return;
  const HubSample* first = nullptr;
  const HubSample* last = nullptr;
  for (const auto& p : summary.hub->series) {
    if (p.t_s < st.start_s || p.t_s > st.end_s) continue;
    if (p.cpu_pct) st.hub_cpu_peak_pct = std::max(st.hub_cpu_peak_pct.value_or(0.0), *p.cpu_pct);
  }
  for (const auto& s : summary.hub->samples) {
    if (s.t_s < st.start_s || s.t_s > st.end_s) continue;
    if (!first) first = &s;
    last = &s;
  }
  if (!first || first == last) return;
  auto mean = [](const std::optional<double>& s0, const std::optional<double>& n0, const std::optional<double>& s1,
                 const std::optional<double>& n1) -> std::optional<double> {
    if (!s0 || !n0 || !s1 || !n1 || !(*n1 - *n0 > 0)) return std::nullopt;
    return (*s1 - *s0) / (*n1 - *n0);
  };
  if (first->start_time_s != last->start_time_s) return;  // the hub restarted in between
  st.proxy_add_mean_s = mean(first->proxy_add_sum_s, first->proxy_add_count, last->proxy_add_sum_s, last->proxy_add_count);
  st.event_loop_mean_s = mean(first->event_loop_sum_s, first->event_loop_count, last->event_loop_sum_s, last->event_loop_count);
}

} // namespace

const std::vector<std::string>& capacity_default_thresholds() {
  static const std::vector<std::string> defaults{"time_to_first_result_p95<60s", "journey_failure_rate<1%"};
  return defaults;
}

void check_stage_threshold(const Threshold& t) { check_measured(t, "capacity"); }

std::vector<ThresholdResult> judge_stage(const std::vector<Threshold>& thresholds, const JourneyResult& students,
                                         const JourneyOptions& options) {
  Summary s;
  s.command = "capacity";
  s.journey = summarize_journeys(students, options);
  return evaluate_all(thresholds, s);
}

void judge_stages(CapacityResult& result, const std::vector<Threshold>& thresholds, const JourneyOptions& options) {
  bool stopped = false;
  for (std::size_t k = 0; k < result.stages.size(); ++k) {
    CapacityStage& st = result.stages[k];
    if (st.verdict == StageVerdict::pending) continue;
    if (st.verdict == StageVerdict::cut || st.verdict == StageVerdict::interrupted) {
      stopped = true;
      continue;
    }
    if (stopped) {
      st.verdict = StageVerdict::cut;
      continue;
    }
    st.verdict = all_passed(judge_stage(thresholds, judged_students(result, k), options)) ? StageVerdict::held : StageVerdict::failed;
    stopped = st.verdict == StageVerdict::failed;
  }
  result.reached_max = !result.stages.empty() && result.stages.back().verdict == StageVerdict::held;
}

CapacitySummary summarize_capacity(const CapacityResult& result, const JourneyOptions& options,
                                   const std::vector<Threshold>& thresholds, const Summary& summary,
                                   const std::vector<RequestRecord>& records) {
  CapacitySummary c;
  c.stage_s = result.stage_s;
  c.stay_s = result.stay_s;
  for (const auto& t : thresholds) c.thresholds.push_back(t.text);
  double t0 = 0;  // the journeys phase: where the stages' time line begins on the run's
  for (const auto& p : summary.phases) {
    if (p.name == "journeys" && p.start_s >= 0) t0 = p.start_s;
  }
  for (std::size_t k = 0; k < result.stages.size(); ++k) {
    const CapacityStage& stage = result.stages[k];
    StageSummary st;
    st.number = static_cast<int>(k + 1);
    st.rate_per_min = stage.rate_per_min;
    st.start_s = t0 + stage.start_s;
    st.end_s = st.start_s + stage.duration_s;
    st.verdict = to_string(stage.verdict);
    st.arrived = stage.count;
    for (std::size_t i = stage.first; i < stage.first + stage.count && i < result.journey.students.size(); ++i) {
      const StudentRecord& s = result.journey.students[i];
      if (s.time_to_first_result_s && !s.ok()) ++st.later_cells_failed;
    }
    if (stage.verdict != StageVerdict::pending) {
      const JourneyResult judged = judged_students(result, k);
      const JourneySummary j = summarize_journeys(judged, options);
      st.steps = j.steps;
      st.failed = j.failed;
      st.failure_rate_pct = j.failure_rate_pct;
      st.failures = j.failures;
      st.population = population_at(result.journey, stage.start_s + stage.duration_s);
      st.thresholds = judge_stage(thresholds, judged, options);
    }
    for (const auto& r : records) {
      if (r.kind == ApiKind::start_server && r.outcome == Outcome::ok && r.status == 429 && r.start_s >= st.start_s && r.start_s < st.end_s) {
        ++st.answers_429;
      }
    }
    if (stage.verdict != StageVerdict::pending) hub_in(st, summary);  // a stage not reached saw no student of its own
    c.stages.push_back(std::move(st));
  }
  const int held = result.held();
  const int failed = result.failed();
  c.interrupted = result.journey.interrupted;
  c.reached_max = result.reached_max;
  if (held >= 0) {
    c.held_rate_per_min = c.stages[static_cast<std::size_t>(held)].rate_per_min;
    c.held_population = c.stages[static_cast<std::size_t>(held)].population;
  }
  if (failed >= 0) {
    c.failed_rate_per_min = c.stages[static_cast<std::size_t>(failed)].rate_per_min;
    c.broke_first = broke_first(c, static_cast<std::size_t>(failed));
  }
  const std::string held_part =
      held >= 0 ? fmt::format("held {} (population {})", format_rate(*c.held_rate_per_min), c.held_population) : "no stage held";
  if (failed >= 0) {
    c.line = fmt::format("{}; failed at {}{}: {}", held_part, format_rate(*c.failed_rate_per_min), held < 0 ? " (the first stage)" : "",
                         c.broke_first);
  } else if (c.reached_max) {
    c.line = held_part + ", the highest rate asked: the hub's limit is above it (raise --max)";
  } else if (c.interrupted) {
    c.line = held_part + " before the run was interrupted";
  } else if (!result.ended_by.empty()) {
    c.line = held_part + "; the search ended there: " + result.ended_by;
  } else {
    c.line = held_part + "; the search did not end (no stage failed and the last was not judged)";
  }
  return c;
}

} // namespace hubstress
