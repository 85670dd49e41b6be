#pragma once
// The results of the load commands, as the reports read them: each user's spawn, each student's
// journey, the phases of a run, and the options a journey was asked with. Standard headers only.
#include "hubstress/model/stats.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstress {

class Journal;

inline constexpr std::string_view kDefaultPrefix = "hub-stress-test";

// The numbers a run may give its users: those with N % modulus == residue. A plain run may take
// every number; shard I of N takes those with N % count == (I + 1) % count, so that shards started
// together never pick the same name, whatever each saw on the hub when it looked.
struct NameSlot {
  std::uint64_t residue = 0;
  std::uint64_t modulus = 1;
};

enum class SpawnState { not_started, requested, ready, failed, timed_out };
const char* to_string(SpawnState state);

// One user's server start.
struct SpawnRecord {
  std::string user;
  SpawnState state = SpawnState::not_started;
  double requested_at_s = -1;  // seconds from the start of the spawn phase to the first start request
  double ready_after_s = -1;   // seconds from the first start request to ready (ready servers only)
  double ended_at_s = -1;      // seconds from the start of the spawn phase to its end (ready, failed or timed out)
  int throttled = 0;           // 429 answers to this user's start requests
  std::string reason;          // why it failed or timed out, as the hub said it
};

// How the spawn phase went, beyond each user's record.
struct SpawnStats {
  int throttled = 0;          // 429 answers to start requests
  double throttled_s = 0;     // seconds users spent waiting to be re-sent after a 429, summed over users
  int smallest_window = 0;    // the narrowest the spawn window got (batch size when never throttled)
};

struct PhaseTime {
  std::string name;     // find, create, spawn, delete (journey: find, create, tokens, journeys, delete)
  double seconds = 0;
  double start_s = -1;  // when it began, seconds from the session's start (the run's time axis); -1: unknown
};

struct StressResult {
  std::vector<PhaseTime> phases;
  std::vector<std::string> created;     // users this run created
  std::vector<SpawnRecord> spawns;
  SpawnStats spawn_stats;
  bool deleted = true;                  // every created user was removed (true with --keep)
  int ready() const;
  int failed() const;                   // failed or timed out
  Distribution ready_times() const;     // spawn-to-ready seconds of the ready servers
};

struct ActivityResult {
  std::vector<std::string> used;      // users that got activity updates
  std::vector<std::string> created;   // the ones this run created
  std::vector<double> post_s;         // seconds per 2xx activity update
  std::vector<double> ping_s;         // seconds per 2xx GET /users/{first user}
  int post_errors = 0;                // activity updates that did not answer 2xx
  std::map<std::string, std::pair<int, int>> per_user;  // user -> (2xx updates, failed updates)
  int ping_errors = 0;                // pings that did not answer 2xx
  int workers = 0;                    // senders actually used (capped at count)
  bool deleted = true;
};

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

struct ArrivalPlace {
  int index = 0;
  int count = 1;
  int total = 0;  // 0: the class is this run's `count`
};

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
  double load_at_unix_s = 0;           // when the load begins (--start-at), Unix seconds; 0: at once.
                                       // A token minted before it lives through the wait too
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
  double left_s = -1;        // when its journey ended (done, failed, or left), from the start of the journeys phase; -1: unknown
  bool server_stopped = false;  // capacity --stay: it stopped its own server when it left
  int stage = -1;            // capacity: the stage it arrived in
  bool ok() const { return failed_step.empty(); }
  // a signal ended its journey (on the way, or before it arrived): neither done nor failed
  bool interrupted() const { return !ok() && reason.rfind("interrupted", 0) == 0; }
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

} // namespace hubstress
