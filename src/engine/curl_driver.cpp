#include "curl_driver.hpp"

#include <boost/asio/post.hpp>

#include <array>
#include <cerrno>
#include <stdexcept>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hubstress::engine {

namespace {
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};
} // namespace

CurlDriver::CurlDriver(asio::io_context& io) : io_(io), timer_(std::make_unique<asio::steady_timer>(io)) {
  static CurlGlobal global;
  const int set = ::epoll_create1(EPOLL_CLOEXEC);
  if (set < 0) throw std::runtime_error("could not make an epoll set for libcurl's sockets");
  set_ = std::make_unique<asio::posix::stream_descriptor>(io, set); // closes it from here on
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("could not initialise libcurl");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlDriver::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlDriver::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // libcurl's default cache (4 connections per easy handle *currently added*) shrinks each time a
  // request ends, and closed a kept-alive connection every few requests. The cache never holds
  // more connections than were in use at once, so a high limit costs nothing more.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 100000L);
}

CurlDriver::~CurlDriver() { shutdown(); }

void CurlDriver::adopt(CURL* easy) {
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlDriver::on_open);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlDriver::on_close);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
}

bool CurlDriver::add(CurlJob& job) {
  if (multi_ == nullptr) return false;
  curl_easy_setopt(job.easy, CURLOPT_PRIVATE, static_cast<void*>(&job));
  if (curl_multi_add_handle(multi_, job.easy) != CURLM_OK) return false;
  link(job);
  return true;
}

void CurlDriver::remove(CurlJob& job) {
  if (multi_ == nullptr || !job.in_multi_) return;
  unlink(job);
  curl_multi_remove_handle(multi_, job.easy);
}

void CurlDriver::link(CurlJob& job) {
  job.in_multi_ = true;
  job.prev_ = nullptr;
  job.next_ = jobs_;
  if (jobs_ != nullptr) jobs_->prev_ = &job;
  jobs_ = &job;
}

void CurlDriver::unlink(CurlJob& job) {
  job.in_multi_ = false;
  if (job.prev_ != nullptr) job.prev_->next_ = job.next_;
  else jobs_ = job.next_;
  if (job.next_ != nullptr) job.next_->prev_ = job.prev_;
  job.prev_ = job.next_ = nullptr;
}

void CurlDriver::shutdown() {
  if (multi_ == nullptr) return;
  while (jobs_ != nullptr) {
    CurlJob& job = *jobs_;
    unlink(job);
    curl_multi_remove_handle(multi_, job.easy);
  }
  CURLM* multi = multi_;
  multi_ = nullptr; // callbacks during the clean-up below find an inert driver
  curl_multi_cleanup(multi); // closes the kept connections (on_close)
  watches_.clear();
  wanted_ = 0;
  boost::system::error_code ignored;
  set_->close(ignored); // every socket leaves the set with it; a pending wait ends (operation_aborted)
  timer_.reset();
}

// ---------------------------------------------------------------------------------------------
// Sockets

// A connection's socket (libcurl's other sockets, such as its threaded resolver's socketpair, are
// closed without on_close).
curl_socket_t CurlDriver::on_open(void* driver, curlsocktype, curl_sockaddr* address) {
  auto* self = static_cast<CurlDriver*>(driver);
  const curl_socket_t fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd == CURL_SOCKET_BAD) return fd;
  Watch& watch = self->watches_[fd];
  self->want(watch, 0);
  watch = Watch{}; // a number closed behind our back, now a new socket: the kernel took it out of the set
  watch.connection = true;
  return fd;
}

int CurlDriver::on_socket(CURL*, curl_socket_t fd, int what, void* driver, void*) {
  auto* self = static_cast<CurlDriver*>(driver);
  if (what == CURL_POLL_REMOVE) {
    auto it = self->watches_.find(fd);
    if (it == self->watches_.end()) return 0;
    self->want(it->second, 0);
    // A connection stays in the set: it may serve the next request (on_close takes it out). Any
    // other socket is about to be closed without on_close: out now, so its number is free.
    if (!it->second.connection) {
      self->set_watched(fd, it->second, 0);
      self->watches_.erase(it);
    }
    return 0;
  }
  if (self->multi_ == nullptr) return 0;
  self->watch(fd, what);
  return 0; // -1 would end every transfer of the multi handle (libcurl 7.88)
}

