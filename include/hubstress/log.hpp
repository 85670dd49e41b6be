#pragma once
// The library logs through one spdlog logger named "hub-stress-test"; the app decides its sinks.
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

namespace hubstress {

inline constexpr const char* kLoggerName = "hub-stress-test";

// The shared logger; a plain stderr one is made if the app has not registered its own.
spdlog::logger& logger();

// The seed's @timeit: logs "Took S.sss seconds to <name>" at INFO when the scope ends,
// also when it ends by an exception.
class ScopeTimer {
public:
  explicit ScopeTimer(std::string name);
  ~ScopeTimer();
  ScopeTimer(const ScopeTimer&) = delete;
  ScopeTimer& operator=(const ScopeTimer&) = delete;
  double seconds() const;

private:
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace hubstress
