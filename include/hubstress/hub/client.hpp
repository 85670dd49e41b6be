#pragma once
// The one HTTP client of the hub. The admin has one, and so does every student (with its own token
// or cookie jar); all of them share one CallContext: where records and the -v log go, which secrets
// are hidden from both, the retry policy, the hub that stands in for the network in a dry run (or a
// test), the clean-up breaker and the interrupt. Every call is a coroutine on the engine's loop; a retry is a wait on that loop.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/engine/sse.hpp"
#include "hubstress/engine/ws.hpp"
#include "hubstress/model/request.hpp"
#include "hubstress/hub/retry.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

template <class T = void> using Task = engine::Task<T>;

class HubHealth;  // health.hpp

struct CallSettings {
  RetryPolicy retry;
  bool insecure = false;   // skip TLS verification
  std::string ca_bundle;   // CA file for TLS verification; empty: the system's
  // Answers in place of the network (the dry run's hub, or a test's): every client's transport is
  // given it, and no request leaves the process (engine/client.hpp).
  engine::Responder stand_in;
  bool dry_run = false;    // the stand-in is the dry run's: every request is logged as "would send"
};

// What every client of one run shares.
class CallContext {
public:
  CallContext(engine::Loop& loop, CallSettings settings);
  ~CallContext();
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  engine::Loop& loop() { return loop_; }
  const CallSettings& settings() const { return settings_; }
  // In a dry run, the kernels of clients made from now on print `output` for every cell.
  void dry_run_kernel_prints(std::string output);

  // A secret the run knows (a token, URL credentials, a password): replaced by *** in every body,
  // error, reason and log line of every client. Shorter than 4 characters: ignored (it would blank
  // ordinary text).
  void add_secret(std::string_view secret);
  std::string redact(std::string text) const;

  // Every final answer of every client of the run, in the order they came.
  const std::vector<RequestRecord>& records() const { return records_; }
  // Keeps the final answer of `request` (to `shown`, its URL without credentials) and logs it at DEBUG.
  void record(const Request& request, const Response& response, const std::string& shown);
  int retries() const { return retries_; }
  // Seconds since the context was made: the time axis of the records.
  double elapsed() const;
  double at(std::chrono::steady_clock::time_point t) const;  // `t` on that axis
  double started_unix_s() const { return started_unix_s_; }  // its time 0, Unix seconds

  // The interrupt: the app's signal flag (checked every 100 ms while the loop runs) stops `work`
  // once it is up; requests that are interruptible end at once unless the run is cleaning up.
  void watch_interrupt(const std::atomic<int>* flag);
  bool interrupted() const;
  void interrupt();  // as a first signal would
  std::stop_token work() const { return work_.get_token(); }
  void set_cleaning_up(bool on) { cleaning_up_ = on; }
  bool cleaning_up() const { return cleaning_up_; }

  // The clean-up's circuit breaker: while armed, kHubDownAfter attempts in a row without an answer
  // from the hub mean it is down; every request but a probe then ends at once (Outcome::hub_down).
  static constexpr int kHubDownAfter = 5;
  void arm_breaker(bool on);
  bool hub_down() const { return hub_down_; }
  void hub_back();  // a probe got its answer: requests go out again
  std::stop_token down() const { return down_->get_token(); }
  void count_attempt(const Request& request, const Response& response, const std::string& shown);
  void count_retry(const Request& request, const Response& response, double wait, const std::string& shown);
  double jitter();  // a number in [0, 1) for the back-off

  // The hub's health check (GET {root}/hub/health, absolute; "" when unknown) and what the run's
  // clients and its watcher saw of it: a 404 while it fails is a restarting hub's (health.hpp).
  void set_health_url(std::string url) { health_url_ = std::move(url); }
  const std::string& health_url() const { return health_url_; }
  HubHealth& health() { return *health_; }
  const std::shared_ptr<HubHealth>& shared_health() const { return health_; }
  void share_health(std::shared_ptr<HubHealth> health);  // another context's (the watcher's is the run's)

private:
  engine::Loop& loop_;
  CallSettings settings_;
  std::vector<std::string> secrets_;
  std::vector<RequestRecord> records_;
  int retries_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double started_unix_s_;
  const std::atomic<int>* flag_ = nullptr;
  std::stop_source work_;
  std::optional<engine::Ticker> watch_;
  bool cleaning_up_ = false;
  bool breaker_ = false;
  bool hub_down_ = false;
  int unanswered_in_a_row_ = 0;
  std::unique_ptr<std::stop_source> down_ = std::make_unique<std::stop_source>();
  std::mt19937_64 rng_{std::random_device{}()};
  std::string health_url_;
  std::shared_ptr<HubHealth> health_;
};

// A text/event-stream answer read event by event (each with the time it arrived). Recorded once,
// when it is dropped: its kind, its status and how long it was open.
class HubStream {
public:
  HubStream();
  ~HubStream();
  HubStream(HubStream&&) noexcept;
  HubStream& operator=(HubStream&&) noexcept;

  // The answer's status and body (a non-2xx answer is read to its end); why it did not open.
  const Response& head() const;
  bool ok() const { return head().ok(); }
  // The next event; closed when the server ended the stream, timeout when none came in time.
  Task<engine::EventStream::Next> next(std::chrono::milliseconds timeout, std::stop_token stop = std::stop_token());

  struct State;
  explicit HubStream(std::unique_ptr<State> state);

private:
  std::unique_ptr<State> state_;
};

class HubClient {
public:
  // `base_url`: prefix of relative paths (the API URL for the admin, the hub's root for a student);
  // `token`: sent as "Authorization: token ..." and hidden everywhere; empty: cookies only.
  HubClient(CallContext& context, std::string base_url, std::string token = {});
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;

  // One request with its retries (bounded, Retry-After honoured), recorded and redacted. Ends early
  // with Outcome::interrupted when `stop` is requested, or the run's interrupt comes for an
  // interruptible request, and with Outcome::hub_down once the breaker opened (probes excepted).
  Task<Response> call(Request request, std::stop_token stop = std::stop_token());
  // At most `window` in flight, refilled as they complete; answers in input order. `each` hears
  // every answer as it arrives.
  Task<std::vector<Response>> call_all(std::vector<Request> requests, std::size_t window,
                                       std::function<void(std::size_t, const Response&)> each = {},
                                       std::stop_token stop = std::stop_token());
  // A text/event-stream (no retries): returns once the answer's head came in; `request.timeout`
  // bounds the head, the caller's own timeouts each event.
  Task<HubStream> stream(Request request, std::stop_token stop = std::stop_token());
  // A kernel's WebSocket (`url` relative to the base URL), recorded as ApiKind::kernel_socket.
  Task<engine::WebSocket> kernel_channel(std::string url, std::chrono::milliseconds timeout,
                                         std::stop_token stop = std::stop_token());

  // `url` made absolute against the base URL (credentials included: for requests, never shown).
  std::string absolute(std::string_view url) const { return transport_.absolute(url); }
  // The same with credentials replaced by ***: for logs.
  std::string shown(std::string_view url) const;
  CallContext& context() { return context_; }

private:
  engine::Request transport_request(const Request& r) const;
  Task<bool> attempt(const Request& request, Response& response, std::stop_token stop);

  CallContext& context_;
  engine::Client transport_;
};

// The dry run's hub: what it would answer the admin and every student, enough for every code path
// to go on as if it worked, and a kernel whose every cell prints `kernel_output`.
engine::Responder dry_run_hub(std::string kernel_output);

} // namespace hubstress