void CurlDriver::want(Watch& watch, int what) {
  if ((watch.what != 0) != (what != 0)) wanted_ += what != 0 ? 1 : -1;
  watch.what = what;
}

// Readable: watched from libcurl's first wait for it until the socket closes (between requests
// nothing comes unasked, and a connection the server closed is taken out when it says so).
// Writable: only while libcurl waits for it (a socket nearly always is: level-triggered, it would
// wake the loop at every turn).
void CurlDriver::watch(curl_socket_t fd, int what) {
  Watch& watch = watches_[fd];
  want(watch, what);
  std::uint32_t events = watch.watched;
  if ((what & CURL_POLL_IN) != 0) events |= EPOLLIN;
  if ((what & CURL_POLL_OUT) != 0) events |= EPOLLOUT;
  else events &= ~static_cast<std::uint32_t>(EPOLLOUT);
  // Not watched only when the kernel refuses (out of memory, or past fs.epoll.max_user_watches):
  // the transfer then ends at its timeout.
  if (events != watch.watched) set_watched(fd, watch, events);
  wait_for_sockets();
}

// Registers `events` for fd in the set (events 0: out of the set). The set's word for a socket is
// its number and a serial of its registration, so that an event read for a socket closed since
// is not taken for a new socket given the same number.
void CurlDriver::set_watched(curl_socket_t fd, Watch& watch, std::uint32_t events) {
  const bool in_set = watch.watched != 0;
  if (events != 0 && !in_set) watch.serial = ++serial_;
  epoll_event change{};
  change.events = events;
  change.data.u64 = (std::uint64_t{watch.serial} << 32) | static_cast<std::uint32_t>(fd);
  int op = events == 0 ? EPOLL_CTL_DEL : in_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  int done = ::epoll_ctl(set_->native_handle(), op, fd, &change);
  if (done != 0 && op != EPOLL_CTL_DEL && (errno == ENOENT || errno == EEXIST)) {
    op = errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD; // the set knew better than the Watch
    done = ::epoll_ctl(set_->native_handle(), op, fd, &change);
  }
  if (done != 0 && op == EPOLL_CTL_DEL && (errno == ENOENT || errno == EBADF)) done = 0;
  if (done != 0) return; // refused by the kernel: the Watch keeps what the set holds
  watch.watched = events;
}

// The loop waits on the set itself while libcurl waits for some socket.
void CurlDriver::wait_for_sockets() {
  if (waiting_ || wanted_ == 0 || multi_ == nullptr) return;
  waiting_ = true;
  set_->async_wait(asio::posix::descriptor_base::wait_read, [weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self) return;
    self->waiting_ = false;
    if (ec || self->multi_ == nullptr) return;
    self->sockets_ready();
  });
}

// What became ready in the set (without waiting: the loop has just said something did), each
// socket handed to libcurl. One batch per turn of the loop, so that what was posted meanwhile
// (the coroutines woken by finished transfers) runs before the next: what is still ready then is
// found at the next wait (Asio re-arms the set's registration at each async_wait), as is
// what did not fit in this batch (a level-triggered set reports it again).
void CurlDriver::sockets_ready() {
  std::array<epoll_event, 256> ready;
  const int n = ::epoll_wait(set_->native_handle(), ready.data(), static_cast<int>(ready.size()), 0);
  for (int i = 0; i < n && multi_ != nullptr; ++i) {
    const auto fd = static_cast<curl_socket_t>(ready[i].data.u64 & 0xffffffffu);
    const auto serial = static_cast<std::uint32_t>(ready[i].data.u64 >> 32);
    auto it = watches_.find(fd);
    if (it == watches_.end()) {
      ::epoll_ctl(set_->native_handle(), EPOLL_CTL_DEL, fd, nullptr); // never left in the set unwatched
      continue;
    }
    if (it->second.serial != serial) continue; // closed since this batch was read; its number is a new socket's
    const int events = for_libcurl(fd, it->second, ready[i].events);
    if (events != 0) action(fd, events);
  }
  wait_for_sockets(); // n < 0 (EINTR): the next wake-up asks again
}

