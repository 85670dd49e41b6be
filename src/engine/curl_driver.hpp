#pragma once
// Internal: libcurl's multi *socket* interface driven by the loop's io_context (curl's documented
// pattern), with one epoll set of its own for libcurl's sockets: CURLMOPT_SOCKETFUNCTION says which
// sockets to watch for what, and they are watched in that set, level-triggered; the loop waits on
// the set itself (one descriptor, one async_wait per wake-up, whatever number of sockets became
// ready). A socket stays in the set between the requests of a kept-alive connection (readable
// only when libcurl is waiting for it: an answer never comes unasked) and leaves it in
// CURLOPT_CLOSESOCKETFUNCTION. So a request costs no epoll_ctl: Asio's own wait on a descriptor
// costs one each time (it re-arms its edge-triggered registration), which was one a request.
// CURLMOPT_TIMERFUNCTION sets one steady_timer.
#include "hubstress/engine/loop.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <curl/curl.h>

#include <cstdint>
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

  // Once per easy handle, before its first add(): the driver opens and closes its sockets.
  void adopt(CURL* easy);
  bool add(CurlJob& job);    // false when the driver is shut down or libcurl refused
  void remove(CurlJob& job); // before it finished: aborts it (no on_done)
  // Removes every transfer and stops watching every socket; the driver is inert afterwards.
  void shutdown();

private:
  // A socket of libcurl's in the set: what libcurl waits for, and what the set watches it for.
  struct Watch {
    int what = 0;              // CURL_POLL_IN, _OUT or _INOUT; 0 between requests
    std::uint32_t watched = 0; // EPOLLIN and/or EPOLLOUT, as registered in the set (0: not in it)
    bool connection = false;   // opened by on_open: closed through on_close
    std::uint32_t serial = 0;  // of its registration in the set
  };
  static curl_socket_t on_open(void* driver, curlsocktype purpose, curl_sockaddr* address);
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* driver, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* driver);
  static int on_close(void* driver, curl_socket_t fd);
  void watch(curl_socket_t fd, int what);
  void want(Watch& watch, int what);
  void set_watched(curl_socket_t fd, Watch& watch, std::uint32_t events);
  int for_libcurl(curl_socket_t fd, Watch& watch, std::uint32_t got);
  void wake_after(long timeout_ms);
  void wait_for_sockets();
  void sockets_ready();
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
  std::unique_ptr<asio::posix::stream_descriptor> set_; // the epoll set of libcurl's sockets
  bool waiting_ = false;          // an async_wait on set_ is pending
  std::size_t wanted_ = 0;        // sockets libcurl waits for (Watch::what not 0)
  std::uint32_t serial_ = 0;      // of the last registration in the set
  std::unordered_map<curl_socket_t, Watch> watches_;
  CurlJob* jobs_ = nullptr; // every job in the multi handle (CurlJob::next_)
};

} // namespace hubstress::engine
