#include "hubstress/engine/loop.hpp"

#include "loop_impl.hpp"
#include "waiter.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <stdexcept>

#include <unistd.h>

namespace hubstress::engine {

const char* to_string(Errc errc) {
  switch (errc) {
  case Errc::ok: return "ok";
  case Errc::timeout: return "timeout";
  case Errc::cancelled: return "cancelled";
  case Errc::dns_failed: return "host not found";
  case Errc::connect_failed: return "connection failed";
  case Errc::tls_failed: return "TLS failure";
  case Errc::transport_failed: return "transport failure";
  case Errc::closed: return "closed";
  }
  return "unknown";
}

Clock::time_point deadline_after(Clock::duration timeout) {
  const auto now = Clock::now();
  if (timeout <= Clock::duration::zero()) return now;
  if (timeout >= Clock::time_point::max() - now) return Clock::time_point::max();
  return now + timeout;
}

// ---------------------------------------------------------------------------------------------
// Waiter

Task<Errc> Waiter::wait(Clock::time_point deadline, const std::stop_token& stop) {
  for (;;) {
    if (notified_) {
      notified_ = false;
      co_return Errc::ok;
    }
    if (stop.stop_requested()) co_return Errc::cancelled;
    if (Clock::now() >= deadline) co_return Errc::timeout;
    timer_.expires_at(deadline);
    std::stop_callback on_stop(stop, [this] { timer_.cancel(); });
    boost::system::error_code ignored; // which of the three happened is read from the state above
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

// ---------------------------------------------------------------------------------------------
// CurlDriver

namespace {
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};
} // namespace

struct CurlDriver::Watch {
  Watch(asio::io_context& io, curl_socket_t socket) : descriptor(io, socket), fd(socket) {}
  asio::posix::stream_descriptor descriptor; // watches the socket; never closes it (released)
  curl_socket_t fd;
  int what = 0;         // CURL_POLL_IN, _OUT or _INOUT: what libcurl waits for
  bool reading = false; // an async_wait for readability is pending
  bool writing = false;
  bool gone = false;    // libcurl is done with this socket
};

CurlDriver::CurlDriver(asio::io_context& io) : io_(io), timer_(std::make_unique<asio::steady_timer>(io)) {
  static CurlGlobal global;
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

bool CurlDriver::add(CurlJob& job) {
  if (multi_ == nullptr) return false;
  curl_easy_setopt(job.easy, CURLOPT_PRIVATE, static_cast<void*>(&job));
  curl_easy_setopt(job.easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlDriver::on_close);
  curl_easy_setopt(job.easy, CURLOPT_CLOSESOCKETDATA, this);
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
  for (auto& [fd, watch] : watches_) {
    watch->gone = true;
    watch->descriptor.release();
  }
  watches_.clear();
  CURLM* multi = multi_;
  multi_ = nullptr; // callbacks during the clean-up below find an inert driver
  curl_multi_cleanup(multi);
  timer_.reset();
}

int CurlDriver::on_socket(CURL*, curl_socket_t fd, int what, void* driver, void*) {
  auto* self = static_cast<CurlDriver*>(driver);
  auto it = self->watches_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    // Nothing to wait for now; the connection may serve the next request (on_close lets it go).
    if (it != self->watches_.end()) it->second->what = 0;
    return 0;
  }
  if (self->multi_ == nullptr) return 0;
  if (it == self->watches_.end()) {
    it = self->watches_.emplace(fd, std::make_shared<Watch>(self->io_, fd)).first;
  }
  it->second->what = what;
  self->arm(it->second);
  return 0;
}

int CurlDriver::on_close(void* driver, curl_socket_t fd) {
  auto* self = static_cast<CurlDriver*>(driver);
  auto it = self->watches_.find(fd);
  if (it != self->watches_.end()) {
    it->second->gone = true;
    it->second->descriptor.release(); // out of the reactor before the number can be reused
    self->watches_.erase(it);
  }
  return ::close(fd);
}

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

void CurlDriver::arm(const std::shared_ptr<Watch>& watch) {
  using Base = asio::posix::descriptor_base;
  auto self = shared_from_this();
  if ((watch->what & CURL_POLL_IN) != 0 && !watch->reading) {
    watch->reading = true;
    watch->descriptor.async_wait(Base::wait_read, [self, watch](const boost::system::error_code& ec) {
      watch->reading = false;
      if (ec || watch->gone) return;
      self->action(watch->fd, CURL_CSELECT_IN);
      if (!watch->gone) self->arm(watch);
    });
  }
  if ((watch->what & CURL_POLL_OUT) != 0 && !watch->writing) {
    watch->writing = true;
    watch->descriptor.async_wait(Base::wait_write, [self, watch](const boost::system::error_code& ec) {
      watch->writing = false;
      if (ec || watch->gone) return;
      self->action(watch->fd, CURL_CSELECT_OUT);
      if (!watch->gone) self->arm(watch);
    });
  }
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

// ---------------------------------------------------------------------------------------------
// Loop

Loop::Loop() : impl_(std::make_unique<Impl>()) {}
Loop::~Loop() = default;

asio::io_context& Loop::context() { return impl_->io; }

void Loop::spawn(Task<void> flow) {
  ++impl_->flows;
  asio::co_spawn(impl_->io, std::move(flow), [impl = impl_.get()](std::exception_ptr error) {
    if (--impl->flows == 0) impl->io.stop();
    if (error) std::rethrow_exception(error);
  });
}

void Loop::run() {
  if (impl_->flows == 0) return;
  impl_->io.restart();
  impl_->io.run();
}

void Loop::block_on(Task<void> flow) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(impl_->io, std::move(flow), [&done, &error](std::exception_ptr e) {
    error = e;
    done = true;
  });
  while (!done) {
    if (impl_->io.stopped()) impl_->io.restart();
    impl_->io.run_one();
  }
  if (error) std::rethrow_exception(error);
}

namespace {
void wait_for_signal(asio::signal_set& set, std::shared_ptr<std::function<void(int)>> on_signal) {
  set.async_wait([&set, on_signal](const boost::system::error_code& ec, int number) {
    if (ec) return;
    (*on_signal)(number);
    wait_for_signal(set, on_signal);
  });
}
} // namespace

void Loop::on_signals(const std::vector<int>& signals, std::function<void(int)> on_signal) {
  auto set = std::make_unique<asio::signal_set>(impl_->io);
  for (int number : signals) set->add(number);
  wait_for_signal(*set, std::make_shared<std::function<void(int)>>(std::move(on_signal)));
  impl_->signal_sets.push_back(std::move(set));
}

// ---------------------------------------------------------------------------------------------
// sleep, Group

Task<Result> sleep(Clock::duration duration, std::stop_token stop) {
  Waiter waiter(co_await asio::this_coro::executor);
  const Errc errc = co_await waiter.wait(deadline_after(duration), stop);
  if (errc == Errc::cancelled) co_return Result{Errc::cancelled, "cancelled"};
  co_return Result{}; // the time elapsed: what a sleep is for
}

struct Group::State {
  explicit State(const asio::any_io_executor& executor) : done(executor) {}
  Waiter done;
  std::size_t running = 0;
  std::exception_ptr error;
};

Group::Group(Loop& loop) : loop_(loop), state_(std::make_shared<State>(loop.context().get_executor())) {}
Group::~Group() = default;

void Group::spawn(Task<void> flow) {
  ++state_->running;
  asio::co_spawn(loop_.context(), std::move(flow), [state = state_](std::exception_ptr error) {
    if (error && !state->error) state->error = error;
    if (--state->running == 0) state->done.notify();
  });
}

Task<void> Group::wait() {
  while (state_->running > 0) {
    co_await state_->done.wait(Clock::time_point::max(), std::stop_token());
  }
  if (state_->error) std::rethrow_exception(std::exchange(state_->error, nullptr));
}

std::size_t Group::running() const { return state_->running; }

// ---------------------------------------------------------------------------------------------
// Ticker

struct Ticker::State : std::enable_shared_from_this<Ticker::State> {
  State(asio::io_context& io, Clock::duration every, std::function<void()> fn)
      : timer(io), period(every), tick(std::move(fn)) {}
  asio::steady_timer timer;
  Clock::duration period;
  std::function<void()> tick;
  bool stopped = false;

  void arm() {
    auto next = timer.expiry() + period;
    if (next < Clock::now()) next = Clock::now() + period; // late: no burst of ticks to catch up
    timer.expires_at(next);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped) return;
      self->tick();
      if (!self->stopped) self->arm();
    });
  }
};

Ticker::Ticker(Loop& loop, Clock::duration period, std::function<void()> tick)
    : state_(std::make_shared<State>(loop.context(), std::max<Clock::duration>(period, std::chrono::milliseconds(1)),
                                     std::move(tick))) {
  state_->timer.expires_at(Clock::now());
  state_->arm();
}

Ticker::~Ticker() {
  state_->stopped = true; // a handler already queued finds it stopped and lets go of the state
  state_->timer.cancel();
}

} // namespace hubstress::engine
