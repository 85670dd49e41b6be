// The live line's rate and time left.
#include "hubstress/model/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hubstress {

namespace {

// What a phase's `done` counts, as the rate says it.
const char* counted(Phase phase) {
  switch (phase) {
  case Phase::create: return "users created";
  case Phase::spawn: return "servers done";
  case Phase::delete_users: return "users deleted";
  case Phase::activity: return "updates";
  case Phase::journey: return "students done";
  default: return nullptr;
  }
}

} // namespace

std::string RateEstimate::update(Phase phase, int done, int of, double elapsed_s) {
  if (phase != phase_) {
    phase_ = phase;
    t0_ = elapsed_s;
    done0_ = done;
    ends_.clear();
    last_taken_ = -1;
  }
  const char* what = counted(phase);
  const double span = elapsed_s - t0_;
  if (what == nullptr || span < 1 || done <= done0_) return "";
  const double rate = (done - done0_) / span;
  char buffer[96];
  if (rate >= 1) {
    std::snprintf(buffer, sizeof buffer, " | %.1f %s/s", rate, what);
  } else {
    std::snprintf(buffer, sizeof buffer, " | %.1f %s/min", rate * 60, what);
  }
  std::string text = buffer;
  if (of <= 0 || done >= of) return text;
  const double end = elapsed_s + (of - done) / rate;
  if (elapsed_s - last_taken_ >= 1) {
    ends_.push_back(end);
    last_taken_ = elapsed_s;
    if (ends_.size() > 5) ends_.pop_front();
  }
  const auto [low, high] = std::minmax_element(ends_.begin(), ends_.end());
  const double left = end - elapsed_s;
  const bool enough = done - done0_ >= std::max(3, of / 10);
  if (enough && ends_.size() >= 5 && *high - *low <= 0.25 * left) {
    std::snprintf(buffer, sizeof buffer, " | ETA %.0fs", std::ceil(left));
    text += buffer;
  }
  return text;
}

} // namespace hubstress
