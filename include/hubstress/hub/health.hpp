#pragma once
// The hub's health as a run sees it (GET /hub/health), to tell a restarting hub's 404s from real
// ones. Behind a proxy (an ingress, or configurable-http-proxy's default route) a hub that restarts
// is answered 404 for every route, its health check included, until it is back; a spawn or a scrape
// of /hub/metrics answered 404 then is asked again, while a 404 from a hub that is healthy (and was
// a moment ago) is the hub's answer.
#include "hubstress/hub/client.hpp"

#include <chrono>
#include <optional>
#include <stop_token>

namespace hubstress {

// The route the health checks are recorded under.
inline constexpr const char* kHubHealthRoute = "/hub/health";

class HubHealth {
public:
  using Clock = std::chrono::steady_clock;
  // How long after a failed health check the hub counts as just recovered: its 404s are still
  // taken as the restart's (a proxy may route the hub again a little after the hub answers).
  static constexpr std::chrono::seconds kSettleTime{10};

  // One health check's result; true when it changed what was known (healthy -> failing or back).
  bool saw(bool healthy, Clock::time_point at = Clock::now());
  // The last check failed, or one failed less than kSettleTime before `now`.
  bool unsettled(Clock::time_point now = Clock::now()) const;

private:
  bool healthy_ = true;
  std::optional<Clock::time_point> failed_at_;
};

// After a 404 from `client`: checks the hub's health (GET {root}/hub/health, no retries, at most 5 s)
// and keeps the result in the run's HubHealth. True when the 404 may be the restart's (the hub is
// not healthy, or was not a moment ago): the caller asks again; false when it is the hub's answer
// (also when the run has no health URL, or the check was cut off).
Task<bool> restart_404(HubClient& client, std::stop_token stop = std::stop_token());

} // namespace hubstress
