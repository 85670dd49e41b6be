#include "hubstress/http.hpp"

#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <stop_token>

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
namespace asio = boost::asio;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Outcome outcome_of(engine::Errc errc) {
  switch (errc) {
  case engine::Errc::ok: return Outcome::ok;
  case engine::Errc::timeout: return Outcome::timeout;
  case engine::Errc::dns_failed: return Outcome::dns_failed;
  case engine::Errc::connect_failed: return Outcome::connect_failed;
  case engine::Errc::tls_failed: return Outcome::tls_failed;
  default: break;
  }
  return Outcome::transport_failed;
}

// One request, from the first attempt to the final answer. Shared by its coroutine and the engine.
struct Transfer {
  Request request;
  HttpEngine::Callback done;
  Response response;
  Clock::time_point first_start;
  Clock::time_point attempt_start;
  std::stop_source stop;            // ends the attempt in flight or the wait before a retry
  std::optional<Outcome> refused;   // why it was cut off (set before `stop` is requested)
  bool aborted = false;             // abort_all(): its callback never runs
  HttpEngine::EventCallback on_event;  // a text/event-stream read event by event
  std::exception_ptr event_error;      // thrown by on_event: rethrown where `done` would run
};

} // namespace

struct HttpEngine::Impl {
  EngineOptions options;
  std::shared_ptr<engine::Loop> loop;
  engine::Client client;
  std::set<std::shared_ptr<Transfer>> live;  // submitted, final answer not delivered yet
  std::size_t pending = 0;                   // of those, the ones not aborted
  std::size_t outstanding = 0;               // coroutines and handlers that still point here
  std::map<TimerId, std::shared_ptr<asio::steady_timer>> timers;
  TimerId next_timer = 0;
  std::mt19937_64 rng{std::random_device{}()};

  explicit Impl(EngineOptions opts)
      : options(std::move(opts)), loop(options.loop ? options.loop : std::make_shared<engine::Loop>()),
        client(*loop, client_options(options)) {}

  static engine::ClientOptions client_options(const EngineOptions& o) {
    engine::ClientOptions c;
    c.base_url = o.base_url;
    c.insecure = o.insecure;
    c.ca_bundle = o.ca_bundle;
    return c;  // the token travels in o.headers, and o.secrets redact it
  }

  asio::io_context& io() { return loop->context(); }

