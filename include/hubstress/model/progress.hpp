#pragma once
// Live counters of a run, written by the phases (one thread) and read by a progress display
// (another thread): every field is atomic. Counts are users.
#include <atomic>
#include <deque>
#include <string>

namespace hubstress {

enum class Phase { idle, find, create, tokens, wait, spawn, activity, journey, delete_users };
const char* to_string(Phase phase);

struct Progress {
  std::atomic<Phase> phase{Phase::idle};
  std::atomic<int> total{0};      // users the run works on (COUNT)
  std::atomic<int> created{0};    // users created by this run
  std::atomic<int> requested{0};  // servers whose start was requested
  std::atomic<int> ready{0};      // servers ready
  std::atomic<int> failed{0};     // servers failed or timed out
  std::atomic<int> stopped{0};    // servers stopped by the clean-up
  std::atomic<int> deleted{0};    // users deleted
  std::atomic<int> to_delete{0};  // users the delete phase works on
  std::atomic<int> activity{0};   // activity updates answered
  // journey
  std::atomic<int> arrived{0};    // students that arrived
  std::atomic<int> results{0};    // students that got their first cell's result
  std::atomic<int> done{0};       // students whose whole journey worked
  std::atomic<int> dropped{0};    // students whose journey failed at a step
  std::atomic<double> rate_per_min{0};  // students arriving per minute (journey; capacity: the stage's)
  // capacity
  std::atomic<int> stage{0};      // the stage whose students are arriving, from 1 (0: none yet)
  std::atomic<int> stages{0};     // stages planned
  std::atomic<int> held{0};       // stages judged and held
};

// The live line for these counters in `phase`, `elapsed_s` into the run: the phase and elapsed
// time, then only the counters that apply to it ("[spawn 1:05] ready 30/100 | pending 10 | failed 2").
std::string progress_line(const Progress& progress, Phase phase, double elapsed_s);

// How fast the phase's work goes, said with what it counts (" | 2.1 servers done/s"), and the time
// left (" | ETA 40s") once that is steady: enough done (3, and a tenth of the whole), and the end
// it foresees, taken once a second, moving by less than a quarter of the time left over the last 5.
// One per live display; `update` at each draw.
class RateEstimate {
public:
  // `done` of `of` (of <= 0: no end known) `elapsed_s` into the run, in `phase`.
  std::string update(Phase phase, int done, int of, double elapsed_s);

private:
  Phase phase_ = Phase::idle;
  double t0_ = 0;
  int done0_ = 0;
  std::deque<double> ends_;  // foreseen ends (elapsed seconds), one a second at most
  double last_taken_ = -1;
};

} // namespace hubstress
