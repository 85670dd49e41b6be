#include "hubstress/hub/client.hpp"

#include "hubstress/hub/health.hpp"
#include "hubstress/hub/url.hpp"
#include "hubstress/log.hpp"

#include "stream_state.hpp"

#include <algorithm>
#include <random>

namespace hubstress {

using Clock = std::chrono::steady_clock;

const char* to_string(Outcome outcome) {
  switch (outcome) {
  case Outcome::ok: return "ok";
  case Outcome::timeout: return "timeout";
  case Outcome::connect_failed: return "connection failed";
  case Outcome::dns_failed: return "host not found";
  case Outcome::tls_failed: return "TLS failure";
  case Outcome::transport_failed: return "transport failure";
  case Outcome::interrupted: return "interrupted";
  case Outcome::hub_down: return "hub down";
  }
  return "unknown";
}

std::string Response::describe() const {
  if (!answered()) return std::string(to_string(outcome)) + ": " + error;
  const std::string text = engine::body_in_a_line(body);
  return "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text);
}

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Outcome outcome_of(engine::Errc errc) {
  switch (errc) {
  case engine::Errc::ok: return Outcome::ok;
  case engine::Errc::timeout: return Outcome::timeout;
  case engine::Errc::cancelled: return Outcome::interrupted;
  case engine::Errc::dns_failed: return Outcome::dns_failed;
  case engine::Errc::connect_failed: return Outcome::connect_failed;
  case engine::Errc::tls_failed: return Outcome::tls_failed;
  default: break;
  }
  return Outcome::transport_failed;
}

// The transport's answer (or why there is none) as this attempt's response.
void take(Response& r, engine::Answer a) {
  r.outcome = outcome_of(a.errc);
  r.status = a.answered() ? a.status : 0;
  r.body = std::move(a.body);
  r.error = a.answered() ? std::string() : std::move(a.reason);
  r.location = std::move(a.location);
  r.url = std::move(a.url);
  if (const std::string after = a.header("retry-after"); !after.empty()) r.retry_after_s = parse_retry_after(after);
}

// A call's stop: the caller's, the run's interrupt (when the request may be interrupted) and the
// breaker's (for all but probes), whichever comes first.
class CallStop {
public:
  CallStop(CallContext& context, const Request& request, const std::stop_token& caller) {
    if (caller.stop_possible()) by_caller_.emplace(caller, Cut{this, Outcome::interrupted});
    if (request.interruptible && !context.cleaning_up()) by_work_.emplace(context.work(), Cut{this, Outcome::interrupted});
    if (!request.hub_probe) by_down_.emplace(context.down(), Cut{this, Outcome::hub_down});
  }
  std::stop_token token() const { return source_.get_token(); }
  Outcome why() const { return why_; }

private:
  struct Cut {
    CallStop* self;
    Outcome why;
    void operator()() const {
      if (self->source_.stop_requested()) return;
      self->why_ = why;
      self->source_.request_stop();
    }
  };
  std::stop_source source_;
  Outcome why_ = Outcome::interrupted;
  std::optional<std::stop_callback<Cut>> by_caller_, by_work_, by_down_;
};

} // namespace

// ---------------------------------------------------------------------------------------------
// CallContext

CallContext::CallContext(engine::Loop& loop, CallSettings settings)
    : loop_(loop), settings_(std::move(settings)),
      started_unix_s_(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()),
      health_(std::make_shared<HubHealth>()) {}

void CallContext::share_health(std::shared_ptr<HubHealth> health) {
  if (health) health_ = std::move(health);
}

CallContext::~CallContext() = default;

void CallContext::dry_run_kernel_prints(std::string output) {
  if (settings_.dry_run) settings_.stand_in = dry_run_hub(std::move(output));
}

void CallContext::add_secret(std::string_view secret) {
  if (secret.size() < 4) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) == secrets_.end()) secrets_.emplace_back(secret);
}

std::string CallContext::redact(std::string text) const {
  for (const auto& secret : secrets_) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) text.replace(at, secret.size(), "***");
  }
  return text;
}

double CallContext::jitter() {
  std::uniform_real_distribution<double> in(0.0, 1.0);
  return in(rng_);
}

double CallContext::elapsed() const { return at(Clock::now()); }
double CallContext::at(Clock::time_point t) const { return seconds(t - start_); }

void CallContext::record(const Request& request, const Response& response, const std::string& shown) {
  RequestRecord rec;
  rec.kind = request.kind;
  rec.method = request.method;
  rec.route = request.route.empty() ? request.path.substr(0, request.path.find('?')) : request.route;
  rec.status = response.status;
  rec.outcome = response.outcome;
  rec.latency_s = response.elapsed_s;
  rec.total_s = response.total_s;
  rec.retries = response.retries;
  rec.start_s = response.sent == Clock::time_point{} ? elapsed() - response.total_s : at(response.sent);
  records_.push_back(std::move(rec));
  if (response.answered()) {
    logger().debug("{} {} {} {:.3f}s", request.method, shown, response.status, response.elapsed_s);
  } else {
    logger().debug("{} {} {} {:.3f}s", request.method, shown, redact(response.describe()), response.elapsed_s);
  }
}