  std::string full_url(const std::string& path) const {
    if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) return path;
    return options.base_url + path;
  }

  std::optional<Outcome> refusal(const Transfer& t) const {
    if (!options.refusing || !options.refuse || !options.refusing()) return std::nullopt;
    return options.refuse(t.request);
  }

  // Cuts off every request in flight or waiting to retry that is refused now.
  void sweep_refused() {
    for (const auto& t : live) {
      if (t->aborted || t->refused || t->stop.stop_requested()) continue;
      if (auto o = refusal(*t)) {
        t->refused = o;
        t->stop.request_stop();
      }
    }
  }

  void submit(std::shared_ptr<Transfer> t) {
    live.insert(t);
    ++pending;
    ++outstanding;
    asio::co_spawn(io(), drive(t), [this, t](std::exception_ptr error) {
      // Delivered from a handler of its own, not from inside the coroutine's frame: a callback
      // may throw (a HubError ends the phase), and that then leaves run_until() cleanly.
      asio::post(io(), [this, t, error] {
        --outstanding;
        live.erase(t);
        if (t->aborted) return;
        --pending;
        if (error) std::rethrow_exception(error);
        if (t->event_error) std::rethrow_exception(t->event_error);
        deliver(*t);
      });
    });
  }

  engine::Request client_request(const Request& r) const {
    engine::Request c;
    c.method = r.method;
    c.url = full_url(r.path);
    c.headers = options.headers;
    c.headers.insert(c.headers.end(), r.headers.begin(), r.headers.end());
    c.body = r.body;
    if (!r.body.empty() || r.method == "POST" || r.method == "PATCH") c.content_type = "application/json";
    c.xsrf = false;        // token-authenticated API calls: no XSRF check on the hub's side
    c.send_token = false;  // it is in the headers above
    c.timeout = r.timeout;
    c.connect_timeout = std::chrono::milliseconds(10'000);
    return c;
  }

  // One attempt's answer into the response; false when the attempt was cut off.
  engine::Task<bool> attempt(Transfer& t) {
    Response& r = t.response;
    t.attempt_start = Clock::now();
    if (options.responder) {
      // No network: answer on the next turn of the loop, as a real answer would come.
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
      if (t.stop.stop_requested()) co_return false;
      Response answer = options.responder(t.request);
      r.outcome = answer.outcome;
      r.status = answer.status;
      r.body = std::move(answer.body);
      r.retry_after_s = answer.retry_after_s;
      r.error = std::move(answer.error);
      if (t.on_event && r.ok()) {
        engine::SseParser parser;  // the whole stream at once, each event handed over in turn
        for (auto& event : parser.feed(r.body + "\n\n")) {
          event.arrived = Clock::now();
          redact(event.data);
          if (!hand_over(t, event)) break;
        }
        r.body.clear();
      }
      co_return true;
    }
    if (t.on_event) co_return co_await attempt_stream(t);
    engine::Request request = client_request(t.request);  // named: see the GCC 12 note in loop.hpp
    const std::stop_token stop = t.stop.get_token();
    engine::Answer a = co_await client.send(std::move(request), stop);
    if (a.errc == engine::Errc::cancelled) co_return false;
    take(r, std::move(a));
    co_return true;
  }

  // The client's answer (or why there is none) as this attempt's response.
  static void take(Response& r, engine::Answer a) {
    r.outcome = outcome_of(a.errc);
    r.status = a.answered() ? a.status : 0;
    r.body = std::move(a.body);
    r.error = a.answered() ? std::string() : std::move(a.reason);
    if (const std::string after = a.header("retry-after"); !after.empty()) r.retry_after_s = parse_retry_after(after);
  }

  // Passes one event to the caller; false when the stream is to be closed.
  static bool hand_over(Transfer& t, const engine::SseEvent& event) {
    try {
      return t.on_event(event);
    } catch (...) {
      t.event_error = std::current_exception();
      return false;
    }
  }

  // A text/event-stream: opened, then read event by event until it ends, on_event closes it, or
  // the request's timeout (from the first send) runs out.
  engine::Task<bool> attempt_stream(Transfer& t) {
    Response& r = t.response;
    const auto deadline = t.first_start + t.request.timeout;
    engine::Request request = client_request(t.request);
    const std::stop_token stop = t.stop.get_token();
    engine::EventStream events = co_await client.open_stream(std::move(request), stop);
    const engine::Answer& head = events.head();
    if (head.errc == engine::Errc::cancelled) co_return false;
    take(r, head);
    if (!head.ok()) co_return true;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      engine::EventStream::Next next;
      if (left.count() > 0) {
        next = co_await events.next(left, stop);
      } else {
        next.errc = engine::Errc::timeout;
        next.reason = "no end of the stream within " + std::to_string(t.request.timeout.count()) + " ms";
      }
      if (next.errc == engine::Errc::cancelled) co_return false;
      if (next.errc == engine::Errc::closed) co_return true;  // the server ended it
      if (!next) {
        r.outcome = outcome_of(next.errc);
        r.status = 0;
        r.error = next.reason;
        co_return true;
      }
      redact(next.event.data);
      if (!hand_over(t, next.event)) co_return true;  // closed here: the stream is dropped
    }
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

  // Every attempt, its retries and the waits between them; ends with the final answer in t.response.
  engine::Task<void> drive(std::shared_ptr<Transfer> owned) {
    Transfer& t = *owned;
    Response& r = t.response;
    const RetryPolicy& policy = options.retry;
    for (;;) {
      if (auto refused = refusal(t)) t.refused = refused;
      if (t.refused || t.stop.stop_requested() || !co_await attempt(t)) break;
      redact(r.body);
      redact(r.error);
      r.elapsed_s = seconds_since(t.attempt_start);
      r.total_s = seconds_since(t.first_start);
      if (options.on_attempt) options.on_attempt(t.request, r);
      const bool throttled_by_caller = r.status == 429 && !t.request.retry_throttled;
      if (!t.request.retry || throttled_by_caller || r.retries >= policy.max_retries ||
          !is_retryable(r.outcome, static_cast<int>(r.status))) {
        co_return;
      }
      std::uniform_real_distribution<double> jitter(0.0, 1.0);
      const double wait = retry_delay(policy, r.retries, jitter(rng), r.retry_after_s);
      if (options.on_retry) options.on_retry(t.request, r, wait);
      r.retries += 1;
      if (r.outcome == Outcome::timeout || r.outcome == Outcome::transport_failed ||
          (r.answered() && r.status >= 500 && r.status != 429)) {
        r.unsure_attempts += 1;  // the request may have reached the hub and been carried out
      }
      r.body.clear();
      r.error.clear();
      r.retry_after_s.reset();
      const auto pause = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
      const std::stop_token stop = t.stop.get_token();
      const engine::Result slept = co_await engine::sleep(pause, stop);
      if (!slept) break;
    }
    // Cut off: refused (a signal, a hub that is down), or aborted (nobody hears of it).
    r.outcome = t.refused.value_or(Outcome::interrupted);
    r.status = 0;
    r.body.clear();
    r.retry_after_s.reset();
    r.error = r.outcome == Outcome::hub_down ? "not sent: the hub stopped answering" : "stopped by a signal";
    r.elapsed_s = 0;
  }

  void deliver(Transfer& t) {
    Response& r = t.response;
    r.total_s = seconds_since(t.first_start);
    if (options.observer) options.observer(t.request, r);
    auto done = std::move(t.done);
    if (done) done(std::move(r));
  }

  TimerId add_timer(double seconds, std::function<void()> fn) {
    const TimerId id = next_timer++;
    auto timer = std::make_shared<asio::steady_timer>(io());
    timer->expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::max(0.0, seconds))));
    timers.emplace(id, timer);
    ++outstanding;
    timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
      --outstanding;
      if (ec) return;  // cancelled
      if (timers.erase(id) == 0) return;
      fn();
    });
    return id;
  }

  void cancel_timers(const std::vector<TimerId>& ids) {
    for (TimerId id : ids) {
      auto it = timers.find(id);
      if (it == timers.end()) continue;
      it->second->cancel();
      timers.erase(it);
    }
  }

  void abort_all() {
    for (const auto& t : live) {
      if (t->aborted) continue;
      t->aborted = true;
      --pending;
      t->stop.request_stop();
    }
    for (auto& [id, timer] : timers) timer->cancel();
    timers.clear();
  }

  bool idle() const { return pending == 0 && timers.empty(); }

  // One turn of the loop: runs one handler (a callback among them), or waits at most a quarter of
  // a second for one, so that a signal is noticed soon even when nothing happens.
  void turn() {
    if (options.refusing && options.refusing()) sweep_refused();
    if (io().stopped()) io().restart();
    io().run_one_for(std::chrono::milliseconds(250));
  }

  ~Impl() {
    // Coroutines and handlers point at this object: end them all before it goes.
    abort_all();
    const auto give_up = Clock::now() + std::chrono::seconds(10);
    while (outstanding > 0 && Clock::now() < give_up) {
      try {
        if (io().stopped()) io().restart();
        io().run_one_for(std::chrono::milliseconds(100));
      } catch (...) {
        // another engine's callback on a shared loop: nothing to do with this one's end
      }
    }
  }
};

