#include "hubstress/engine/client.hpp"

#include "jar.hpp"
#include "loop_impl.hpp"
#include "responder.hpp"
#include "waiter.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <deque>
#include <stdexcept>

namespace hubstress::engine {

namespace {

Errc classify(CURLcode code) {
  switch (code) {
  case CURLE_OK: return Errc::ok;
  case CURLE_OPERATION_TIMEDOUT: return Errc::timeout;
  case CURLE_COULDNT_CONNECT: return Errc::connect_failed;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return Errc::dns_failed;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR: return Errc::tls_failed;
  default: return Errc::transport_failed;
  }
}

void replace_all(std::string& text, const std::string& secret) {
  if (secret.empty()) return;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
    text.replace(pos, secret.size(), "***");
  }
}

bool is_safe_method(const std::string& method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

std::string millis(std::chrono::milliseconds timeout) { return std::to_string(timeout.count()) + " ms"; }

} // namespace

// ---------------------------------------------------------------------------------------------
// One request in flight. Owned by the coroutine that awaits it; libcurl's callbacks point at it.

struct Transfer final : CurlJob {
  Transfer(const asio::any_io_executor& executor, std::shared_ptr<CurlDriver> curl, std::shared_ptr<Client::Jar> cookies)
      : driver(std::move(curl)), jar(std::move(cookies)), waiter(executor) {
    Client::Jar::Pooled handle = jar->take(fresh);
    if (handle.easy == nullptr) throw std::runtime_error("could not initialise libcurl");
    easy = handle.easy;
    set = std::move(handle.set);
    slot = std::move(handle.slot);
    slot->transfer = this;
    slot->error[0] = '\0';
  }
  ~Transfer() override {
    if (started && !finished) driver->remove(*this);
    slot->transfer = nullptr;
    jar->give_back(Client::Jar::Pooled{easy, std::move(set), std::move(slot)});
    curl_slist_free_all(header_list);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void on_done(CURLcode result) override {
    finished = true;
    code = result;
    answer.finished = Clock::now();
    read_info();
    answer.errc = classify(result);
    if (result != CURLE_OK) {
      answer.reason = slot->error[0] != '\0' ? slot->error : curl_easy_strerror(result);
      if (!answer.reason.empty() && answer.reason.back() == '\n') answer.reason.pop_back();
    }
    replace_all(answer.reason, secret);
    replace_all(answer.body, secret);
    waiter.notify();
  }

  // What libcurl knows of the answer; each curl_easy_getinfo costs, so only what can differ from
  // what the request already says is asked.
  void read_info() {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &answer.status);
    long redirects = 0;
    if (set.follow == 1) curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &redirects);
    answer.redirects = static_cast<int>(redirects);
    char* url = nullptr;
    if (redirects == 0) {
      answer.url = set.url;
    } else if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url != nullptr) {
      answer.url = url;
    }
    char* location = nullptr;
    if (answer.status >= 300 && answer.status < 400 && curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
        location != nullptr) {
      answer.location = location;
    }
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    static_cast<Transfer*>(static_cast<Client::Jar::Slot*>(self)->transfer)->body_bytes(std::string_view(data, size * count));
    return size * count;
  }

  void body_bytes(std::string_view bytes) {
    if (!streaming || !head_done) {
      answer.body.append(bytes);
      return;
    }
    auto events = stream->parser.feed(bytes);
    if (events.empty()) return;
    const auto now = Clock::now();
    for (auto& event : events) {
      event.arrived = now;
      replace_all(event.data, secret);
      stream->queue.push_back(std::move(event));
    }
    waiter.notify();
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self) {
    static_cast<Transfer*>(static_cast<Client::Jar::Slot*>(self)->transfer)->header_line(std::string_view(data, size * count));
    return size * count;
  }

  // Kept as they came (a lookup parses them: only a few are ever asked for), the token hidden.
  void header_line(std::string_view line) {
    if (line.substr(0, 5) == "HTTP/") {
      answer.headers.clear(); // a new answer (after a redirect): keep only the last one's headers
      return;
    }
    if (line == "\r\n" || line == "\n") {
      end_of_headers();
      return;
    }
    if (answer.headers.empty()) answer.headers.reserve(512);
    if (secret.empty() || line.find(secret) == std::string_view::npos) {
      answer.headers.append(line);
      return;
    }
    std::string hidden(line);
    replace_all(hidden, secret);
    answer.headers += hidden;
  }

  // A stream opens on a 2xx answer's headers; a redirect that will be followed is not it.
  void end_of_headers() {
    if (!streaming) return;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      read_info();
      head_done = true;
      waiter.notify();
    }
  }

  std::shared_ptr<CurlDriver> driver;
  std::shared_ptr<Client::Jar> jar; // the share handle must outlive this easy handle
  Waiter waiter;
  curl_slist* header_list = nullptr;
  std::unique_ptr<Client::Jar::Slot> slot; // points at this transfer; its error buffer is libcurl's
  Client::Jar::Set set; // what the easy handle's options that vary hold
  std::string body; // libcurl reads the request body from here (CURLOPT_POSTFIELDS does not copy)
  std::string secret;
  Answer answer;
  bool fresh = false; // a new easy handle, not one reused from the jar's pool
  bool started = false;
  bool finished = false;
  CURLcode code = CURLE_OK;
  // text/event-stream: the parser and the events not yet read, made only for a stream (an empty
  // deque allocates, and a plain request has no use for either).
  struct Stream {
    SseParser parser;
    std::deque<SseEvent> queue;
  };
  bool streaming = false;
  bool head_done = false;
  std::unique_ptr<Stream> stream;
};

