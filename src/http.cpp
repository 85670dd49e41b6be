#include "hubstress/http.hpp"

#include "hubstress/log.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

namespace hubstress {

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
  if (!answered()) {
    return std::string(to_string(outcome)) + ": " + error;
  }
  std::string text = body.substr(0, 300);
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (body.size() > 300) {
    text += "...";
  }
  return "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text);
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Outcome classify(CURLcode code) {
  switch (code) {
  case CURLE_OK: return Outcome::ok;
  case CURLE_OPERATION_TIMEDOUT: return Outcome::timeout;
  case CURLE_COULDNT_CONNECT: return Outcome::connect_failed;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return Outcome::dns_failed;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR: return Outcome::tls_failed;
  default: return Outcome::transport_failed;
  }
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

// One request, from the first attempt to the final answer.
struct Transfer {
  Request request;
  HttpEngine::Callback done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  Response response;
  Clock::time_point first_start;
  Clock::time_point attempt_start;
  bool ended = false;  // refused: waits only to be delivered

  ~Transfer() {
    if (easy != nullptr) {
      curl_easy_cleanup(easy);
    }
    curl_slist_free_all(headers);
  }
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<Transfer*>(user)->response.body.append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  std::string_view line(data, size * count);
  constexpr std::string_view name = "retry-after:";
  if (line.size() > name.size()) {
    std::string lower(line.substr(0, name.size()));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == name) {
      static_cast<Transfer*>(user)->response.retry_after_s = parse_retry_after(line.substr(name.size()));
    }
  }
  return size * count;
}

struct Timer {
  Clock::time_point when;
  std::uint64_t order;  // keeps timers due at the same instant in submission order
  std::function<void()> fn;
  bool operator>(const Timer& other) const {
    return when != other.when ? when > other.when : order > other.order;
  }
};

} // namespace

struct HttpEngine::Impl {
  EngineOptions options;
  CURLM* multi = nullptr;
  std::map<CURL*, std::unique_ptr<Transfer>> active;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  std::uint64_t timer_order = 0;
  std::map<std::uint64_t, std::unique_ptr<Transfer>> parked;
  std::uint64_t next_park = 0;
  std::mt19937_64 rng{std::random_device{}()};

  explicit Impl(EngineOptions opts) : options(std::move(opts)) {
    static CurlGlobal global;
    if (!options.responder) {
      multi = curl_multi_init();
      if (multi == nullptr) {
        throw std::runtime_error("could not initialise libcurl");
      }
    }
  }

  ~Impl() {
    for (auto& [easy, transfer] : active) {
      curl_multi_remove_handle(multi, easy);
    }
    active.clear();
    if (multi != nullptr) {
      curl_multi_cleanup(multi);
    }
  }

  std::uint64_t add_timer(double seconds, std::function<void()> fn) {
    auto delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    timers.push(Timer{Clock::now() + delay, timer_order, std::move(fn)});
    return timer_order++;
  }

  void cancel_timers(const std::set<std::uint64_t>& ids) {
    // rebuild without them: cancellations are rare (end of a phase), timers few
    std::vector<Timer> keep;
    while (!timers.empty()) {
      if (!ids.count(timers.top().order)) keep.push_back(timers.top());
      timers.pop();
    }
    for (auto& t : keep) timers.push(std::move(t));
  }

