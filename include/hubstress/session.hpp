#pragma once
// The seed's `session`: one configured HTTP client for one hub (SPEC §1).
#include "hubstress/http.hpp"
#include "hubstress/progress.hpp"

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace hubstress {

struct SessionOptions {
  std::string endpoint;       // hub API URL, hub URL or root URL (normalised by Session)
  std::string token;          // sent as "Authorization: token ..."; never logged
  bool dry_run = false;       // nothing leaves the process; every call succeeds
  bool insecure = false;      // skip TLS verification
  std::string ca_bundle;      // CA file for TLS verification
  double timeout_s = 30.0;    // default per-request timeout
  RetryPolicy retry;
  // When set, answers every request instead of the network (tests, fuzzing); dry-run sets its own.
  std::function<Response(const Request&)> responder;
  // The event loop to run on, shared with other sessions (the hub watcher's); empty: one of its own.
  std::shared_ptr<engine::Loop> loop;
};

// One answered request, kept for reports.
struct RequestRecord {
  ApiKind kind = ApiKind::other;
  std::string method;
  std::string route;      // "/users/{name}/server"
  long status = 0;        // 0: no HTTP answer (see outcome)
  Outcome outcome = Outcome::ok;
  double start_s = 0;     // seconds from the session's start to the first send
  double latency_s = 0;   // seconds of the last attempt
  double total_s = 0;     // seconds from the first send to the final answer, back-off included
  int retries = 0;        // attempts after the first
};

class Session {
public:
  explicit Session(SessionOptions options);

  // The hub API URL as logs and reports show it: credentials in it replaced by ***.
  const std::string& endpoint() const { return endpoint_; }
  // Where requests go, credentials included: only to build absolute URLs, never to show.
  const std::string& api_url() const { return api_url_; }
  bool dry_run() const { return options_.dry_run; }
  const SessionOptions& options() const { return options_; }

  // A hub API call of this kind (its method and route template from the kind) to `path` under the
  // API URL, or to an absolute URL, with the default timeout.
  Request request(ApiKind kind, std::string path, std::string body = {}) const;
  // Any other request (ApiKind::other); `route` names it in reports.
  Request request(std::string method, std::string path, std::string route, std::string body = {}) const;

  void submit(Request request, HttpEngine::Callback done) { engine_.submit(std::move(request), std::move(done)); }
  // Sends one request and runs the loop until it is answered. Not for use inside a callback.
  Response call(Request request);
  // At most `window` in flight, refilled as they complete; answers in input order.
  // `each`, when set, hears every answer as it arrives.
  std::vector<Response> call_all(std::vector<Request> requests, std::size_t window,
                                 const std::function<void(std::size_t, const Response&)>& each = {});
  HttpEngine& engine() { return engine_; }
  const std::shared_ptr<engine::Loop>& loop() const { return engine_.loop(); }
  // Waits `seconds` with the loop running (tickers and other sessions on it go on meanwhile).
  void pause(double seconds) { engine_.pause(seconds); }

  // GET {api}/ (no token needed): the hub's version, read once. Throws HubError when unreachable.
  const std::string& hub_version();
  // The version if it was read already, else "" (sends nothing).
  const std::string& known_hub_version() const { return version_; }

  // A flag the app raises on SIGINT/SIGTERM; long phases check interrupted() and wind down. Once it is
  // up, requests in flight or waiting to retry end within a second (Outcome::interrupted; call() and
  // call_all() then throw Interrupted), except while cleaning up: tear-down goes on after a first signal.
  void set_interrupt_flag(const std::atomic<int>* flag) { interrupt_ = flag; }
  bool interrupted() const { return interrupt_ != nullptr && interrupt_->load() > 0; }
  void set_cleaning_up(bool on) { cleaning_up_ = on; }

  // The circuit breaker of the clean-up: while armed, kHubDownAfter attempts in a row without an
  // HTTP answer mean the hub is down; every request but a probe then ends at once (Outcome::hub_down)
  // instead of each user waiting out its retries. wait_for_hub() probes until it answers or gives up.
  static constexpr int kHubDownAfter = 5;
  void arm_breaker(bool on);
  bool hub_down() const { return hub_down_; }
  // Probes GET {api}/ about once a second for at most `max_s`; true (and the breaker closed) once the
  // hub answers it with a 2xx (a proxy's 503 for a dead hub is no answer).
  bool wait_for_hub(double max_s);

  // Live counters for a progress display.
  Progress& progress() { return progress_; }
  const Progress& progress() const { return progress_; }

  const std::vector<RequestRecord>& records() const { return records_; }
  // Seconds since the session was made: the time axis of its records (RequestRecord::start_s).
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  int retries() const { return retries_; }   // retries sent, over all requests
  // The wall-clock time of the session's time 0 (when it was made), Unix seconds: where shards meet.
  double started_unix_s() const { return started_unix_s_; }

private:
  EngineOptions engine_options();
  std::string shown_url(const std::string& path) const;

  SessionOptions options_;
  std::string api_url_;    // where requests go, credentials included
  std::string endpoint_;   // what is shown
  std::string version_;
  std::vector<RequestRecord> records_;
  int retries_ = 0;
  const std::atomic<int>* interrupt_ = nullptr;
  bool cleaning_up_ = false;
  bool breaker_ = false;
  bool hub_down_ = false;
  int unanswered_in_a_row_ = 0;
  Progress progress_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double started_unix_s_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  HttpEngine engine_;
};

// What the hub would answer in a dry run: enough for every code path to go on as if it worked.
Response dry_run_answer(const Request& request);

// Parses a body as JSON; throws HubError naming `what` when the hub sent something else.
nlohmann::json parse_json(const Response& response, const std::string& what);

} // namespace hubstress
