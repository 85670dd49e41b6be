#pragma once
// Live counters of a run, written by the phases (one thread) and read by a progress display
// (another thread): every field is atomic. Counts are users.
#include <atomic>

namespace hubstress {

enum class Phase { idle, find, create, tokens, spawn, activity, journey, delete_users };
const char* to_string(Phase phase);

struct Progress {
  std::atomic<Phase> phase{Phase::idle};
  std::atomic<int> total{0};      // users the run works on (COUNT)
  std::atomic<int> created{0};    // users created by this run
  std::atomic<int> requested{0};  // servers whose start was requested
  std::atomic<int> ready{0};      // servers ready
  std::atomic<int> failed{0};     // servers failed or timed out
  std::atomic<int> deleted{0};    // users deleted
  std::atomic<int> to_delete{0};  // users the delete phase works on
  std::atomic<int> activity{0};   // activity updates answered
  // journey
  std::atomic<int> arrived{0};    // students that arrived
  std::atomic<int> results{0};    // students that got their first cell's result
  std::atomic<int> done{0};       // students whose whole journey worked
  std::atomic<int> dropped{0};    // students whose journey failed at a step
};

} // namespace hubstress
