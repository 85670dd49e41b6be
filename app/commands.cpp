#include "commands.hpp"

#include "hubstress/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/stress.hpp"
#include "hubstress/users.hpp"

#include <map>

namespace hubstress::cli {

namespace {

SessionOptions session_options(const Config& c) {
  SessionOptions o;
  o.endpoint = c.endpoint;
  o.token = c.token;
  o.dry_run = c.dry_run;
  o.insecure = c.insecure;
  o.ca_bundle = c.ca_bundle;
  o.timeout_s = c.timeout_s;
  return o;
}

void log_requests(const Session& session, std::size_t users) {
  const auto& records = session.records();
  logger().info("HTTP requests: {} answered ({:.1f} per user), {} retries", records.size(),
                users ? static_cast<double>(records.size()) / static_cast<double>(users) : 0.0, session.retries());
}

int report_stress(const StressResult& r, const Session& session) {
  for (const auto& phase : r.phases) logger().info("Phase {}: {:.3f} s", phase.name, phase.seconds);
  logger().info("Servers ready: {} of {}; spawn to ready: {}", r.ready(), r.spawns.size(),
                format_distribution(r.ready_times()));
  if (r.spawn_stats.throttled > 0) {
    logger().info("Throttled: {} answers 429, {:.1f} s spent waiting, narrowest window {}", r.spawn_stats.throttled,
                  r.spawn_stats.throttled_s, r.spawn_stats.smallest_window);
  }
  std::map<std::string, int> reasons;
  for (const auto& s : r.spawns) {
    if (s.state != SpawnState::ready) ++reasons[s.reason];
  }
  for (const auto& [reason, n] : reasons) logger().warn("{} servers failed: {}", n, reason);
  log_requests(session, r.created.size());
  if (r.failed() > 0 || !r.deleted) {
    logger().error("stress-test failed: {} of {} servers did not become ready{}", r.failed(), r.spawns.size(),
                   r.deleted ? "" : "; some users could not be deleted (run purge)");
    return 128;
  }
  return 0;
}

} // namespace

int run_command(const Config& config) {
  if (config.command == "purge") {
    purge_users(session_options(config), config.prefix, config.batch_size);
    return 0;
  }
  Session session(session_options(config));
  logger().info("JupyterHub {} at {}", session.hub_version(), session.endpoint());
  if (config.command == "stress-test") {
    StressOptions o;
    o.count = config.count;
    o.batch_size = config.batch_size;
    o.keep = config.keep;
    o.profile = config.profile;
    o.prefix = config.prefix;
    o.server_deadline_s = config.server_deadline_s;
    return report_stress(stress_test(session, o), session);
  }
  ActivityOptions o;
  o.count = config.count;
  o.workers = config.workers;
  o.keep = config.keep;
  o.prefix = config.prefix;
  const ActivityResult r = activity_stress_test(session, o);
  log_requests(session, r.used.size());
  if (!r.deleted) {
    logger().error("activity-stress-test: some users could not be deleted (run purge)");
    return 128;
  }
  return 0;
}

} // namespace hubstress::cli
