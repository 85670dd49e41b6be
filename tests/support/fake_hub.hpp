#pragma once
// tests/support/fake_hub.py in a child process on a free loopback port: a fake hub, proxy and user
// servers with kernels, for the faults a real hub can't produce on demand. Stopped when destroyed.
#include "hubstress/hub/session.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hubstress::testing {

// Starts `script` (a Python program that prints "PORT n" first) with `args` under /usr/bin/python3,
// dying with the test; returns the port, and the child's pid in `pid`. Throws when it does not start.
int start_loopback_script(const std::string& script, const std::vector<std::string>& args, int& pid);
// Stops what start_loopback_script started.
void stop_loopback_script(int pid);

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

// tests/support/create_proxy.py in front of a real hub (`upstream`: http://127.0.0.1:PORT): forwards
// everything, but the n-th create (POST /hub/api/users) gets modes[n-1] (the last repeats): "pass",
// "swallow" (504, not forwarded), "hold" (not forwarded; 504 once released), "drop" (forwarded, the
// answer thrown away; 504 once released).
class CreateProxy {
public:
  CreateProxy(const std::string& upstream, const std::vector<std::string>& modes);
  ~CreateProxy();
  CreateProxy(const CreateProxy&) = delete;
  CreateProxy& operator=(const CreateProxy&) = delete;

  // The hub's API through the proxy.
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hub/api"; }
  // True once create n is held (waits at most `seconds`).
  bool wait_held(int n, double seconds = 120) const;
  void release(int n) const;

private:
  std::string dir_;
  int pid_ = -1;
  int port_ = 0;
};

} // namespace hubstress::testing
