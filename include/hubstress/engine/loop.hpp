#pragma once
// The engine's one scheduler: an Asio io_context that also drives libcurl (multi socket API).
// Every socket and timer of the engine lives on it, and a flow is a C++20 coroutine on it:
// thousands of flows (one per simulated user) run at once on the thread that calls run().
//
// Every await takes a timeout (or a deadline) and a std::stop_token and never throws for a
// network outcome: it returns a result carrying an Errc. A stop request ends each await with
// Errc::cancelled; the flow then runs its own clean-up, with another token if that clean-up
// must talk to the network (see Interrupt). Stop requests are made on the loop's thread (a
// signal via on_signals(), another flow, or asio::post from elsewhere). Without a token, an
// await can only end by its timeout.
//
// GCC 12 destroys a braced temporary of class type twice when it appears inside a co_await
// expression (`co_await f(Options{})`, `co_await f(x, {})`): name such an argument first, or
// leave a defaulted one out. The stop tokens are defaulted so that `{}` is never needed for them.
#include <utility> // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace hubstress::engine {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
template <class T = void> using Task = asio::awaitable<T>;

// How an await ended. Each result type of the engine carries one, with a reason for a failure.
enum class Errc {
  ok,
  timeout,          // the await's own timeout ran out
  cancelled,        // its stop token was triggered
  dns_failed,       // the host name did not resolve
  connect_failed,   // no TCP connection (refused, unreachable)
  tls_failed,       // TLS handshake or certificate
  transport_failed, // the connection broke: reset, cut off mid-answer or mid-message, bad framing
  closed,           // the peer ended a stream or a WebSocket cleanly
};
const char* to_string(Errc errc);

// The outcome of an await that yields nothing else (sleep, WebSocket send/ping/close).
struct Result {
  Errc errc = Errc::ok;
  std::string reason; // why it failed; empty when ok
  explicit operator bool() const { return errc == Errc::ok; }
};

// `timeout` from now, saturated so that a huge timeout means "no timeout" instead of overflowing.
Clock::time_point deadline_after(Clock::duration timeout);

class Loop {
public:
  Loop();
  ~Loop(); // ends every flow still suspended (their destructors run), then frees the sockets
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  asio::io_context& context();

  // Starts a flow; it runs when run() runs. An exception escaping a flow is rethrown by run().
  void spawn(Task<void> flow);
  // Runs the loop on this thread until every spawned flow has ended.
  void run();
  // Runs the loop on this thread until `flow` has ended, and rethrows what escaped it. Other flows,
  // streams and tickers on the loop go on meanwhile, but do not keep it running: the way a
  // synchronous caller (a command's phase) awaits a coroutine.
  void block_on(Task<void> flow);

  // Calls `on_signal(signal_number)` on the loop's thread for each of these signals (SIGINT,
  // SIGTERM) while run() runs: the async-signal-safe way to turn Ctrl-C into stop requests.
  void on_signals(const std::vector<int>& signals, std::function<void(int)> on_signal);

  struct Impl; // shared with the engine's other source files
  Impl& impl() { return *impl_; }

private:
  std::unique_ptr<Impl> impl_;
};

// Waits `duration`: Errc::ok once it elapsed, Errc::cancelled when `stop` came first.
Task<Result> sleep(Clock::duration duration, std::stop_token stop = std::stop_token());

// Flows started together and awaited together (one per user, say). Exceptions are kept and the
// first one is rethrown by wait().
class Group {
public:
  explicit Group(Loop& loop);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  void spawn(Task<void> flow);
  // Until every flow spawned here has ended (no timeout: each flow has its own).
  Task<void> wait();
  std::size_t running() const;

private:
  struct State;
  Loop& loop_;
  std::shared_ptr<State> state_;
};

// Calls `tick` every `period` on the loop's thread while the loop runs (the first call one period
// after construction), without keeping run() going: a live display, a hub watcher. A tick that
// comes late (the loop was busy or not running) is not made up for. Stops when destroyed.
class Ticker {
public:
  Ticker(Loop& loop, Clock::duration period, std::function<void()> tick);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

private:
  struct State;
  std::shared_ptr<State> state_;
};

// Two stop sources for Ctrl-C: the first interrupt stops the work (every flow's awaits end with
// Errc::cancelled and the flows clean up), the second also stops the clean-up.
struct Interrupt {
  std::stop_source work;
  std::stop_source cleanup;
  // The first call stops `work`, the next ones `cleanup` too.
  void raise() {
    if (!work.stop_requested()) {
      work.request_stop();
    } else {
      cleanup.request_stop();
    }
  }
};

} // namespace hubstress::engine
