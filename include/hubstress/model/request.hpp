#pragma once
// A hub call as the model sees it: what was asked (Request), what came back (Response) and what
// the reports keep of it (RequestRecord). Standard headers only: every layer may include this.
#include "hubstress/model/api_kind.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hubstress {

// How a request ended. Only `ok` carries an HTTP status; the others are transport failures, or
// `interrupted` (a stop request ended it) and `hub_down` (not sent: the hub had stopped answering).
enum class Outcome { ok, timeout, connect_failed, dns_failed, tls_failed, transport_failed, interrupted, hub_down };
const char* to_string(Outcome outcome);

struct Request {
  ApiKind kind = ApiKind::other;  // what the call is for: reports group by it, set where it is built
  std::string method = "GET";
  std::string path;          // relative to the client's base URL ("/users?offset=0"), or absolute
  std::string route;         // what reports group by: "/users/{name}/server"
  std::string body;          // sent as JSON when not empty (and for every POST)
  std::vector<std::pair<std::string, std::string>> form;  // when not empty: the body, form-encoded (with _xsrf)
  std::vector<std::string> headers;              // extra "Name: value" headers
  std::chrono::milliseconds timeout{30'000};     // per attempt
  bool retry = true;         // false: 429/5xx/transport failures come straight back to the caller
  bool retry_throttled = true;  // false: a 429 comes straight back (the caller adapts its window)
  bool interruptible = true;    // false: the first Ctrl-C lets it finish (clean-up, a create whose answer says what exists)
  bool hub_probe = false;       // asks whether a hub that stopped answering is back: never refused
  bool follow_redirects = false;  // a browser's way through a login or the OAuth dance
};

struct Response {
  using Clock = std::chrono::steady_clock;
  Outcome outcome = Outcome::ok;
  long status = 0;                      // HTTP status; 0 when there was no HTTP answer
  std::string body;                     // secrets the run knows replaced by ***
  std::optional<double> retry_after_s;  // the Retry-After header, in seconds
  std::string location;                 // where a 3xx that was not followed points (absolute)
  std::string url;                      // the last URL asked (after redirects): never shown, may hold credentials
  std::string error;                    // why a transport failure happened (secrets replaced)
  double elapsed_s = 0;                 // seconds of the last attempt
  double total_s = 0;                   // seconds from the first send to this answer, waits included
  int retries = 0;                      // attempts after the first
  int unsure_attempts = 0;              // earlier attempts the hub may have acted on (timeout, cut off, 502-504)
  Clock::time_point sent{};             // when the first attempt was sent
  Clock::time_point finished{};         // when the final answer (or failure) was complete

  bool answered() const { return outcome == Outcome::ok; }
  bool ok() const { return answered() && status >= 200 && status < 300; }
  // One line for logs and errors: "HTTP 500: <body, cut to 300 characters>" or "timeout: <reason>".
  std::string describe() const;
};

// One answered request (or WebSocket handshake), kept for reports.
struct RequestRecord {
  ApiKind kind = ApiKind::other;
  std::string method;
  std::string route;      // "/users/{name}/server"
  long status = 0;        // 0: no HTTP answer (see outcome)
  Outcome outcome = Outcome::ok;
  double start_s = 0;     // seconds from the run's start to the first send
  double latency_s = 0;   // seconds of the last attempt
  double total_s = 0;     // seconds from the first send to the final answer, back-off included
  int retries = 0;        // attempts after the first
};

} // namespace hubstress
