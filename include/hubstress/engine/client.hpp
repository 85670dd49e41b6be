#pragma once
// One user's HTTP identity on the loop: its own credentials (a token, or none) and its own
// cookie jar, kept as a browser keeps it (cookies set by the hub and by the user's server, sent
// back where they belong, never to another user). libcurl does the HTTP: TLS, connection reuse
// (one pool per loop), redirects, proxies from the environment.
//
// JupyterHub 4.x's XSRF rules are applied for the caller: a request other than GET/HEAD/OPTIONS
// carries `X-XSRFToken` with the value of the `_xsrf` cookie the jar would send to its URL, and
// a form gets that value as its `_xsrf` field. Token-authenticated requests are exempt on the
// hub's side, so sending them does no harm; Request::xsrf = false turns it off.
#include "hubstress/engine/loop.hpp"
#include "hubstress/engine/sse.hpp"
#include "hubstress/engine/web.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstress::engine {

struct Request;
struct Answer;

// Answers in place of the network, for a dry run or a test without a server: while a client has
// one, no request of it leaves the process. Each answer comes on a later turn of the loop, as a
// real one would, and a stop request before then cancels it as it would a transfer.
struct Responder {
  // send() and open_stream(): the answer to `request` (its URL as the caller gave it). A stream's
  // events are the body of its 2xx answer, in text/event-stream form, handed over one by one.
  std::function<Answer(const Request&)> http;
  // A WebSocket to `url` (absolute, ws:// or wss://) opens at once; each text message sent to it
  // brings back these messages. Empty (with `http` set): a WebSocket does not open.
  std::function<std::vector<std::string>(const std::string& url, const std::string& text)> ws;
};

struct ClientOptions {
  std::string base_url;  // prefix of relative URLs: "http://127.0.0.1:8000" (no trailing slash needed)
  std::string token;     // sent as "Authorization: token ..."; empty: none. Never in a reason or body
  bool insecure = false; // skip TLS verification
  std::string ca_bundle; // CA file for TLS verification; empty: the system's
  std::string user_agent = "hub-stress-test-cpp/" HUB_STRESS_TEST_VERSION;
  Responder responder;   // either function set: nothing of this client goes to the network
};

struct Request {
  std::string method = "GET";
  std::string url;                  // absolute, or relative to ClientOptions::base_url
  std::vector<std::string> headers; // extra "Name: value" lines
  std::string body;                 // sent as is, with content_type
  std::string content_type;         // defaults to application/json when there is a body
  FormFields form;                  // when not empty: the body, form-encoded (and _xsrf added)
  bool follow_redirects = false;    // follow 3xx (up to 10), keeping cookies set on the way
  bool send_token = true;           // false: only cookies identify the user on this request
  bool xsrf = true;                 // add X-XSRFToken / the _xsrf field from the jar (see above)
  std::chrono::milliseconds timeout{30'000}; // the whole request, redirects included
  std::chrono::milliseconds connect_timeout{0}; // for the TCP (and TLS) connection; 0: `timeout`

  static Request get(std::string url) { return with("GET", std::move(url)); }
  static Request post_json(std::string url, std::string json) {
    Request r = with("POST", std::move(url));
    r.body = std::move(json);
    return r;
  }
  static Request post_form(std::string url, FormFields fields) {
    Request r = with("POST", std::move(url));
    r.form = std::move(fields);
    return r;
  }
  static Request del(std::string url) { return with("DELETE", std::move(url)); }
  static Request with(std::string method, std::string url) {
    Request r;
    r.method = std::move(method);
    r.url = std::move(url);
    return r;
  }
};

struct Answer {
  Errc errc = Errc::ok; // ok: an HTTP answer came (whatever its status)
  std::string reason;   // libcurl's reason for a failure, the token replaced by ***
  long status = 0;      // HTTP status of the last answer; 0 without one
  std::string body;     // the token replaced by ***
  std::string headers;  // the last answer's header lines as they came ("Name: value", each ending in a line break)
  std::string url;      // the last URL asked (after redirects)
  std::string location; // where a 3xx that was not followed points (absolute)
  int redirects = 0;    // redirects followed
  Clock::time_point sent{};     // when the request started
  Clock::time_point finished{}; // when the answer (or the failure) was complete

  bool answered() const { return errc == Errc::ok; }
  bool ok() const { return answered() && status >= 200 && status < 300; }
  double seconds() const { return std::chrono::duration<double>(finished - sent).count(); }
  // The first header of that name (case-insensitive), its value trimmed, or "".
  std::string header(std::string_view name) const;
  // One line for logs: "HTTP 403: <body, cut to 300>" or "timeout: <reason>".
  std::string describe() const;
};

// An answer's body as one line of a log or an error: cut to 300 characters, line breaks as
// spaces; an HTML page (a proxy's or a login page) as "an HTML page" with its title, never the page.
std::string body_in_a_line(std::string_view body);

// A text/event-stream answer delivered event by event, each with the time it arrived.
// One coroutine reads a stream at a time. Destroying it drops the connection.
class EventStream {
public:
  struct Next {
    Errc errc = Errc::ok; // closed: the server ended the stream; timeout: none came in time
    std::string reason;
    SseEvent event;
    explicit operator bool() const { return errc == Errc::ok; }
  };

  EventStream();
  ~EventStream();
  EventStream(EventStream&&) noexcept;
  EventStream& operator=(EventStream&&) noexcept;

  // The answer's status and headers once they arrived; errc/reason when the stream did not open.
  // A non-2xx answer is read to its end: its body is in head().body and next() says closed.
  const Answer& head() const;
  bool ok() const { return head().ok(); }

  // The next event. A timeout leaves the stream open: the event may still come.
  Task<Next> next(std::chrono::milliseconds timeout, std::stop_token stop = std::stop_token());

  struct Impl;
  explicit EventStream(std::unique_ptr<Impl> impl);

private:
  std::unique_ptr<Impl> impl_;
};

class Client {
public:
  Client(Loop& loop, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends a request; the answer (or why there is none) within request.timeout.
  Task<Answer> send(Request request, std::stop_token stop = std::stop_token());
  // Opens a text/event-stream: returns once the answer's headers came in (request.timeout bounds
  // that, not the stream's life); each event then comes from EventStream::next.
  Task<EventStream> open_stream(Request request, std::stop_token stop = std::stop_token());

  // The jar as it stands (CURLINFO_COOKIELIST), and what of it a browser would send to `url`.
  CookieJar cookies() const;
  CookieJar cookies_for(std::string_view url) const;
  std::optional<std::string> cookie(std::string_view name, std::string_view url) const;

  // `url` made absolute against the base URL.
  std::string absolute(std::string_view url) const;
  // `text` with this client's token replaced by ***.
  std::string redact(std::string text) const;
  const ClientOptions& options() const { return options_; }
  Loop& loop() { return loop_; }

  struct Jar; // the libcurl share handle behind the cookie jar

private:
  Loop& loop_;
  ClientOptions options_;
  std::shared_ptr<Jar> jar_;
};

} // namespace hubstress::engine
