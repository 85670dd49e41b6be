#include "commands.hpp"

#include "hubstress/log.hpp"
#include "hubstress/users.hpp"

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

} // namespace

int run_command(const Config& config) {
  if (config.command == "purge") {
    purge_users(session_options(config), config.prefix);
    return 0;
  }
  logger().error("{} is not implemented yet", config.command);
  return 128;
}

} // namespace hubstress::cli