HttpEngine::HttpEngine(EngineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpEngine::~HttpEngine() = default;

void HttpEngine::submit(Request request, Callback done) {
  auto transfer = std::make_shared<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  transfer->first_start = Clock::now();
  impl_->submit(std::move(transfer));
}

void HttpEngine::stream(Request request, EventCallback on_event, Callback done) {
  auto transfer = std::make_shared<Transfer>();
  transfer->request = std::move(request);
  transfer->request.retry = false;
  transfer->request.headers.push_back("Accept: text/event-stream");
  transfer->on_event = std::move(on_event);
  transfer->done = std::move(done);
  transfer->first_start = Clock::now();
  impl_->submit(std::move(transfer));
}

HttpEngine::TimerId HttpEngine::after(double seconds, std::function<void()> fn) {
  return impl_->add_timer(seconds, std::move(fn));
}

void HttpEngine::cancel(const std::vector<TimerId>& ids) { impl_->cancel_timers(ids); }

void HttpEngine::abort_all() { impl_->abort_all(); }

void HttpEngine::run() {
  run_until([] { return false; });
}

void HttpEngine::pause(double seconds) {
  bool over = false;
  const TimerId id = after(seconds, [&over] { over = true; });
  try {
    run_until([&over] { return over; });
  } catch (...) {
    cancel({id});  // its callback points at this frame
    throw;
  }
}

void HttpEngine::run_until(const std::function<bool()>& done) {
  while (!done() && !impl_->idle()) {
    impl_->turn();
  }
}

std::vector<Response> HttpEngine::run_all(std::vector<Request> requests, std::size_t window,
                                          const std::function<void(std::size_t, const Response&)>& each) {
  std::vector<Response> answers(requests.size());
  std::size_t next = 0;
  std::size_t finished = 0;
  window = std::max<std::size_t>(window, 1);
  std::function<void()> refill = [&] {
    while (next < requests.size() && next - finished < window) {
      const std::size_t index = next++;
      submit(std::move(requests[index]), [&, index](Response r) {
        if (each) each(index, r);
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
const std::shared_ptr<engine::Loop>& HttpEngine::loop() const { return impl_->loop; }

} // namespace hubstress
