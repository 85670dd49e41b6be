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
#include "hubstress/journal.hpp"
#include "hubstress/session.hpp"
#include "hubstress/stress.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

// The metrics of a journey, in the order of the journey: every report and every threshold takes
// them from this one list, so a new step needs no edit in a renderer or the threshold parser.
struct JourneyMetric {
  const char* name;     // "kernel": thresholds are kernel_p95, kernel_max, ...
  const char* meaning;  // one line for --help and the README
};
const std::vector<JourneyMetric>& journey_metrics();
// The headline: from a student's scheduled arrival to its first cell's result.
inline constexpr std::string_view kTimeToFirstResult = "time_to_first_result";

enum class Arrival { poisson, uniform };
enum class JourneyAuth { token, form };
const char* to_string(Arrival arrival);
const char* to_string(JourneyAuth auth);

// Seconds from the start of the journeys for each of `count` students, ascending, all in
// [0, ramp_up_s) (all 0 when ramp_up_s is 0). uniform: evenly spaced, i * ramp_up_s / count.
// poisson: the arrival times of a Poisson process with rate count / ramp_up_s, given that `count`
// students arrive within the ramp-up (sorted uniform draws), so arrivals bunch up as real ones do.
// A shard's students: `place` = {I, N, total}: shard I of N of a class of `total` takes the uniform
// places I, I + N, I + 2N, ... of the whole class, so that the shards' arrivals interleave as one
// class's would (poisson arrivals need nothing: independent draws together are the class's draws).
struct ArrivalPlace {
  int index = 0;
  int count = 1;
  int total = 0;  // 0: the class is this run's `count`
};
std::vector<double> arrival_offsets(int count, double ramp_up_s, Arrival arrival, std::uint64_t seed,
                                    const ArrivalPlace& place = {});

struct JourneyOptions {
  int count = 10;
  int batch_size = 10;          // users per create request (set-up, as stress-test's -b)
  double ramp_up_s = 0;
  Arrival arrival = Arrival::poisson;
  std::uint64_t seed = 0;       // for poisson arrivals
  JourneyAuth auth = JourneyAuth::token;
  std::string password;         // --auth form
  int cells = 3;                // the first cell, then cells - 1 more, think_s apart
  double think_s = 5;
  std::string code = "print(6 * 7)";
  std::string expect = "42";    // the first cell's output must contain it (and each further one)
  double step_timeout_s = 60;
  double server_timeout_s = 300;  // for the ready step
  std::string profile;
  bool keep = false;
  std::string prefix{kDefaultPrefix};
  Journal* journal = nullptr;
  NameSlot names;                      // the numbers this run may take (a shard's)
  ArrivalPlace place;                  // a shard's places in the whole class's arrivals
  std::function<void()> before_load;   // runs once the students are set up, just before the first arrives
};

// One timed step of one student.
struct StepTime {
  std::string step;     // a journey_metrics() name ("cell" may appear several times)
  double start_s = 0;   // from the start of the journeys phase
  double seconds = 0;
};

struct StudentRecord {
  std::string user;
  double scheduled_s = 0;    // its arrival, from the start of the journeys phase
  double late_s = 0;         // how much later than scheduled the tool started it
  std::vector<StepTime> steps;  // the steps it completed, in order
  std::optional<double> time_to_first_result_s;
  std::string failed_step;   // empty when every step worked
  std::string reason;        // why that step failed
  bool kernel_deleted = false;  // its kernel was deleted at the end (false also when it had none)
  bool ok() const { return failed_step.empty(); }
};

struct JourneyResult {
  std::vector<PhaseTime> phases;  // find, create, tokens (--auth token), journeys, delete
  std::vector<std::string> created;
  std::vector<StudentRecord> students;  // in arrival order
  SpawnStats spawn_stats;         // 429 answers to the students' start requests, seconds waited after them
  bool interrupted = false;       // a signal ended the journeys early
  bool deleted = true;            // every created user was removed (true with --keep)
  int completed() const;
  int failed() const;             // failed, or never finished (interrupted)
  int late_starts() const;        // students started more than kLateStart after their arrival
};
inline constexpr double kLateStart = 0.1;  // seconds

// The cell a student runs: an execute_request (Jupyter messaging 5.3) on the shell channel.
std::string execute_request(const std::string& msg_id, const std::string& session, const std::string& user,
                            const std::string& code);

JourneyResult journey(Session& session, const JourneyOptions& options);
// The same, building the result in `result` as the run goes: when it throws (setting up the
// students failed or was interrupted), `result` holds what was done until then.
void journey(Session& session, const JourneyOptions& options, JourneyResult& result);

} // namespace hubstress
