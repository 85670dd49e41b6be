#pragma once
// For the fault tests (tests/fault/test_faults_*.cpp): a fake JupyterHub API on 127.0.0.1
// (cpp-httplib) that misbehaves on demand, and a raw TCP listener for what httplib will not do.
// Not to be confused with tests/support/fake_hub.hpp, which launches fake_hub.py in a child process.
// Only loopback traffic: every server here binds 127.0.0.1 on a free port.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hubstress::testing::fault {

using Clock = std::chrono::steady_clock;

struct Seen {                 // one request as the server received it
  std::string method;
  std::string path;           // without the query
  httplib::Params params;     // the query
  httplib::Headers headers;
  std::string body;
  Clock::time_point at;
};

struct Call {                 // what a route handler gets
  const httplib::Request& req;
  std::vector<std::string> args;  // the path segments matched by "{}" in the route's pattern
  int hit;                        // 1 for the first request this route has answered
};

using Handler = std::function<void(const Call&, httplib::Response&)>;

// Matches a path against a pattern: "{}" one non-empty segment (captured), "*" any run of
// characters, "[ab]" one of the listed characters, anything else itself.
bool path_matches(std::string_view pattern, std::string_view path, std::vector<std::string>* captures = nullptr);

void reply_json(httplib::Response& res, int status, const nlohmann::json& body);
void reply_error(httplib::Response& res, int status, const std::string& message);

enum class ServerState { none, running, stopping };

struct FakeUser {
  std::string name;
  ServerState server = ServerState::none;
  int stop_polls_left = 0;  // while stopping: state=active listings that still show the server
};

// The fake hub: JupyterHub 3.0's answers for the routes the user-management functions use, which a
// test overrides route by route with on().
class FaultHub {
public:
  FaultHub();
  ~FaultHub() { stop(); }
  FaultHub(const FaultHub&) = delete;
  FaultHub& operator=(const FaultHub&) = delete;

  void stop();

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hub/api"; }

  // Routes are tried newest first: a test overrides the default JupyterHub behaviour of a route.
  // Patterns: "{}" is one path segment (captured into Call::args), "*" anything, "[ab]" one of a, b.
  void on(const std::string& method, const std::string& pattern, Handler handler);

  // Requests received so far, optionally only `method` on paths matching `pattern`.
  std::vector<Seen> seen(const std::string& method = {}, const std::string& pattern = "*") const;
  std::size_t request_count() const { return seen().size(); }

  // --- the hub's state (guarded by mu) ---
  mutable std::mutex mu;
  std::vector<FakeUser> users;
  std::map<std::string, Clock::time_point> stopped_at;  // when a stopping server really stopped
  int stop_polls = 0;          // state=active listings that still show a server after a stop request
  std::int64_t max_page = 200;

  void add_user(const std::string& name, ServerState server = ServerState::none) {
    std::lock_guard<std::mutex> lock(mu);
    users.push_back(FakeUser{name, server, 0});
  }
  bool has_user(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu);
    return find(name) != nullptr;
  }
  std::vector<std::string> user_names() const {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const auto& u : users) out.push_back(u.name);
    return out;
  }

  // Callers hold mu.
  const FakeUser* find(const std::string& name) const {
    auto it = std::find_if(users.begin(), users.end(), [&](const FakeUser& u) { return u.name == name; });
    return it == users.end() ? nullptr : &*it;
  }
  FakeUser* find(const std::string& name) {
    return const_cast<FakeUser*>(static_cast<const FaultHub*>(this)->find(name));
  }
  static nlohmann::json model(const FakeUser& u);

  // Creates users the way POST /users does (skipping existing names); returns the new ones.
  std::vector<std::string> create(const std::vector<std::string>& names);

private:
  struct Route {
    std::string method;
    std::string pattern;
    Handler handler;
    int hits;
  };

  void handle(const httplib::Request& req, httplib::Response& res);
  // What JupyterHub 3.0 does (SPEC §4), for the routes the user-management functions use.
  void install_jupyterhub_routes();

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex routes_mu_;
  std::vector<std::shared_ptr<Route>> routes_;
  mutable std::mutex log_mu_;
  std::vector<Seen> log_;
};

// A raw TCP listener for what httplib will not do: drop a connection without answering, or cut a
// response short. One action per accepted connection, from `script` (the last one repeats).
class RawServer {
public:
  enum class Act { drop, truncate, answer };

  explicit RawServer(std::vector<Act> script);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hub/api"; }
  int accepted() const { return accepted_; }

private:
  void loop();
  static void read_request_head(int conn);
  static void send_all(int conn, const std::string& data);

  std::vector<Act> script_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> running_{true};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A loopback port with nothing listening on it (bound, then closed).
int closed_loopback_port();

} // namespace hubstress::testing::fault