// ---------------------------------------------------------------------------------------------
// Client

Client::Client(Loop& loop, ClientOptions options)
    : loop_(loop), options_(std::move(options)), jar_(std::make_shared<Jar>()) {}
Client::~Client() = default;

std::string Client::absolute(std::string_view url) const {
  if (url.find("://") != std::string_view::npos) return std::string(url);
  std::string base = options_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (url.empty() || url.front() != '/') base += '/';
  return base + std::string(url);
}

std::string Client::redact(std::string text) const {
  replace_all(text, options_.token);
  return text;
}

CookieJar Client::cookies() const { return jar_->cookies(); }

CookieJar Client::cookies_for(std::string_view url) const {
  return engine::cookies_for(cookies(), absolute(url), static_cast<std::int64_t>(std::time(nullptr)));
}

std::optional<std::string> Client::cookie(std::string_view name, std::string_view url) const {
  for (const auto& c : cookies_for(url)) {
    if (c.name == name) return c.value; // the most specific path comes first
  }
  return std::nullopt;
}

namespace {

// Once per handle: what never changes for this client's handles (they are only ever this
// client's: the jar keeps them). libcurl 7.88 also keeps (and leaks) a file list per COOKIEFILE call.
void configure_once(CURL* e, Transfer& t, const ClientOptions& options) {
  t.driver->adopt(e);
  curl_easy_setopt(e, CURLOPT_SHARE, t.jar->share);
  curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); // the cookie engine on, on the share's jar
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.slot.get());
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.slot.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.slot->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options.insecure ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options.insecure ? 0L : 2L);
  if (!options.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_bundle.c_str());
}

