#pragma once
// A cpp-httplib server on 127.0.0.1 (a free port) in its own thread, for the engine's tests;
// routes are installed before it listens. Gate: a flag a test opens to let a handler go on.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace hubstress::testing {

class Gate {
public:
  void open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool is_open() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }
  // True once open; false after `limit` (so a failed test still ends).
  bool wait(std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return open_; });
  }

private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool open_ = false;
};

class LoopbackHttp {
public:
  explicit LoopbackHttp(const std::function<void(httplib::Server&)>& routes) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("test server: cannot bind 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 1000 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (!server_.is_running()) throw std::runtime_error("test server: did not start");
  }
  ~LoopbackHttp() {
    server_.stop();
    thread_.join();
  }
  LoopbackHttp(const LoopbackHttp&) = delete;
  LoopbackHttp& operator=(const LoopbackHttp&) = delete;

  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }

private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

} // namespace hubstress::testing
