// The fake hub of the fault tests: see fault_hub.hpp.
#include "fault_hub.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace hubstress::testing::fault {

using nlohmann::json;

bool path_matches(std::string_view pattern, std::string_view path, std::vector<std::string>* captures) {
  if (pattern.empty()) return path.empty();
  if (pattern.substr(0, 2) == "{}") {
    for (std::size_t n = 1; n <= path.size() && path[n - 1] != '/'; ++n) {
      if (captures != nullptr) captures->emplace_back(path.substr(0, n));
      if (path_matches(pattern.substr(2), path.substr(n), captures)) return true;
      if (captures != nullptr) captures->pop_back();
    }
    return false;
  }
  if (pattern.front() == '*') {
    for (std::size_t n = 0; n <= path.size(); ++n) {
      if (path_matches(pattern.substr(1), path.substr(n), captures)) return true;
    }
    return false;
  }
  if (pattern.front() == '[') {
    const auto close = pattern.find(']');
    return !path.empty() && pattern.substr(1, close - 1).find(path.front()) != std::string_view::npos &&
           path_matches(pattern.substr(close + 1), path.substr(1), captures);
  }
  return !path.empty() && pattern.front() == path.front() && path_matches(pattern.substr(1), path.substr(1), captures);
}

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, {{"status", status}, {"message", message}});
}

FaultHub::FaultHub() {
  server_.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_.set_keep_alive_timeout(1);
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  server_.Get(".*", dispatch);
  server_.Post(".*", dispatch);
  server_.Delete(".*", dispatch);
  server_.Put(".*", dispatch);
  server_.Patch(".*", dispatch);
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake hub: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (!server_.is_running()) throw std::runtime_error("fake hub: server did not start");
  install_jupyterhub_routes();
}

