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
