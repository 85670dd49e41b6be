#pragma once
// `capacity`: how many students a minute the hub holds. Stages of rising arrival rate on one time
// line: stage k's fresh students arrive at rates[k] a minute during [k * stage_s, (k + 1) * stage_s)
// (poisson or uniform, as journey's), each on the journey of a student (login, spawn, open,
// kernel, first cell), and then stay, a cell every --think, until the run ends or --stay after
// their first result. A stage is judged once each of its students has its first result or has
// failed before it; the first stage that does not hold ends the search: no one arrives any more
// (a stage under way is cut), the students who arrived finish, then the clean-up as in journey.
// A stage's users are created (and their tokens minted) while the stage before it runs, so the
// stages follow each other on time, and shards started at one --start-at stay in step.
#include "hubstress/hub/session.hpp"
#include "hubstress/model/capacity.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

// "40/min", "40/m", "2/s", "2.5/s", "40" (per minute): students per minute. Throws
// std::invalid_argument naming `what` on anything else, or a rate not above 0 or above 100000/min.
double parse_rate(std::string_view text, std::string_view what);

// The stages' rates: `explicit_rates` when given (rising, each > 0), else from `start`, times
// `factor` each stage, while at most `max` (start and max included; each rounded to 0.1/min).
// Throws std::invalid_argument on a factor not above 1, a max below the start, or more than 50 stages.
std::vector<double> capacity_rates(double start, double factor, double max, const std::vector<double>& explicit_rates);

// Students arriving in a stage of `rate_per_min` lasting `stage_s`: the whole test's; a shard takes
// its places I, I + N, ... of them (ArrivalPlace).
int stage_students(double rate_per_min, double stage_s);

// Runs the search; `result` holds what was done until then when it throws (set-up failed, or interrupted).
void capacity(Session& session, const CapacityOptions& options, CapacityResult& result);

} // namespace hubstress
