#pragma once
// The hub API client of the commands: many requests in flight, each with its retries, on the
// engine's one event loop (engine::Loop: Asio's io_context driving libcurl's multi socket API).
// Each request is a coroutine on that loop; its callback runs inside run_until() when the final
// answer is in, and may submit more. Retries are waits on the loop, never sleeps, so a request
// waiting out its back-off does not hold up the others. Several engines may share one loop (the
// hub watcher's and the run's), and so do the live display's and the watcher's tickers.
#include "hubstress/api_kind.hpp"
#include "hubstress/engine/sse.hpp"
#include "hubstress/retry.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hubstress {

namespace engine {
class Loop;
}

// How a request ended. Only `ok` carries an HTTP status; the others are transport failures, or
// `interrupted` (a signal ended it) and `hub_down` (not sent: the hub had stopped answering).
enum class Outcome { ok, timeout, connect_failed, dns_failed, tls_failed, transport_failed, interrupted, hub_down };
const char* to_string(Outcome outcome);

struct Request {
  ApiKind kind = ApiKind::other;  // what the call is for: reports group by it
  std::string method = "GET";
  std::string path;          // relative to the engine's base URL ("/users?offset=0"), or absolute
  std::string route;         // what reports group by: "/users/{name}/server"
  std::string body;          // sent as JSON when not empty (and for every POST)
  std::vector<std::string> headers;              // extra "Name: value" headers
  std::chrono::milliseconds timeout{30'000};     // per attempt
  bool retry = true;         // false: 429/5xx/transport failures come straight back to the caller
  bool retry_throttled = true;  // false: a 429 comes straight back (the caller adapts its window)
  bool interruptible = true;    // false: a signal lets it finish (a create whose answer says what exists)
  bool hub_probe = false;       // asks whether a hub that stopped answering is back: never refused
};

struct Response {
  Outcome outcome = Outcome::ok;
  long status = 0;                      // HTTP status; 0 when there was no HTTP answer
  std::string body;
  std::optional<double> retry_after_s;  // the Retry-After header, in seconds
  std::string error;                    // libcurl's reason for a transport failure
  double elapsed_s = 0;                 // seconds of the last attempt
  double total_s = 0;                   // seconds from the first send to this answer, waits included
  int retries = 0;                      // attempts after the first
  int unsure_attempts = 0;              // earlier attempts the hub may have acted on (timeout, cut off, 502-504)

  bool answered() const { return outcome == Outcome::ok; }
  bool ok() const { return answered() && status >= 200 && status < 300; }
  // One line for logs and errors: "HTTP 500: <body, cut to 300 characters>" or "timeout: <reason>".
  std::string describe() const;
};

struct EngineOptions {
  std::shared_ptr<engine::Loop> loop;    // the loop to run on; empty: a loop of its own
  std::string base_url;                  // prefix of every relative Request::path
  std::vector<std::string> headers;      // sent with every request (the token goes here)
  std::vector<std::string> secrets;      // replaced by *** in every answer's body and error text
  bool insecure = false;                 // skip TLS verification
  std::string ca_bundle;                 // CA file for TLS verification; empty: system default
  RetryPolicy retry;
  // When set, no request leaves the process: this answers every request (dry-run, unit tests).
  std::function<Response(const Request&)> responder;
  // Called for every final answer, before the request's own callback (records, DEBUG log).
  std::function<void(const Request&, const Response&)> observer;
  // Called before a retry is scheduled: the answer that is retried and the wait in seconds.
  std::function<void(const Request&, const Response&, double)> on_retry;
  // Called for every attempt's answer, retried or not (a circuit breaker counts these).
  std::function<void(const Request&, const Response&)> on_attempt;
  // While `refusing()` is true, each request that `refuse` gives an outcome for ends with it at once,
  // unsent, or cut off when in flight or waiting to retry (checked at every turn of the loop).
  std::function<bool()> refusing;
  std::function<std::optional<Outcome>(const Request&)> refuse;
};

class HttpEngine {
public:
  using Callback = std::function<void(Response)>;

  explicit HttpEngine(EngineOptions options);
  ~HttpEngine();
  HttpEngine(const HttpEngine&) = delete;
  HttpEngine& operator=(const HttpEngine&) = delete;

  // Starts a request now; `done` runs inside run() when the final answer is in.
  void submit(Request request, Callback done);
  // A text/event-stream request (no retries): `on_event` runs inside run() for each event as it
  // arrives (SseEvent::arrived says when) and returns false to close the stream; `done` runs once
  // when it ended: the answer's status (and body, when not 2xx), a timeout when `request.timeout`
  // ran out first (it bounds the whole stream), ok when the server or `on_event` closed it.
  using EventCallback = std::function<bool(const engine::SseEvent&)>;
  void stream(Request request, EventCallback on_event, Callback done);
  // Runs `fn` inside run() after `seconds`; the id lets its owner cancel it.
  using TimerId = std::uint64_t;
  TimerId after(double seconds, std::function<void()> fn);
  // A cancelled timer never runs (and no longer keeps run() going).
  void cancel(const std::vector<TimerId>& ids);
  // Drops every request in flight and every timer; no callback runs (an interrupted phase).
  void abort_all();
  // Runs the loop until nothing of this engine is in flight and none of its timers is pending
  // (other engines' work on a shared loop moves on meanwhile, but does not keep it running).
  void run();
  // Runs the loop for `seconds` (a wait between polls that lets tickers and other engines go on).
  void pause(double seconds);
  // Runs the loop until `done()` is true or nothing more can happen.
  void run_until(const std::function<bool()>& done);
  // Sends `requests` with at most `window` in flight; answers in the order of `requests`.
  // `each`, when set, hears every answer as it arrives (the live display counts with it).
  std::vector<Response> run_all(std::vector<Request> requests, std::size_t window,
                                const std::function<void(std::size_t, const Response&)>& each = {});

  const EngineOptions& options() const;
  const std::shared_ptr<engine::Loop>& loop() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace hubstress