  std::string full_url(const std::string& path) const {
    if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) {
      return path;
    }
    return options.base_url + path;
  }

  std::optional<Outcome> refusal(const Transfer& t) const {
    if (!options.refusing || !options.refuse || !options.refusing()) return std::nullopt;
    return options.refuse(t.request);
  }

  // Ends a transfer without (another) attempt, on the next loop turn, as an answer would come.
  void end_unsent(std::unique_ptr<Transfer> t, Outcome outcome) {
    t->ended = true;
    t->response.outcome = outcome;
    t->response.status = 0;
    t->response.error = outcome == Outcome::interrupted ? "stopped by a signal" : "not sent: the hub stopped answering";
    t->attempt_start = Clock::now();
    const auto key = park(std::move(t));
    add_timer(0, [this, key] {
      if (auto owned = unpark(key)) deliver(std::move(owned));
    });
  }

  // Cuts off every request in flight or waiting to retry that is refused now.
  void sweep_refused() {
    std::vector<CURL*> cut;
    for (const auto& [easy, t] : active) {
      if (refusal(*t)) cut.push_back(easy);
    }
    for (CURL* easy : cut) {
      auto it = active.find(easy);
      if (it == active.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      active.erase(it);
      curl_multi_remove_handle(multi, easy);
      const Outcome o = *refusal(*t);
      end_unsent(std::move(t), o);
    }
    std::vector<std::uint64_t> waiting;
    for (const auto& [key, t] : parked) {
      if (!t->ended && refusal(*t)) waiting.push_back(key);
    }
    for (auto key : waiting) {
      auto t = unpark(key);  // its retry timer finds nothing and does nothing
      const Outcome o = *refusal(*t);
      end_unsent(std::move(t), o);
    }
  }

  void start(std::unique_ptr<Transfer> transfer) {
    if (!transfer) return;  // cut off while it waited
    if (auto refused = refusal(*transfer)) return end_unsent(std::move(transfer), *refused);
    transfer->attempt_start = Clock::now();
    if (options.responder) {
      // No network: answer from the responder on the next loop turn, as a real answer would come.
      const auto key = park(std::move(transfer));
      add_timer(0, [this, key] {
        std::unique_ptr<Transfer> owned = unpark(key);
        if (!owned) return;
        Response answer = options.responder(owned->request);
        owned->response.outcome = answer.outcome;
        owned->response.status = answer.status;
        owned->response.body = std::move(answer.body);
        owned->response.retry_after_s = answer.retry_after_s;
        owned->response.error = std::move(answer.error);
        finish_attempt(std::move(owned));
      });
      return;
    }
    if (transfer->easy == nullptr) {
      transfer->easy = curl_easy_init();
      configure(*transfer);
    }
    CURL* easy = transfer->easy;
    active.emplace(easy, std::move(transfer));
    curl_multi_add_handle(multi, easy);
  }

  void configure(Transfer& t) {
    const Request& r = t.request;
    CURL* e = t.easy;
    for (const auto& h : options.headers) {
      t.headers = curl_slist_append(t.headers, h.c_str());
    }
    for (const auto& h : r.headers) {
      t.headers = curl_slist_append(t.headers, h.c_str());
    }
    t.headers = curl_slist_append(t.headers, "Expect:");  // no 100-continue round trip
    const bool has_body = !r.body.empty() || r.method == "POST" || r.method == "PATCH";
    if (has_body) {
      t.headers = curl_slist_append(t.headers, "Content-Type: application/json");
    }
    const auto timeout_ms = static_cast<long>(r.timeout.count());
    curl_easy_setopt(e, CURLOPT_URL, full_url(r.path).c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10'000L));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hub-stress-test-cpp/0.1");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options.insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options.insecure ? 0L : 2L);
    if (!options.ca_bundle.empty()) {
      curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_bundle.c_str());
    }
    if (has_body) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.c_str());
    }
    if (r.method != "GET" && r.method != "POST") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
  }

  void on_curl_done(CURL* easy, CURLcode code) {
    auto it = active.find(easy);
    if (it == active.end()) {
      return;
    }
    std::unique_ptr<Transfer> t = std::move(it->second);
    active.erase(it);
    curl_multi_remove_handle(multi, easy);
    t->response.outcome = classify(code);
    if (code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t->response.status);
    } else {
      t->response.status = 0;
      t->response.error = t->error[0] != '\0' ? t->error : curl_easy_strerror(code);
      if (!t->response.error.empty() && t->response.error.back() == '\n') {
        t->response.error.pop_back();
      }
    }
    finish_attempt(std::move(t));
  }

  // A hub or proxy that echoes request headers must not carry the token into a log or an error.
  void redact(std::string& text) const {
    for (const auto& secret : options.secrets) {
      if (secret.empty()) continue;
      for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
        text.replace(pos, secret.size(), "***");
      }
    }
  }

  void finish_attempt(std::unique_ptr<Transfer> t) {
    Response& r = t->response;
    redact(r.body);
    redact(r.error);
    r.elapsed_s = seconds_since(t->attempt_start);
    r.total_s = seconds_since(t->first_start);
    if (options.on_attempt) options.on_attempt(t->request, r);
    const RetryPolicy& policy = options.retry;
    const bool throttled_by_caller = r.status == 429 && !t->request.retry_throttled;
    if (t->request.retry && !throttled_by_caller && r.retries < policy.max_retries &&
        is_retryable(r.outcome, static_cast<int>(r.status))) {
      std::uniform_real_distribution<double> jitter(0.0, 1.0);
      const double wait = retry_delay(policy, r.retries, jitter(rng), r.retry_after_s);
      if (options.on_retry) {
        options.on_retry(t->request, r, wait);
      }
      r.retries += 1;
      if (r.outcome == Outcome::timeout || r.outcome == Outcome::transport_failed ||
          (r.answered() && r.status >= 500 && r.status != 429)) {
        r.unsure_attempts += 1;  // the request may have reached the hub and been carried out
      }
      r.body.clear();
      r.error.clear();
      r.retry_after_s.reset();
      t->error[0] = '\0';
      const auto key = park(std::move(t));
      add_timer(wait, [this, key] {
        start(unpark(key));
      });
      return;
    }
    deliver(std::move(t));
  }

  void deliver(std::unique_ptr<Transfer> t) {
    Response& r = t->response;
    r.total_s = seconds_since(t->first_start);
    if (options.observer) {
      options.observer(t->request, r);
    }
    auto done = std::move(t->done);
    Response final_answer = std::move(t->response);
    t.reset();  // free the easy handle before the callback may start more work
    if (done) {
      done(std::move(final_answer));
    }
  }

  // Transfers between attempts (or awaiting the responder) wait here, owned, until their timer runs.
  std::uint64_t park(std::unique_ptr<Transfer> t) {
    parked.emplace(next_park, std::move(t));
    return next_park++;
  }

  std::unique_ptr<Transfer> unpark(std::uint64_t key) {
    auto it = parked.find(key);
    if (it == parked.end()) return nullptr;
    auto t = std::move(it->second);
    parked.erase(it);
    return t;
  }

  void abort_all() {
    for (auto& [easy, transfer] : active) curl_multi_remove_handle(multi, easy);
    active.clear();
    parked.clear();
    timers = {};
  }

  bool idle() const { return active.empty() && timers.empty(); }

  // Returns whether any timer ran.
  bool fire_due_timers() {
    const auto now = Clock::now();
    bool fired = false;
    while (!timers.empty() && timers.top().when <= now) {
      auto fn = timers.top().fn;
      timers.pop();
      fn();
      fired = true;
    }
    return fired;
  }

  // One turn of the loop: runs what is due, then waits for network activity or the next timer,
  // unless this turn ran a callback (the caller's condition may now hold).
  void step() {
    if (options.refusing && options.refusing()) sweep_refused();
    bool progressed = fire_due_timers();
    if (multi == nullptr) {
      if (!progressed && !timers.empty()) {
        wait_for_next_timer();
      }
      return;
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg == CURLMSG_DONE) {
        on_curl_done(msg->easy_handle, msg->data.result);
        progressed = true;
      }
    }
    if (progressed || idle()) {
      return;
    }
    long curl_wait = -1;
    curl_multi_timeout(multi, &curl_wait);
    long wait_ms = curl_wait < 0 ? 1000 : std::min(curl_wait, 1000L);
    if (!timers.empty()) {
      auto until_timer = std::chrono::duration_cast<std::chrono::milliseconds>(timers.top().when - Clock::now()).count();
      wait_ms = std::min<long>(wait_ms, std::max<long>(0, until_timer));
    }
    if (wait_ms > 0) {
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait_ms), nullptr);
    }
  }

  void wait_for_next_timer() {
    auto until = timers.top().when - Clock::now();
    if (until > Clock::duration::zero()) {
      std::this_thread::sleep_for(until);
    }
  }
};

