#pragma once
// tests/support/fake_hub.py in a child process on a free loopback port: a fake hub, proxy and user
// servers with kernels, for the faults a real hub can't produce on demand. Stopped when destroyed.
#include "hubstress/hub/session.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hubstress::testing {

class FakeHub {
public:
  // `options`: fake_hub.py's (--xsrf, --proxy-503 2, --kernel silent, ...)
  explicit FakeHub(const std::vector<std::string>& options = {});
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  static std::string token() { return "admin-token"; }
  // GET /_state: users left, servers, kernels started/deleted/open, cells run, logins, xsrf_refused.
  nlohmann::json state() const;

private:
  int pid_ = -1;
  int port_ = 0;
};

// A session of the fake hub's admin.
inline SessionOptions session_options(const FakeHub& hub) {
  SessionOptions o;
  o.endpoint = hub.url();
  o.token = FakeHub::token();
  return o;
}

} // namespace hubstress::testing
