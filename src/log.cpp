#include "hubstress/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace hubstress {

spdlog::logger& logger() {
  auto existing = spdlog::get(kLoggerName);
  if (!existing) {
    existing = spdlog::stderr_logger_mt(kLoggerName);
  }
  return *existing;
}

ScopeTimer::ScopeTimer(std::string name)
    : name_(std::move(name)), start_(std::chrono::steady_clock::now()) {}

ScopeTimer::~ScopeTimer() { logger().info("Took {:.3f} seconds to {}", seconds(), name_); }

double ScopeTimer::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

} // namespace hubstress