HttpEngine::HttpEngine(EngineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpEngine::~HttpEngine() = default;

void HttpEngine::submit(Request request, Callback done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  transfer->first_start = Clock::now();
  impl_->start(std::move(transfer));
}

HttpEngine::TimerId HttpEngine::after(double seconds, std::function<void()> fn) {
  return impl_->add_timer(seconds, std::move(fn));
}

void HttpEngine::cancel(const std::vector<TimerId>& ids) { impl_->cancel_timers({ids.begin(), ids.end()}); }

void HttpEngine::abort_all() { impl_->abort_all(); }

void HttpEngine::run() {
  run_until([] { return false; });
}

void HttpEngine::run_until(const std::function<bool()>& done) {
  while (!done() && !impl_->idle()) {
    impl_->step();
  }
}

std::vector<Response> HttpEngine::run_all(std::vector<Request> requests, std::size_t window) {
  std::vector<Response> answers(requests.size());
  std::size_t next = 0;
  std::size_t finished = 0;
  window = std::max<std::size_t>(window, 1);
  std::function<void()> refill = [&] {
    while (next < requests.size() && next - finished < window) {
      const std::size_t index = next++;
      submit(std::move(requests[index]), [&, index](Response r) {
        answers[index] = std::move(r);
        ++finished;
        refill();
      });
    }
  };
  refill();
  try {
    run_until([&] { return finished == requests.size(); });
  } catch (...) {
    abort_all();  // the callbacks point at this frame
    throw;
  }
  return answers;
}


const EngineOptions& HttpEngine::options() const { return impl_->options; }

} // namespace hubstress