void CallContext::watch_interrupt(const std::atomic<int>* flag) {
  flag_ = flag;
  watch_.reset();
  if (flag_ == nullptr) return;
  if (flag_->load() > 0) work_.request_stop();
  watch_.emplace(loop_, std::chrono::milliseconds(100), [this] {
    if (flag_->load() > 0 && !work_.stop_requested()) work_.request_stop();
  });
}

bool CallContext::interrupted() const { return work_.stop_requested() || (flag_ != nullptr && flag_->load() > 0); }

void CallContext::interrupt() { work_.request_stop(); }

void CallContext::arm_breaker(bool on) {
  breaker_ = on;
  unanswered_in_a_row_ = 0;
}

void CallContext::hub_back() {
  hub_down_ = false;
  unanswered_in_a_row_ = 0;
  down_ = std::make_unique<std::stop_source>();
}

void CallContext::count_attempt(const Request& request, const Response& r, const std::string& shown) {
  if (!breaker_ || request.hub_probe) return;
  // a proxy in front of a dead hub answers 502-504 for it: that is no answer from the hub either
  const bool unanswered = r.outcome == Outcome::timeout || r.outcome == Outcome::connect_failed ||
                          r.outcome == Outcome::transport_failed || (r.answered() && r.status >= 502 && r.status <= 504);
  if (!unanswered) {
    if (r.answered()) unanswered_in_a_row_ = 0;
    return;
  }
  if (++unanswered_in_a_row_ >= kHubDownAfter && !hub_down_) {
    hub_down_ = true;
    logger().error("The hub at {} stopped answering ({} requests in a row without an answer, the last: {}); "
                   "pausing the clean-up", shown, unanswered_in_a_row_, r.describe());
    down_->request_stop();
  }
}

void CallContext::count_retry(const Request& request, const Response& r, double wait, const std::string& shown) {
  ++retries_;
  logger().warn("{} {} got {}; retry {}/{} in {:.1f}s", request.method, shown, r.describe(), r.retries + 1,
                settings_.retry.max_retries, wait);
}

// ---------------------------------------------------------------------------------------------
// HubClient

HubClient::HubClient(CallContext& context, std::string base_url, std::string token)
    : context_(context), transport_(context.loop(), [&] {
        engine::ClientOptions o;
        o.base_url = std::move(base_url);
        o.token = token;
        o.insecure = context.settings().insecure;
        o.ca_bundle = context.settings().ca_bundle;
        o.responder = context.settings().stand_in;
        return o;
      }()) {
  context_.add_secret(token);
  const std::string credentials = url_credentials(transport_.options().base_url);
  context_.add_secret(credentials);
  // "admin:secret" and its password alone
  if (const auto colon = credentials.find(':'); colon != std::string::npos) context_.add_secret(credentials.substr(colon + 1));
}

std::string HubClient::shown(std::string_view url) const { return context_.redact(redact_credentials(absolute(url))); }

