#pragma once
#include "hubstress/progress.hpp"

#include <atomic>
#include <string>
#include <thread>

namespace hubstress::cli {

// Shows a run's live counters: redrawn in place on a terminal (4 times a second), or as a plain
// "Progress: ..." log line every 5 s when stderr is not a terminal. Stops when destroyed.
class ProgressDisplay {
public:
  explicit ProgressDisplay(const Progress& progress);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // One line from the counters; `seconds` since the display started (for rate and ETA).
  std::string line(double seconds);

private:
  void loop();

  const Progress& progress_;
  std::atomic<bool> stop_{false};
  bool tty_;
  Phase rate_phase_ = Phase::idle;
  double rate_t0_ = 0;
  int rate_done0_ = 0;
  std::thread thread_;
};

} // namespace hubstress::cli
