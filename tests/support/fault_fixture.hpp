#pragma once
// The fixture of the fault tests (tests/fault/test_faults_*.cpp): a FaultHub per test, session
// options aimed at it with a fast retry policy, and the library's log captured so that a test can
// check warnings and that the token never shows up in any line. Plus small helpers those tests share.
#include "fault_hub.hpp"

#include "hubstress/log.hpp"
#include "hubstress/hub/retry.hpp"
#include "hubstress/hub/session.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace hubstress::testing::fault {

inline constexpr const char* kToken = "fault-token-123";

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---------------------------------------------------------------------------------------------
// Captured log of the library's "hub-stress-test" logger: lets tests check warnings and that the
// token never shows up in any line. Inline: one stream for the whole test binary.

inline std::ostringstream& captured_log() {
  static std::ostringstream stream;
  return stream;
}

inline void capture_library_log() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured_log());
  sink->set_pattern("%l %v");
  auto log = std::make_shared<spdlog::logger>(hubstress::kLoggerName, sink);
  log->set_level(spdlog::level::debug);
  spdlog::drop(hubstress::kLoggerName);
  spdlog::register_logger(log);
}

// ---------------------------------------------------------------------------------------------

inline hubstress::RetryPolicy fast_policy(int max_retries = 3) {
  hubstress::RetryPolicy p;
  p.max_retries = max_retries;
  p.base_delay_s = 0.01;
  p.max_delay_s = 0.5;
  return p;
}

inline bool one_line(const std::string& text) { return text.find('\n') == std::string::npos && text.find('\r') == std::string::npos; }

inline std::string header(const Seen& s, const std::string& name) {
  auto it = s.headers.find(name);  // httplib's Headers compare names case-insensitively
  return it == s.headers.end() ? std::string() : it->second;
}

inline std::string param(const Seen& s, const std::string& name) {
  auto it = s.params.find(name);
  return it == s.params.end() ? std::string() : it->second;
}

inline std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// ---------------------------------------------------------------------------------------------

class Faults : public ::testing::Test {
protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // a peer that gave up must not kill the test process
    capture_library_log();
    captured_log().str("");
    hub = std::make_unique<FaultHub>();
  }

  void TearDown() override {
    hub->stop();
    const std::string log = captured_log().str();
    EXPECT_EQ(log.find(kToken), std::string::npos) << "the token appeared in the library's log";
    if (HasFailure()) std::cerr << "--- library log of this test ---\n" << log << "--- end ---\n";
  }

  hubstress::SessionOptions options(hubstress::RetryPolicy policy = fast_policy()) const {
    hubstress::SessionOptions o;
    o.endpoint = hub->endpoint();
    o.token = kToken;
    o.timeout_s = 5.0;
    o.retry = policy;
    return o;
  }

  static std::string log_text() { return captured_log().str(); }

  std::unique_ptr<FaultHub> hub;
};

} // namespace hubstress::testing::fault