// The readiness libcurl asked for, as CURL_CSELECT_*; what it did not ask for is no longer
// watched, so that level-triggered it does not wake the loop again: a kept connection that the
// server closed (readable, or an error) leaves the set; libcurl finds it closed when it tries to
// reuse it.
int CurlDriver::for_libcurl(curl_socket_t fd, Watch& watch, std::uint32_t got) {
  int events = 0;
  if ((got & EPOLLIN) != 0 && (watch.what & CURL_POLL_IN) != 0) events |= CURL_CSELECT_IN;
  if ((got & EPOLLOUT) != 0 && (watch.what & CURL_POLL_OUT) != 0) events |= CURL_CSELECT_OUT;
  if ((got & (EPOLLERR | EPOLLHUP)) != 0 && watch.what != 0) events |= CURL_CSELECT_ERR;
  if (events != 0) return events;
  std::uint32_t keep = 0;
  if ((watch.what & CURL_POLL_IN) != 0) keep |= EPOLLIN;
  if ((watch.what & CURL_POLL_OUT) != 0) keep |= EPOLLOUT;
  set_watched(fd, watch, keep);
  return 0;
}

int CurlDriver::on_close(void* driver, curl_socket_t fd) {
  auto* self = static_cast<CurlDriver*>(driver);
  auto it = self->watches_.find(fd);
  if (it != self->watches_.end()) {
    self->want(it->second, 0);
    self->watches_.erase(it); // closing the socket takes it out of the set (libcurl never duplicates it)
  }
  return ::close(fd);
}

// ---------------------------------------------------------------------------------------------
// Timer

int CurlDriver::on_timer(CURLM*, long timeout_ms, void* driver) {
  static_cast<CurlDriver*>(driver)->wake_after(timeout_ms);
  return 0;
}

// Every reprogrammed steady_timer that becomes the earliest costs a timerfd_settime system call,
// and libcurl moves its timeout at every request. So: "now" is a post, not a timer; a later
// timeout than the one pending is left to the pending wake-up, which asks libcurl again
// (curl_multi_timeout) after it ran; a removed timeout (-1) is left pending for the same reason.
void CurlDriver::wake_after(long timeout_ms) {
  if (!timer_ || timeout_ms < 0) return;
  auto weak = weak_from_this();
  if (timeout_ms == 0) {
    if (kick_posted_) return;
    kick_posted_ = true;
    asio::post(io_, [weak] {
      if (auto self = weak.lock()) {
        self->kick_posted_ = false;
        self->action(CURL_SOCKET_TIMEOUT, 0);
      }
    });
    return;
  }
  const auto when = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (timer_pending_ && timer_expiry_ <= when) return;
  timer_pending_ = true;
  timer_expiry_ = when;
  timer_->expires_at(when);
  timer_->async_wait([weak](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return; // replaced by an earlier wake-up, or shut down
    self->timer_pending_ = false;
    self->action(CURL_SOCKET_TIMEOUT, 0);
  });
}

void CurlDriver::action(curl_socket_t fd, int events) {
  if (multi_ == nullptr) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  collect_finished();
  if (fd == CURL_SOCKET_TIMEOUT && multi_ != nullptr) {
    long next_ms = -1; // libcurl only calls on_timer when its timeout changes: ask it
    curl_multi_timeout(multi_, &next_ms);
    wake_after(next_ms);
  }
}

void CurlDriver::collect_finished() {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode code = msg->data.result; // msg is invalid once the handle is removed
    char* data = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &data);
    curl_multi_remove_handle(multi_, easy);
    auto* job = reinterpret_cast<CurlJob*>(data);
    if (job == nullptr || !job->in_multi_) continue;
    unlink(*job);
    job->on_done(code);
  }
}

} // namespace hubstress::engine
