#pragma once
// The two load commands: stress-test (spawn servers) and activity-stress-test (SPEC §3).
#include "hubstress/hub/spawn.hpp"
#include "hubstress/journal.hpp"
#include "hubstress/session.hpp"
#include "hubstress/stats.hpp"
#include "hubstress/users.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

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

// Starts a server for each of `users`, at most `window` spawns in flight (requested and not yet ready
// or failed) as a sliding window that narrows on 429 and widens as spawns complete; follows each
// pending spawn's progress stream until ready, failed, or `deadline_s` after its start request.
std::vector<SpawnRecord> start_servers(Session& session, const std::vector<std::string>& users, int window,
                                       const std::string& profile, double deadline_s, SpawnStats& stats);

struct StressOptions {
  int count = 100;
  int batch_size = 10;
  bool keep = false;
  std::string profile;
  std::string prefix{kDefaultPrefix};
  double server_deadline_s = 300;
  Journal* journal = nullptr;  // records planned/created/deleted users when set
  NameSlot names;              // the numbers this run may take (a shard's)
  std::function<void()> before_load;  // runs just before the users are created (a shard waits for --start-at)
};

struct PhaseTime {
  std::string name;     // find, create, spawn, delete (journey: find, create, tokens, journeys, delete)
  double seconds = 0;
  double start_s = -1;  // when it began, seconds from the session's start (the run's time axis); -1: unknown
};

// Runs `phase` and says how long it took and when it began on the session's time axis.
template <typename F>
PhaseTime run_phase(const Session& session, std::string name, F&& phase) {
  const double start = session.elapsed();
  phase();
  return {std::move(name), session.elapsed() - start, start};
}

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

StressResult stress_test(Session& session, const StressOptions& options);
// The same, building the result in `result` as the run goes: when it throws (a failed or
// interrupted run), `result` holds what was measured until then, for the reports.
void stress_test(Session& session, const StressOptions& options, StressResult& result);

// The clean-up of a load command: with `keep`, journals `users` as kept; else stops and deletes
// them (a "delete" phase in `phases`) and journals them deleted. True when none is left (always
// with `keep`). A first signal lets it finish.
bool remove_run_users(Session& session, const std::vector<std::string>& users, bool keep, int batch_size, Journal* journal,
                      std::vector<PhaseTime>& phases);

// Users stopped and deleted at once by a clean-up: a busy hub stops and deletes faster 10 at a
// time than 50 (clean-up is not the load being measured).
inline constexpr int kCleanupWindow = 10;
// Hooks for create_users that journal each batch before it is sent and what it created after,
// and collect the created names into `created`.
CreateHooks journal_hooks(Journal* journal, std::vector<std::string>& created);

struct ActivityOptions {
  int count = 100;
  int workers = 100;
  bool keep = false;
  std::string prefix{kDefaultPrefix};
  double ping_interval_s = 0.1;   // pause between two pings of the hub
  double duration_s = 0;          // > 0: updates go on for this long, each sender round its users again
  Journal* journal = nullptr;     // records created/deleted users when set
  NameSlot names;                 // the numbers this run may use and take (a shard's)
  std::function<void()> before_load;  // runs just before the first activity update (a shard waits for --start-at)
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

ActivityResult activity_stress_test(Session& session, const ActivityOptions& options);
// The same, building the result in `result` as the run goes (see stress_test).
void activity_stress_test(Session& session, const ActivityOptions& options, ActivityResult& result);

// "2026-11-26T18:20:00.123456Z"
std::string iso8601_utc_now();

} // namespace hubstress
