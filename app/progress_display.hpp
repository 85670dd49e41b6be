#pragma once
#include "hubstress/engine/loop.hpp"
#include "hubstress/model/progress.hpp"

#include <optional>
#include <string>

namespace hubstress::cli {

// Shows a run's live counters: redrawn in place on a terminal (4 times a second), or as a plain
// "Progress: ..." log line every 5 s when stderr is not a terminal: a ticker on the run's event
// loop, so it draws while the run's requests are going on. Stops when destroyed.
class ProgressDisplay {
public:
  ProgressDisplay(const Progress& progress, engine::Loop& loop);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // One line from the counters; `seconds` since the display started (for rate and ETA).
  std::string line(double seconds);

private:
  void draw();

  const Progress& progress_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::string last_;
  RateEstimate rate_;
  std::optional<engine::Ticker> ticker_;
};

} // namespace hubstress::cli
