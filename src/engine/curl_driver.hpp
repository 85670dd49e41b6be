#pragma once
// Internal: libcurl's multi *socket* interface driven by the loop's io_context (curl's documented
// pattern): CURLMOPT_SOCKETFUNCTION tells which sockets to watch, each watched through an
// asio::posix::stream_descriptor with async_wait; CURLMOPT_TIMERFUNCTION sets one steady_timer.
// A socket stays registered with the reactor while libcurl keeps its connection (between the
// requests of a kept-alive connection) and is let go in CURLOPT_CLOSESOCKETFUNCTION: two epoll_ctl
// calls per request fewer.
#include "hubstress/engine/loop.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <curl/curl.h>

#include <memory>
#include <unordered_map>

namespace hubstress::engine {

// A transfer in the multi handle. on_done() runs on the loop when libcurl has finished it; it
// must not add or remove transfers (it records the result and wakes its coroutine).
class CurlJob {
public:
  virtual ~CurlJob() = default;
  virtual void on_done(CURLcode code) = 0;
  CURL* easy = nullptr;

private:
  friend class CurlDriver;
  // The driver's list of the jobs in the multi handle: intrusive, so adding a transfer allocates nothing.
  CurlJob* prev_ = nullptr;
  CurlJob* next_ = nullptr;
  bool in_multi_ = false;
};

class CurlDriver : public std::enable_shared_from_this<CurlDriver> {
public:
  explicit CurlDriver(asio::io_context& io);
  ~CurlDriver();
  CurlDriver(const CurlDriver&) = delete;
  CurlDriver& operator=(const CurlDriver&) = delete;

  bool add(CurlJob& job);    // false when the driver is shut down or libcurl refused
  void remove(CurlJob& job); // before it finished: aborts it (no on_done)
  // Removes every transfer and stops watching every socket; the driver is inert afterwards.
  void shutdown();

private:
  struct Watch;
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* driver, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* driver);
  static int on_close(void* driver, curl_socket_t fd);
  void wake_after(long timeout_ms);
  void arm(const std::shared_ptr<Watch>& watch);
  void action(curl_socket_t fd, int events);
  void collect_finished();
  void link(CurlJob& job);
  void unlink(CurlJob& job);

  asio::io_context& io_;
  CURLM* multi_ = nullptr;
  std::unique_ptr<asio::steady_timer> timer_;
  bool timer_pending_ = false;    // timer_ will fire at timer_expiry_
  Clock::time_point timer_expiry_;
  bool kick_posted_ = false;      // a "timeout now" is queued on the loop
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches_;
  CurlJob* jobs_ = nullptr; // every job in the multi handle (CurlJob::next_)
};

} // namespace hubstress::engine
