// hub-stress-test: parse -> Config -> run -> exit code.
#include "cli.hpp"
#include "commands.hpp"
#include "logging.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"

#include <csignal>
#include <exception>
#include <iostream>

#include <sys/resource.h>

int main(int argc, char** argv) {
  using namespace hubstress;
  std::signal(SIGPIPE, SIG_IGN);  // a peer that closes mid-write is an error value, never a silent death
  // thousands of users mean thousands of sockets (a journey student holds an HTTP connection and a
  // WebSocket): lift the soft limit on open files (often 1024) to the hard one
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  const auto parsed = cli::parse(argc, argv);
  if (!parsed.config) return parsed.exit_code;
  const cli::Config& config = *parsed.config;
  try {
    cli::setup_logging(config);
  } catch (const std::exception& e) {
    std::cerr << "hub-stress-test: error: cannot write the log file: " << e.what() << "\n";
    return 1;
  }
  if (config.log_file) logger().info("Logging to {}", *config.log_file);
  logger().info("Arguments: {}", config.describe());
  try {
    return cli::run_command(config);
  } catch (const Interrupted& e) {
    logger().error("{}", e.what());  // before the run had made anything
    return 130;
  } catch (const std::invalid_argument& e) {
    logger().error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    logger().error("{}", e.what());
    return 128;
  }
}
