#pragma once
// The two load commands: stress-test (spawn servers) and activity-stress-test (SPEC §3).
#include "hubstress/hub/spawn.hpp"
#include "hubstress/model/results.hpp"
#include "hubstress/hub/journal.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/model/stats.hpp"
#include "hubstress/hub/users.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {




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


// Runs `phase` and says how long it took and when it began on the session's time axis.
template <typename F>
PhaseTime run_phase(const Session& session, std::string name, F&& phase) {
  const double start = session.elapsed();
  phase();
  return {std::move(name), session.elapsed() - start, start};
}


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


ActivityResult activity_stress_test(Session& session, const ActivityOptions& options);
// The same, building the result in `result` as the run goes (see stress_test).
void activity_stress_test(Session& session, const ActivityOptions& options, ActivityResult& result);

// "2026-11-26T18:20:00.123456Z"
std::string iso8601_utc_now();

} // namespace hubstress