engine::Request HubClient::transport_request(const Request& r) const {
  engine::Request c;
  c.method = r.method;
  c.url = r.path;
  c.headers = r.headers;
  c.form = r.form;
  c.body = r.body;
  if (r.form.empty() && (!r.body.empty() || r.method == "POST" || r.method == "PATCH")) c.content_type = "application/json";
  c.follow_redirects = r.follow_redirects;
  c.timeout = r.timeout;
  c.connect_timeout = std::min(r.timeout, std::chrono::milliseconds(10'000));
  return c;
}

// One attempt's answer into `r`; false when the attempt was cut off.
Task<bool> HubClient::attempt(const Request& request, Response& r, std::stop_token stop) {
  if (context_.settings().dry_run) {
    logger().info("[dry-run] would send {} {}{}", request.method, shown(request.path),
                  request.body.empty() ? "" : " " + context_.redact(request.body.substr(0, 200)));
  }
  engine::Request out = transport_request(request);  // named: see the GCC 12 note in loop.hpp
  engine::Answer a = co_await transport_.send(std::move(out), stop);
  if (a.errc == engine::Errc::cancelled) co_return false;
  take(r, std::move(a));
  co_return true;
}

Task<Response> HubClient::call(Request request, std::stop_token caller) {
  const RetryPolicy& policy = context_.settings().retry;
  const std::string url = shown(request.path);
  CallStop stop(context_, request, caller);
  Response r;
  r.sent = Clock::now();
  for (;;) {
    const auto attempt_start = Clock::now();
    if (stop.token().stop_requested()) break;
    const bool attempted = co_await attempt(request, r, stop.token());
    if (!attempted) break;
    r.body = context_.redact(std::move(r.body));
    r.error = context_.redact(std::move(r.error));
    r.elapsed_s = seconds(Clock::now() - attempt_start);
    context_.count_attempt(request, r, url);
    const bool caller_adapts = r.status == 429 && !request.retry_throttled;
    if (!request.retry || caller_adapts || r.retries >= policy.max_retries || !is_retryable(r.outcome, static_cast<int>(r.status))) {
      r.finished = Clock::now();
      r.total_s = seconds(r.finished - r.sent);
      context_.record(request, r, url);
      co_return r;
    }
    const double wait = retry_delay(policy, r.retries, context_.jitter(), r.retry_after_s);
    context_.count_retry(request, r, wait, url);
    r.retries += 1;
    if (r.outcome == Outcome::timeout || r.outcome == Outcome::transport_failed || (r.answered() && r.status >= 500)) {
      r.unsure_attempts += 1;  // the request may have reached the hub and been carried out
    }
    r.body.clear();
    r.error.clear();
    r.retry_after_s.reset();
    const auto pause = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
    const engine::Result slept = co_await engine::sleep(pause, stop.token());
    if (!slept) break;
  }
  // cut off: a stop request, or a hub that is down
  r.outcome = stop.why();
  r.status = 0;
  r.body.clear();
  r.retry_after_s.reset();
  r.error = r.outcome == Outcome::hub_down ? "not sent: the hub stopped answering" : "stopped by a signal";
  r.elapsed_s = 0;
  r.finished = Clock::now();
  r.total_s = seconds(r.finished - r.sent);
  context_.record(request, r, url);
  co_return r;
}

Task<std::vector<Response>> HubClient::call_all(std::vector<Request> requests, std::size_t window,
                                                std::function<void(std::size_t, const Response&)> each, std::stop_token stop) {
  std::vector<Response> answers(requests.size());
  std::size_t next = 0;
  engine::Group workers(context_.loop());
  auto worker = [&]() -> Task<void> {
    while (next < requests.size()) {
      const std::size_t i = next++;
      Request request = std::move(requests[i]);
      answers[i] = co_await call(std::move(request), stop);
      if (each) each(i, answers[i]);
    }
  };
  for (std::size_t w = 0; w < std::min(std::max<std::size_t>(window, 1), requests.size()); ++w) workers.spawn(worker());
  co_await workers.wait();
  co_return answers;
}

// ---------------------------------------------------------------------------------------------
// HubStream

Task<HubStream> HubClient::stream(Request request, std::stop_token caller) {
  request.headers.push_back("Accept: text/event-stream");
  auto state = std::make_unique<HubStream::State>();
  state->context = &context_;
  state->shown = shown(request.path);
  Response& r = state->head;
  r.sent = Clock::now();
  CallStop stop(context_, request, caller);
  if (context_.settings().dry_run) logger().info("[dry-run] would open the event stream {}", state->shown);
  engine::Request out = transport_request(request);
  engine::EventStream events = co_await transport_.open_stream(std::move(out), stop.token());
  take(r, events.head());
  if (events.head().errc == engine::Errc::cancelled) r.outcome = stop.why();
  r.body = context_.redact(std::move(r.body));
  r.error = context_.redact(std::move(r.error));
  state->stream.emplace(std::move(events));
  r.elapsed_s = seconds(Clock::now() - r.sent);
  state->request = std::move(request);
  co_return HubStream(std::move(state));
}

// ---------------------------------------------------------------------------------------------
// A kernel's WebSocket

Task<engine::WebSocket> HubClient::kernel_channel(std::string url, std::chrono::milliseconds timeout, std::stop_token caller) {
  Request request;
  request.kind = ApiKind::kernel_socket;
  request.method = "GET";
  request.route = route_of(ApiKind::kernel_socket);
  request.path = url;
  const std::string where = shown(url);
  Response r;
  r.sent = Clock::now();
  if (context_.settings().dry_run) logger().info("[dry-run] would open the WebSocket {}", where);
  CallStop stop(context_, request, caller);
  engine::WebSocket socket = co_await engine::WebSocket::connect(transport_, absolute(url), timeout, stop.token());
  r.outcome = outcome_of(socket.opened().errc);
  r.status = socket.status();
  r.error = context_.redact(socket.opened().reason);
  if (socket.opened().errc == engine::Errc::cancelled) r.outcome = stop.why();
  r.finished = Clock::now();
  r.elapsed_s = r.total_s = seconds(r.finished - r.sent);
  context_.record(request, r, where);
  co_return socket;
}

} // namespace hubstress
