#include "hubstress/hub/health.hpp"

#include "hubstress/log.hpp"

namespace hubstress {

bool HubHealth::saw(bool healthy, Clock::time_point at) {
  if (!healthy) failed_at_ = at;
  const bool changed = healthy != healthy_;
  healthy_ = healthy;
  return changed;
}

bool HubHealth::unsettled(Clock::time_point now) const {
  return !healthy_ || (failed_at_ && now - *failed_at_ < kSettleTime);
}

Task<bool> restart_404(HubClient& client, std::stop_token stop) {
  CallContext& context = client.context();
  if (context.health_url().empty()) co_return false;
  Request probe;
  probe.method = "GET";
  probe.path = context.health_url();
  probe.route = kHubHealthRoute;
  probe.retry = false;
  probe.timeout = std::chrono::milliseconds(5'000);
  const Response h = co_await client.call(std::move(probe), stop);
  if (h.outcome == Outcome::interrupted || h.outcome == Outcome::hub_down) co_return false;
  if (context.health().saw(h.ok()) && !h.ok()) {
    logger().warn("The hub's health check fails after a 404 ({}): the hub is taken as restarting, and its 404s "
                  "to spawns and scrapes are asked again", h.describe());
  }
  co_return context.health().unsettled();
}

} // namespace hubstress
