#pragma once
// Internal: how a coroutine of the engine waits for "something happened", a deadline or a stop
// request, whichever comes first. One steady_timer per waiter; notify() cancels it.
#include "hubstress/engine/loop.hpp"

#include <boost/asio/steady_timer.hpp>

namespace hubstress::engine {

class Waiter {
public:
  explicit Waiter(const asio::any_io_executor& executor) : timer_(executor) {}

  // Wakes the waiting coroutine; without one, the next wait() returns at once.
  void notify() {
    notified_ = true;
    timer_.cancel();
  }

  // Errc::ok after notify(), Errc::timeout at the deadline, Errc::cancelled on a stop request.
  // A notification wins over a timeout or a stop that happened at the same turn of the loop.
  Task<Errc> wait(Clock::time_point deadline, const std::stop_token& stop);

private:
  asio::steady_timer timer_;
  bool notified_ = false;
};

} // namespace hubstress::engine
