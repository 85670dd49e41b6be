#pragma once
// `capacity`: stages of rising arrival rate, each judged on the students who arrived in it, until
// one does not hold. What the run asks and what it saw, as the reports read it. Standard headers only.
#include "hubstress/model/results.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace hubstress {

// How a stage ended.
enum class StageVerdict {
  pending,      // not reached, or not judged yet
  held,         // its students met every threshold
  failed,       // they did not: the search stopped here
  interrupted,  // a signal came while its students were on their way
  cut,          // it had begun when an earlier stage failed: its arrivals stopped, not judged
};
const char* to_string(StageVerdict verdict);

// One stage: fresh students arriving at `rate_per_min` for `duration_s`.
struct CapacityStage {
  double rate_per_min = 0;
  double start_s = 0;      // from the start of the arrivals (the journeys phase)
  double duration_s = 0;
  std::size_t first = 0;   // its students: JourneyResult::students[first, first + count)
  std::size_t count = 0;
  StageVerdict verdict = StageVerdict::pending;
};

struct CapacityOptions {
  JourneyOptions journey;           // auth, cells' code, expect, profile, timeouts, think, prefix, journal, ...
  std::vector<double> rates;        // students per minute, one per stage, rising
  double stage_s = 120;             // each stage's arrivals last this long
  double stay_s = -1;               // a student leaves this long after its first result (< 0: stays until the end)
  // Whether a stage's students held, once each of them has its first result or has failed before
  // it: `students` is the stage's, counted as the thresholds see them (judged_students()).
  std::function<bool(const JourneyResult& students)> holds;
  // Whether a stage already cannot hold: `students` with those still on their way counted at their
  // best (a first result now). Only thresholds that can but grow with time and failures may say so.
  std::function<bool(const JourneyResult& students)> cannot_hold;
};

struct CapacityResult {
  JourneyResult journey;              // every student of every stage, in arrival order; phases
  std::vector<CapacityStage> stages;  // those planned; the ones not reached stay pending with no students
  double stage_s = 0;
  double stay_s = -1;
  bool reached_max = false;           // the last planned stage held
  std::string ended_by;               // why the search stopped before a verdict ("" when it had one)
  std::vector<std::string> thresholds;  // what each stage was judged by, as given
  // the last stage that held and the first that failed (-1: none)
  int held() const;
  int failed() const;
};

// The students of one stage as a stage is judged: a student who got its first result counts as
// done, whatever a later cell did (the stage's verdict is given once every student has its first
// result or failed before it; later cells are reported apart).
JourneyResult judged_students(const CapacityResult& result, std::size_t stage);

// Orders `result.journey.students` by stage (then arrival) and sets each stage's first and count
// from the students' own `stage` (a report read back, a merge of shards).
void place_students(CapacityResult& result);

// "40/min", "2.5/min": a rate as the reports show it (to 0.1/min).
std::string format_rate(double per_min);

// Students present at `t_s` (from the start of the arrivals): arrived before then and not yet gone.
std::size_t population_at(const JourneyResult& journey, double t_s);

} // namespace hubstress