// Everything libcurl needs for one request of this client.
void configure(Transfer& t, const Client& client, Request& request) {
  const ClientOptions& options = client.options();
  CURL* e = t.easy;
  std::string relative_made_absolute;
  const bool is_absolute = request.url.find("://") != std::string::npos;
  if (!is_absolute) relative_made_absolute = client.absolute(request.url);
  const std::string& url = is_absolute ? request.url : relative_made_absolute;
  if (request.xsrf && !is_safe_method(request.method)) {
    if (auto xsrf = client.cookie("_xsrf", url)) {
      request.headers.push_back("X-XSRFToken: " + *xsrf);
      const bool has_field = std::any_of(request.form.begin(), request.form.end(),
                                         [](const auto& field) { return field.first == "_xsrf"; });
      if (!request.form.empty() && !has_field) request.form.emplace_back("_xsrf", *xsrf);
    }
  }
  if (request.send_token && !options.token.empty()) {
    t.header_list = curl_slist_append(t.header_list, ("Authorization: token " + options.token).c_str());
  }
  t.secret = options.token;
  for (const auto& h : request.headers) t.header_list = curl_slist_append(t.header_list, h.c_str());
  std::string content_type = request.content_type;
  if (!request.form.empty()) {
    t.body = form_encode(request.form);
    if (content_type.empty()) content_type = "application/x-www-form-urlencoded";
  } else {
    t.body = std::move(request.body);
    if (content_type.empty() && !t.body.empty()) content_type = "application/json";
  }
  if (!content_type.empty()) {
    t.header_list = curl_slist_append(t.header_list, ("Content-Type: " + content_type).c_str());
  }
  const bool has_body = !t.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (has_body) t.header_list = curl_slist_append(t.header_list, "Expect:"); // no 100-continue round trip
  Client::Jar::Set& set = t.set;
  if (t.fresh || url != set.url) {
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    set.url = url;
  }
  if (t.header_list != nullptr || set.headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);
  set.headers = t.header_list != nullptr;
  if (t.fresh) configure_once(e, t, options);
  const long timeout_ms = static_cast<long>(std::max<std::int64_t>(1, request.timeout.count()));
  const long connect_ms = request.connect_timeout.count() > 0
                              ? std::min(timeout_ms, static_cast<long>(request.connect_timeout.count()))
                              : timeout_ms;
  // libcurl times a request out (one timer for all of them); a stream only bounds its opening.
  const long whole_ms = t.streaming ? 0L : timeout_ms;
  const long follow = request.follow_redirects ? 1L : 0L;
  // A reused handle keeps its options (no curl_easy_reset): every one that varies is set when it
  // differs from what the handle's last request left.
  auto put = [e](CURLoption option, long value, long& held) {
    if (value != held) curl_easy_setopt(e, option, value);
    held = value;
  };
  put(CURLOPT_CONNECTTIMEOUT_MS, connect_ms, set.connect_ms);
  put(CURLOPT_TIMEOUT_MS, whole_ms, set.timeout_ms);
  put(CURLOPT_FOLLOWLOCATION, follow, set.follow);
  const bool plain_get = request.method == "GET" && !has_body;
  if (plain_get && set.plain_get && !t.fresh) return;
  set.plain_get = plain_get;
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, static_cast<char*>(nullptr));
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, -1L);
  curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, static_cast<char*>(nullptr));
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); // last: setting POSTFIELDS above made it a POST
  if (has_body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.body.c_str());
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" && request.method != "POST") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

// Starts `request`; the transfer is owned by the awaiting coroutine.
std::unique_ptr<Transfer> start(const asio::any_io_executor& executor, Loop& loop, const Client& client,
                                std::shared_ptr<Client::Jar> jar, Request& request, bool streaming) {
  auto t = std::make_unique<Transfer>(executor, loop.impl().curl, std::move(jar));
  t->streaming = streaming;
  if (streaming) t->stream = std::make_unique<Transfer::Stream>();
  configure(*t, client, request);
  t->answer.sent = Clock::now();
  t->started = t->driver->add(*t);
  if (!t->started) {
    t->finished = true;
    t->answer.errc = Errc::transport_failed;
    t->answer.reason = "libcurl refused the transfer";
  }
  return t;
}

