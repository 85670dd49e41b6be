#pragma once
// `journey`: a class of students arriving, each from login to a cell's result (SPEC §6).
//
// The run creates its users as stress-test does (journal, prefix), mints each student a token when
// --auth token, then plays every student as one coroutine on the engine's loop, with its own
// cookie jar and credentials: log in (form), start the server, follow the progress stream to the
// ready event, open the server through the proxy, start a kernel and connect its WebSocket, run
// cells. Each step is timed per student; a failed step ends that student's journey (and only
// its), and the student still deletes its kernel. Then the run stops the servers and deletes the
// users, unless --keep.
#include "hubstress/hub/journal.hpp"
#include "hubstress/model/results.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/scenarios/stress.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {



// Seconds from the start of the journeys for each of `count` students, ascending, all in
// [0, ramp_up_s) (all 0 when ramp_up_s is 0). uniform: evenly spaced, i * ramp_up_s / count.
// poisson: the arrival times of a Poisson process with rate count / ramp_up_s, given that `count`
// students arrive within the ramp-up (sorted uniform draws), so arrivals bunch up as real ones do.
// A shard's students: `place` = {I, N, total}: shard I of N of a class of `total` takes the uniform
// places I, I + N, I + 2N, ... of the whole class, so that the shards' arrivals interleave as one
// class's would (poisson arrivals need nothing: independent draws together are the class's draws).
std::vector<double> arrival_offsets(int count, double ramp_up_s, Arrival arrival, std::uint64_t seed,
                                    const ArrivalPlace& place = {});





// The cell a student runs: an execute_request (Jupyter messaging 5.3) on the shell channel.
std::string execute_request(const std::string& msg_id, const std::string& session, const std::string& user,
                            const std::string& code);

JourneyResult journey(Session& session, const JourneyOptions& options);
// The same, building the result in `result` as the run goes: when it throws (setting up the
// students failed or was interrupted), `result` holds what was done until then.
void journey(Session& session, const JourneyOptions& options, JourneyResult& result);

} // namespace hubstress