void FaultHub::stop() {
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

void FaultHub::on(const std::string& method, const std::string& pattern, Handler handler) {
  std::lock_guard<std::mutex> lock(routes_mu_);
  routes_.insert(routes_.begin(), std::make_shared<Route>(Route{method, pattern, std::move(handler), 0}));
}

std::vector<Seen> FaultHub::seen(const std::string& method, const std::string& pattern) const {
  std::lock_guard<std::mutex> lock(log_mu_);
  std::vector<Seen> out;
  for (const auto& s : log_) {
    if ((method.empty() || s.method == method) && path_matches(pattern, s.path)) out.push_back(s);
  }
  return out;
}

json FaultHub::model(const FakeUser& u) {
  json servers = json::object();
  if (u.server == ServerState::running) {
    servers[""] = {{"name", ""}, {"ready", true}, {"pending", nullptr}, {"url", "/user/" + u.name + "/"}};
  } else if (u.server == ServerState::stopping) {
    servers[""] = {{"name", ""}, {"ready", false}, {"pending", "stop"}, {"url", "/user/" + u.name + "/"}};
  }
  return {{"kind", "user"}, {"name", u.name}, {"admin", false}, {"servers", servers}};
}

std::vector<std::string> FaultHub::create(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::string> made;
  for (const auto& n : names) {
    if (find(n) == nullptr) {
      users.push_back(FakeUser{n, ServerState::none, 0});
      made.push_back(n);
    }
  }
  return made;
}

void FaultHub::handle(const httplib::Request& req, httplib::Response& res) {
  {
    std::lock_guard<std::mutex> lock(log_mu_);
    log_.push_back(Seen{req.method, req.path, req.params, req.headers, req.body, Clock::now()});
  }
  std::shared_ptr<Route> route;
  std::vector<std::string> args;
  int hit = 0;
  {
    std::lock_guard<std::mutex> lock(routes_mu_);
    for (const auto& r : routes_) {
      args.clear();
      if (r->method == req.method && path_matches(r->pattern, req.path, &args)) {
        route = r;
        hit = ++r->hits;
        break;
      }
    }
  }
  if (!route) {
    reply_error(res, 404, "Not Found");
    return;
  }
  route->handler(Call{req, std::move(args), hit}, res);  // outside the locks: a handler may sleep
}

void FaultHub::install_jupyterhub_routes() {
  on("GET", "/hub/api/", [](const Call&, httplib::Response& res) { reply_json(res, 200, {{"version", "3.0.0"}}); });

  on("GET", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto& q = c.req;
    const std::int64_t offset = q.has_param("offset") ? std::stoll(q.get_param_value("offset")) : 0;
    std::int64_t limit = q.has_param("limit") ? std::stoll(q.get_param_value("limit")) : max_page;
    limit = std::clamp<std::int64_t>(limit, 1, max_page);
    const std::string state = q.get_param_value("state");
    const std::string filter = q.get_param_value("name_filter");
    std::lock_guard<std::mutex> lock(mu);
    std::vector<FakeUser*> matching;
    for (auto& u : users) {
      if (!filter.empty() && u.name.find(filter) == std::string::npos) continue;
      if (state == "active" && u.server == ServerState::none) continue;
      matching.push_back(&u);
    }
    const auto total = static_cast<std::int64_t>(matching.size());
    json items = json::array();
    for (std::int64_t i = offset; i < std::min(total, offset + limit); ++i) {
      FakeUser& u = *matching[static_cast<std::size_t>(i)];
      items.push_back(model(u));
      if (state == "active" && u.server == ServerState::stopping && --u.stop_polls_left <= 0) {
        u.server = ServerState::none;  // shown stopping this time, gone from the next listing
        stopped_at[u.name] = Clock::now();
      }
    }
    if (q.get_header_value("Accept").find("application/jupyterhub-pagination+json") == std::string::npos) {
      reply_json(res, 200, items);  // like the real hub: silently one page only
      return;
    }
    json next = nullptr;
    if (offset + limit < total) {
      next = {{"offset", offset + limit},
              {"limit", limit},
              {"url", "http://internal-hub:8081/hub/api/users?offset=" + std::to_string(offset + limit) +
                          "&limit=" + std::to_string(limit)}};
    }
    reply_json(res, 200,
               {{"items", items},
                {"_pagination", {{"offset", offset}, {"limit", limit}, {"total", total}, {"next", next}}}});
  });

  on("GET", "/hub/api/users/{}", [this](const Call& c, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    const FakeUser* u = find(c.args[0]);
    if (u == nullptr) return reply_error(res, 404, "No such user: " + c.args[0]);
    reply_json(res, 200, model(*u));
  });

  on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const json body = json::parse(c.req.body, nullptr, false);
    if (!body.is_object() || !body.contains("usernames") || !body["usernames"].is_array()) {
      return reply_error(res, 400, "Must specify at least one user to create");
    }
    std::vector<std::string> names;
    for (const auto& n : body["usernames"]) {
      std::string name = n.get<std::string>();
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      names.push_back(name);
    }
    const auto made = create(names);
    if (made.empty()) return reply_error(res, 409, "All 2 users already exist");
    json reply = json::array();
    for (const auto& n : made) reply.push_back({{"kind", "user"}, {"name", n}, {"servers", json::object()}});
    reply_json(res, 201, reply);
  });

  on("DELETE", "/hub/api/users/{}/server", [this](const Call& c, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    FakeUser* u = find(c.args[0]);
    if (u == nullptr) return reply_error(res, 404, "No such user");
    if (u->server == ServerState::running && stop_polls > 0) {
      u->server = ServerState::stopping;
      u->stop_polls_left = stop_polls;
    } else if (u->server == ServerState::running) {
      u->server = ServerState::none;
    }
    res.status = u->server == ServerState::stopping ? 202 : 204;
  });

  on("DELETE", "/hub/api/users/{}", [this](const Call& c, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = std::find_if(users.begin(), users.end(), [&](const FakeUser& u) { return u.name == c.args[0]; });
    if (it == users.end()) return reply_error(res, 404, "No such user");
    if (it->server == ServerState::stopping) return reply_error(res, 400, "server is stopping");
    users.erase(it);
    res.status = 204;
  });
}

RawServer::RawServer(std::vector<Act> script) : script_(std::move(script)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("raw server: socket() failed");
  const int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd_);
    throw std::runtime_error("raw server: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { loop(); });
}

RawServer::~RawServer() {
  running_ = false;
  thread_.join();
  ::close(fd_);
}

void RawServer::loop() {
  while (running_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) continue;
    const auto n = static_cast<std::size_t>(accepted_++);
    const Act act = script_.empty() ? Act::drop : script_[std::min(n, script_.size() - 1)];
    read_request_head(conn);
    const std::string body = R"({"kind": "user", "name": "hub-stress-test-1", "servers": {}})";
    if (act == Act::answer) {
      send_all(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    } else if (act == Act::truncate) {
      send_all(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body.substr(0, 20));
    }
    ::close(conn);  // Act::drop: closed without a byte of answer
  }
}

void RawServer::read_request_head(int conn) {
  std::string got;
  char buf[4096];
  const auto until = Clock::now() + std::chrono::seconds(2);
  while (got.find("\r\n\r\n") == std::string::npos && Clock::now() < until) {
    pollfd p{conn, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
    if (n <= 0) return;
    got.append(buf, static_cast<std::size_t>(n));
  }
}

void RawServer::send_all(int conn, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(conn, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

int closed_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace hubstress::testing::fault