// Why an await ended before its transfer did: the transfer is dropped, and the answer says so.
void give_up(Transfer& t, Errc errc, std::chrono::milliseconds timeout) {
  t.driver->remove(t);
  t.finished = true;
  t.answer.finished = Clock::now();
  t.answer.errc = errc;
  t.answer.reason = errc == Errc::timeout ? "no answer within " + millis(timeout) : "cancelled";
}

} // namespace

Task<Answer> Client::send(Request request, std::stop_token stop) {
  if (options_.responder.http) co_return co_await respond(*this, request, stop);
  auto t = start(co_await asio::this_coro::executor, loop_, *this, jar_, request, false);
  // libcurl's CURLOPT_TIMEOUT_MS ends it in time; this later deadline is only a safety net.
  const auto deadline = deadline_after(request.timeout + std::chrono::seconds(1));
  while (!t->finished) {
    const Errc errc = co_await t->waiter.wait(deadline, stop);
    if (!t->finished && errc != Errc::ok) give_up(*t, errc, request.timeout);
  }
  co_return std::move(t->answer);
}

// ---------------------------------------------------------------------------------------------
// EventStream

struct EventStream::Impl {
  std::unique_ptr<Transfer> transfer; // from the network
  Answer answered;                    // from a responder: the head, and its events still to come
  std::deque<SseEvent> events;
};

EventStream::EventStream() = default;
EventStream::EventStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventStream::~EventStream() = default;
EventStream::EventStream(EventStream&&) noexcept = default;
EventStream& EventStream::operator=(EventStream&&) noexcept = default;

const Answer& EventStream::head() const {
  static const Answer never_opened = [] {
    Answer none;
    none.errc = Errc::closed;
    none.reason = "no stream";
    return none;
  }();
  if (!impl_) return never_opened;
  return impl_->transfer ? impl_->transfer->answer : impl_->answered;
}

Task<EventStream::Next> EventStream::next(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (!impl_) co_return Next{Errc::closed, "no stream", {}};
  if (!impl_->transfer) {
    const Answer& head = impl_->answered;
    if (impl_->events.empty() && !head.answered()) co_return Next{head.errc, head.reason, {}};
    if (impl_->events.empty()) co_return Next{Errc::closed, "the server ended the stream", {}};
    Next next{Errc::ok, {}, std::move(impl_->events.front())};
    impl_->events.pop_front();
    co_return next;
  }
  Transfer& t = *impl_->transfer;
  const auto deadline = deadline_after(timeout);
  for (;;) {
    if (!t.stream->queue.empty()) {
      Next next{Errc::ok, {}, std::move(t.stream->queue.front())};
      t.stream->queue.pop_front();
      co_return next;
    }
    if (t.finished) {
      if (t.answer.errc != Errc::ok) co_return Next{t.answer.errc, t.answer.reason, {}};
      co_return Next{Errc::closed, "the server ended the stream", {}};
    }
    const Errc errc = co_await t.waiter.wait(deadline, stop);
    if (errc == Errc::timeout) co_return Next{errc, "no event within " + millis(timeout), {}};
    if (errc == Errc::cancelled) co_return Next{errc, "cancelled", {}};
  }
}

Task<EventStream> Client::open_stream(Request request, std::stop_token stop) {
  if (options_.responder.http) {
    auto answered = std::make_unique<EventStream::Impl>();
    answered->answered = co_await respond(*this, request, stop);
    if (answered->answered.ok()) answered->events = events_of(std::exchange(answered->answered.body, {}));
    co_return EventStream(std::move(answered));
  }
  auto t = start(co_await asio::this_coro::executor, loop_, *this, jar_, request, true);
  const auto deadline = deadline_after(request.timeout);
  while (!t->finished && !t->head_done) {
    const Errc errc = co_await t->waiter.wait(deadline, stop);
    if (!t->finished && !t->head_done && errc != Errc::ok) give_up(*t, errc, request.timeout);
  }
  auto impl = std::make_unique<EventStream::Impl>();
  impl->transfer = std::move(t);
  co_return EventStream(std::move(impl));
}

} // namespace hubstress::engine
