#pragma once
// The seed's `session`: one configured HTTP client for one hub (SPEC §1).
#include "hubstress/hub/client.hpp"
#include "hubstress/model/progress.hpp"

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
  // When set, answers every request in place of the network (tests, fuzzing); dry-run sets its own.
  engine::Responder stand_in;
  // The event loop to run on, shared with other sessions (the hub watcher's); empty: one of its own.
  std::shared_ptr<engine::Loop> loop;
  // What another session saw of the hub's health (the watcher shares the run's); empty: its own.
  std::shared_ptr<HubHealth> health;
};

// The admin's side of a run (the seed's `session`, SPEC §1): the run's CallContext, the admin's
// HubClient on it, and synchronous calls for the seed's functions, each a coroutine run on the
// loop until it is answered (other flows and tickers on the loop go on meanwhile).
class Session {
public:
  explicit Session(SessionOptions options);
  ~Session();

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

  // Sends one request and runs the loop until it is answered; throws Interrupted when a signal
  // ended it. Not for use inside a coroutine (co_await admin().call(...) there).
  Response call(Request request);
  // At most `window` in flight, refilled as they complete; answers in input order.
  // `each`, when set, hears every answer as it arrives.
  std::vector<Response> call_all(std::vector<Request> requests, std::size_t window,
                                 const std::function<void(std::size_t, const Response&)>& each = {});
  // Runs `flow` on the loop until it ends (a phase written as a coroutine).
  void run(Task<void> flow) { loop_->block_on(std::move(flow)); }
  // Waits `seconds` with the loop running (tickers and other flows on it go on meanwhile).
  void pause(double seconds);

  HubClient& admin() { return admin_; }
  CallContext& context() { return context_; }
  const std::shared_ptr<engine::Loop>& loop() const { return loop_; }

  // GET {api}/ (no token needed): the hub's version, read once. Throws HubError when unreachable.
  const std::string& hub_version();
  // The version if it was read already, else "" (sends nothing).
  const std::string& known_hub_version() const { return version_; }

  // The app's signal flag: once it is up, the run's work stop token is requested (every request in
  // flight or waiting to retry ends at once: Outcome::interrupted; call() and call_all() then throw
  // Interrupted), except requests sent while cleaning up: tear-down goes on after a first signal.
  void set_interrupt_flag(const std::atomic<int>* flag) { context_.watch_interrupt(flag); }
  bool interrupted() const { return context_.interrupted(); }
  void set_cleaning_up(bool on) { context_.set_cleaning_up(on); }

  // The circuit breaker of the clean-up (CallContext::arm_breaker). wait_for_hub() probes until the
  // hub answers or gives up.
  static constexpr int kHubDownAfter = CallContext::kHubDownAfter;
  void arm_breaker(bool on) { context_.arm_breaker(on); }
  bool hub_down() const { return context_.hub_down(); }
  // Probes GET {api}/ about once a second for at most `max_s`; true (and the breaker closed) once the
  // hub answers it with a 2xx (a proxy's 503 for a dead hub is no answer).
  bool wait_for_hub(double max_s);

  // Live counters for a progress display.
  Progress& progress() { return progress_; }
  const Progress& progress() const { return progress_; }

  // Every request of the run: the admin's and every student's.
  const std::vector<RequestRecord>& records() const { return context_.records(); }
  // Seconds since the session was made: the time axis of its records (RequestRecord::start_s).
  double elapsed() const { return context_.elapsed(); }
  int retries() const { return context_.retries(); }   // retries sent, over all requests
  // The wall-clock time of the session's time 0 (when it was made), Unix seconds: where shards meet.
  double started_unix_s() const { return context_.started_unix_s(); }

private:
  static CallSettings settings_of(const SessionOptions& options);

  SessionOptions options_;
  std::string api_url_;    // where requests go, credentials included
  std::string endpoint_;   // what is shown
  std::string version_;
  Progress progress_;
  std::shared_ptr<engine::Loop> loop_;
  CallContext context_;
  HubClient admin_;
};

// Parses a body as JSON; throws HubError naming `what` when the hub sent something else.
nlohmann::json parse_json(const Response& response, const std::string& what);

} // namespace hubstress
