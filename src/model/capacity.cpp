// The plain data of a capacity run.
#include "hubstress/model/capacity.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hubstress {

std::string format_rate(double per_min) {
  char text[64];
  std::snprintf(text, sizeof text, "%g/min", std::round(per_min * 10) / 10);
  return text;
}


const char* to_string(StageVerdict verdict) {
  switch (verdict) {
  case StageVerdict::pending: return "not reached";
  case StageVerdict::held: return "held";
  case StageVerdict::failed: return "failed";
  case StageVerdict::interrupted: return "interrupted";
  case StageVerdict::cut: return "cut";
  }
  return "?";
}

int CapacityResult::held() const {
  int last = -1;
  for (std::size_t k = 0; k < stages.size(); ++k) {
    if (stages[k].verdict == StageVerdict::held) last = static_cast<int>(k);
  }
  return last;
}

int CapacityResult::failed() const {
  for (std::size_t k = 0; k < stages.size(); ++k) {
    if (stages[k].verdict == StageVerdict::failed) return static_cast<int>(k);
  }
  return -1;
}

JourneyResult judged_students(const CapacityResult& result, std::size_t stage) {
  JourneyResult out;
  const CapacityStage& st = result.stages.at(stage);
  for (std::size_t i = st.first; i < st.first + st.count && i < result.journey.students.size(); ++i) {
    StudentRecord s = result.journey.students[i];
    if (s.time_to_first_result_s && !s.failed_step.empty() && s.failed_step == "cell") {
      s.failed_step.clear();  // judged on its first result; a later cell is reported apart
      s.reason.clear();
    }
    out.students.push_back(std::move(s));
  }
  out.created.reserve(out.students.size());
  for (const auto& s : out.students) out.created.push_back(s.user);
  return out;
}

void place_students(CapacityResult& result) {
  auto& students = result.journey.students;
  std::stable_sort(students.begin(), students.end(), [](const StudentRecord& a, const StudentRecord& b) {
    return a.stage != b.stage ? a.stage < b.stage : a.scheduled_s < b.scheduled_s;
  });
  for (std::size_t k = 0; k < result.stages.size(); ++k) {
    const auto first = std::find_if(students.begin(), students.end(), [&](const StudentRecord& s) { return s.stage >= static_cast<int>(k); });
    const auto end = std::find_if(first, students.end(), [&](const StudentRecord& s) { return s.stage > static_cast<int>(k); });
    result.stages[k].first = static_cast<std::size_t>(first - students.begin());
    result.stages[k].count = static_cast<std::size_t>(end - first);
  }
}

std::size_t population_at(const JourneyResult& journey, double t_s) {
  std::size_t n = 0;
  for (const auto& s : journey.students) {
    if (s.failed_step == "arrival" || s.failed_step == "token") continue;
    if (s.scheduled_s < t_s && (s.left_s < 0 || s.left_s > t_s)) ++n;
  }
  return n;
}

} // namespace hubstress
