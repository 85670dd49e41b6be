// A journey's students as the reports read them: each step's figures, failures by reason, the
// students in each step second by second.
#include "hubstress/report/summary.hpp"

#include "common.hpp"

#include <algorithm>
#include <string_view>

namespace hubstress {

JourneySummary summarize_journeys(const JourneyResult& result, const JourneyOptions& options) {
  JourneySummary out;
  out.auth = to_string(options.auth);
  out.arrival = to_string(options.arrival);
  out.ramp_up_s = options.ramp_up_s;
  out.cells = options.cells;
  out.think_s = options.think_s;
  out.step_timeout_s = options.step_timeout_s;
  out.server_timeout_s = options.server_timeout_s;
  out.students = result.students.size();
  out.rate_per_min = options.ramp_up_s > 0 ? static_cast<double>(out.students) / options.ramp_up_s * 60.0 : 0.0;
  out.time_to_first_result = make_spawn_histogram();
  const auto& metrics = journey_metrics();
  std::vector<std::vector<double>> values(metrics.size());
  out.steps.resize(metrics.size());
  auto index_of = [&](std::string_view name) {
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      if (name == metrics[i].name) return i;
    }
    return metrics.size();
  };
  double end_s = 0;
  for (const auto& st : result.students) {
    if (st.ok()) ++out.completed;
    if (st.late_s > kLateStart) {
      ++out.late_starts;
      out.max_late_s = std::max(out.max_late_s, st.late_s);
    }
    if (st.kernel_deleted) ++out.kernels_deleted;
    for (const auto& step : st.steps) {
      if (const auto i = index_of(step.step); i < metrics.size()) values[i].push_back(step.seconds);
      end_s = std::max(end_s, step.start_s + step.seconds);
    }
    if (st.time_to_first_result_s) {
      values[index_of(kTimeToFirstResult)].push_back(*st.time_to_first_result_s);
      out.time_to_first_result.add(*st.time_to_first_result_s);
    }
    if (const auto i = index_of(st.failed_step); !st.ok() && !st.interrupted() && i < metrics.size()) ++out.steps[i].failed;
  }
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    out.steps[i].name = metrics[i].name;
    out.steps[i].seconds = summarize(values[i]);
  }
  for (const auto& st : result.students) {
    if (!st.interrupted()) continue;
    ++out.interrupted;
    if (st.failed_step == "arrival") ++out.never_arrived;
  }
  out.failed = out.students - out.completed - out.interrupted;
  const std::size_t judged = out.students - out.interrupted;
  out.failure_rate_pct = judged ? 100.0 * static_cast<double>(out.failed) / static_cast<double>(judged) : 0.0;

  std::vector<std::pair<std::string, std::string>> failures;
  for (const auto& st : result.students) {
    if (!st.ok() && !st.interrupted()) failures.emplace_back(st.user, st.failed_step + ": " + st.reason);
  }
  out.failures = report_detail::group_reasons(failures);

  for (const auto& m : metrics) {
    if (std::string_view(m.name) != kTimeToFirstResult) out.active_steps.emplace_back(m.name);
  }
  for (long t = 0; static_cast<double>(t) <= end_s; ++t) {
    StepsActive point{static_cast<double>(t), std::vector<std::size_t>(out.active_steps.size(), 0)};
    for (const auto& st : result.students) {
      for (const auto& step : st.steps) {
        // in the step at some moment of [t, t + 1): a step of a few milliseconds still shows
        if (step.start_s < static_cast<double>(t + 1) && static_cast<double>(t) <= step.start_s + step.seconds) {
          const auto i = std::find(out.active_steps.begin(), out.active_steps.end(), step.step) - out.active_steps.begin();
          if (static_cast<std::size_t>(i) < out.active_steps.size()) ++point.active[static_cast<std::size_t>(i)];
        }
      }
    }
    out.active_over_time.push_back(std::move(point));
  }
  return out;
}

const StepStats* find_step(const JourneySummary& journey, std::string_view name) {
  for (const auto& step : journey.steps) {
    if (step.name == name) return &step;
  }
  return nullptr;
}

} // namespace hubstress
