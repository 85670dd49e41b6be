#pragma once
// The one spawn protocol, for stress-test's window and for every student: the start request (a 429
// or 503 handed to the caller's pacing), then the spawn's progress stream, event by event as they
// arrive, asked again when it breaks or ends without a verdict, until ready, failed (with the
// spawner's message) or the deadline.
#include "hubstress/hub/client.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hubstress {

// How a spawn ended, from an event of its progress stream (GET /users/{name}/server/progress).
struct ProgressEnd {
  bool ready = false;
  bool failed = false;
  std::string message;
};
// One event's data: a verdict when it says ready or failed, else nothing (a progress message).
std::optional<ProgressEnd> progress_verdict(std::string_view data);

struct SpawnPlan {
  std::string user;
  Request start;           // ApiKind::start_server: the REST call, or a browser's GET (or POST) /hub/spawn
  bool browser = false;    // accepted when redirected to the spawn-pending page or the server itself
  Request progress;        // ApiKind::progress (a browser adds its Referer)
  double start_timeout_s;  // the start request, waits after a 429 or 503 included
  double ready_timeout_s;  // from the first start request to ready
};

enum class SpawnHow {
  ready,        // the hub said ready (a 201, or the ready event)
  failed,       // the progress stream's failed event: `reason` is the spawner's message ("" when none)
  refused,      // the start request was not accepted: `reason` says what came back
  timed_out,    // not started (`started` false) or not ready in time; `reason`: the last thing heard
  interrupted,  // a stop request ended it
};

struct SpawnEnd {
  using Clock = std::chrono::steady_clock;
  SpawnHow how = SpawnHow::interrupted;
  bool started = false;      // the start request was accepted
  std::string reason;
  Outcome start_outcome = Outcome::ok;  // of the last start request
  Clock::time_point sent{};      // the first start request
  Clock::time_point accepted{};  // the answer that accepted it
  Clock::time_point ready{};     // the ready event (or the 201)
  int throttled = 0;             // 429 answers to its start requests
  double throttled_s = 0;        // seconds waited to re-send after a 429 or 503
};

// What the caller does with a start request answered 429 or 503: wait until it may be sent again
// (again), or end the spawn (refused, or timed out) with a reason.
struct ThrottleAnswer {
  bool again = false;
  bool timed_out = false;
  std::string reason;
};
using ThrottleWait = std::function<Task<ThrottleAnswer>(const Response& answer)>;

// `on_started` hears the accepting answer before the progress stream is opened.
Task<SpawnEnd> spawn_and_wait(HubClient& client, SpawnPlan plan, const ThrottleWait& throttled,
                              std::function<void(const SpawnEnd&)> on_started, std::stop_token stop = std::stop_token());

} // namespace hubstress
