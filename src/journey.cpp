#include "hubstress/journey.hpp"

#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/engine/ws.hpp"
#include "hubstress/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/url.hpp"
#include "hubstress/users.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <random>

namespace hubstress {

using nlohmann::json;

const std::vector<JourneyMetric>& journey_metrics() {
  static const std::vector<JourneyMetric> metrics{
      {"login", "form login: GET /hub/login, then the POST answered with its redirect (--auth form only)"},
      {"spawn", "the server's start request answered (POST /hub/api/users/NAME/server, or GET /hub/spawn)"},
      {"ready", "from the start request to the ready event of the spawn's progress stream"},
      {"open", "from ready to the first 200 of the user's server through the proxy (503s and redirects retried)"},
      {"kernel", "POST /user/NAME/api/kernels answered 201, its WebSocket connected and kernel_info_reply came"},
      {"first_result", "the first cell: execute_request sent until its output and execute_reply arrived"},
      {"cell", "each further cell, --think apart"},
      {"time_to_first_result", "from the student's scheduled arrival to the first cell's result"},
  };
  return metrics;
}

const char* to_string(Arrival arrival) { return arrival == Arrival::poisson ? "poisson" : "uniform"; }
const char* to_string(JourneyAuth auth) { return auth == JourneyAuth::token ? "token" : "form"; }

std::vector<double> arrival_offsets(int count, double ramp_up_s, Arrival arrival, std::uint64_t seed, const ArrivalPlace& place) {
  std::vector<double> out(static_cast<std::size_t>(std::max(count, 0)), 0.0);
  if (ramp_up_s <= 0 || out.empty()) return out;
  if (arrival == Arrival::uniform) {
    const double total = place.total > 0 ? static_cast<double>(place.total) : static_cast<double>(out.size());
    const double stride = place.total > 0 ? static_cast<double>(place.count) : 1.0;
    const double first = place.total > 0 ? static_cast<double>(place.index) : 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = ramp_up_s * (first + stride * static_cast<double>(i)) / total;
    return out;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> when(0.0, ramp_up_s);
  for (auto& t : out) t = when(rng);
  std::sort(out.begin(), out.end());
  return out;
}

int JourneyResult::completed() const {
  return static_cast<int>(std::count_if(students.begin(), students.end(), [](const StudentRecord& s) { return s.ok(); }));
}
int JourneyResult::failed() const { return static_cast<int>(students.size()) - completed(); }
int JourneyResult::late_starts() const {
  return static_cast<int>(
      std::count_if(students.begin(), students.end(), [](const StudentRecord& s) { return s.late_s > kLateStart; }));
}

std::string execute_request(const std::string& msg_id, const std::string& session, const std::string& user,
                            const std::string& code) {
  return json{{"header",
               {{"msg_id", msg_id},
                {"username", user},
                {"session", session},
                {"msg_type", "execute_request"},
                {"version", "5.3"},
                {"date", iso8601_utc_now()}}},
              {"parent_header", json::object()},
              {"metadata", json::object()},
              {"content",
               {{"code", code},
                {"silent", false},
                {"store_history", true},
                {"user_expressions", json::object()},
                {"allow_stdin", false},
                {"stop_on_error", true}}},
              {"channel", "shell"}}
      .dump();
}

namespace {

namespace engine = hubstress::engine;
using engine::Clock;
using engine::Errc;
using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

double since(Clock::time_point from, Clock::time_point to) { return duration<double>(to - from).count(); }

Clock::duration span(double seconds) { return duration_cast<Clock::duration>(duration<double>(seconds)); }

milliseconds millis(double seconds) {
  return duration_cast<milliseconds>(duration<double>(std::clamp(seconds, 0.001, 7.0 * 86400)));
}

std::string random_hex(std::mt19937_64& rng) { return fmt::format("{:016x}{:016x}", rng(), rng()); }

// "http://host/x" -> "ws://host/x", "https://..." -> "wss://..."
std::string ws_url(const std::string& http) { return "ws" + http.substr(4); }

constexpr std::size_t kMaxOutput = 64 * 1024;  // of one cell's output, kept to look for --expect

std::string cut(std::string text, std::size_t n = 300) {
  if (text.size() > n) text = text.substr(0, n) + "...";
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// What every student of one run shares.
struct Class {
  const JourneyOptions& options;
  engine::Loop& loop;
  std::string root;   // the hub's root URL, credentials included: for requests, never shown
  engine::ClientOptions client;  // TLS settings every student's client starts from
  Clock::time_point t0;          // the start of the journeys phase: arrivals are counted from it
  std::stop_token work;          // the first Ctrl-C: every step ends
  std::stop_token cleanup;       // never stopped here: the kernel's deletion goes on after Ctrl-C
  Progress& progress;
  std::vector<std::string> secrets;  // replaced by *** in every reason (URL credentials, the password)
};

class Student {
public:
  Student(Class& c, StudentRecord& record, const std::string& token, std::uint64_t seed)
      : c_(c), r_(record), client_(c.loop, client_options(c, token)), rng_(seed), session_id_(random_hex(rng_)) {}

  // Never throws: whatever goes wrong ends this student's journey (with a reason), not the run.
  engine::Task<void> run() {
    try {
      co_await journey();
    } catch (const std::exception& e) {
      fail(step_, std::string("internal error: ") + e.what());
    } catch (...) {
      fail(step_, "internal error");
    }
    if (!r_.ok() && r_.failed_step != "arrival") ++c_.progress.dropped;
    try {
      co_await teardown();
    } catch (const std::exception& e) {
      logger().warn("{}: clean-up of its kernel failed: {}", r_.user, e.what());
    } catch (...) {
    }
  }

private:
  static engine::ClientOptions client_options(const Class& c, const std::string& token) {
    engine::ClientOptions o = c.client;
    o.base_url = c.root;
    o.token = token;
    return o;
  }

  // The student's scheduled arrival: its clock starts here, however late the tool starts it.
  Clock::time_point arrival() const { return c_.t0 + span(r_.scheduled_s); }
  std::string user_url(const std::string& path) const { return "/user/" + url_escape(r_.user) + path; }
  double remaining(Clock::time_point deadline) const { return since(Clock::now(), deadline); }

  std::string redact(std::string text) const {
    text = client_.redact(std::move(text));
    for (const auto& s : c_.secrets) {
      for (auto at = text.find(s); !s.empty() && at != std::string::npos; at = text.find(s, at)) text.replace(at, s.size(), "***");
    }
    return text;
  }

  bool fail(const std::string& step, const std::string& reason) {
    if (r_.failed_step.empty()) {
      r_.failed_step = step;
      r_.reason = redact(reason);
    }
    return false;
  }
  // A failed await: its own words, or a timeout/interruption said plainly.
  bool fail_on(const std::string& step, Errc errc, const std::string& reason) {
    if (errc == Errc::cancelled) return fail(step, "interrupted");
    if (errc == Errc::timeout) return fail(step, fmt::format("step timed out ({:g} s)", timeout_of(step)));
    return fail(step, reason);
  }
  double timeout_of(const std::string& step) const {
    return step == "ready" ? c_.options.server_timeout_s : c_.options.step_timeout_s;
  }

  void done(const std::string& step, Clock::time_point from, Clock::time_point to) {
    r_.steps.push_back({step, since(c_.t0, from), since(from, to)});
    mark_ = to;
  }

  engine::Task<void> journey() {
    mark_ = arrival();
    const auto waited = co_await engine::sleep(arrival() - Clock::now(), c_.work);
    if (!waited) {
      r_.failed_step = "arrival";
      r_.reason = "interrupted before it arrived";
      co_return;
    }
    r_.late_s = std::max(0.0, since(arrival(), Clock::now()));
    ++c_.progress.arrived;
    if (co_await steps()) ++c_.progress.done;
  }

  engine::Task<bool> steps() {
    const bool form = c_.options.auth == JourneyAuth::form;
    if (form && !co_await login()) co_return false;
    if (!co_await spawn()) co_return false;
    if (!co_await ready()) co_return false;
    if (!co_await open()) co_return false;
    if (!co_await start_kernel()) co_return false;
    if (!co_await cell(1, "first_result")) co_return false;
    r_.time_to_first_result_s = since(arrival(), mark_);
    ++c_.progress.results;
    for (int i = 2; i <= c_.options.cells; ++i) {
      step_ = "cell";
      const auto thought = co_await engine::sleep(span(c_.options.think_s), c_.work);
      if (!thought) co_return fail("cell", "interrupted");
      mark_ = Clock::now();
      if (!co_await cell(i, "cell")) co_return false;
    }
    co_return true;
  }

  // GET /hub/login, then POST it (the client adds _xsrf from the login page's cookie, as 4.x wants);
  // a login is done only on the redirect (3.0 answers a refused one with 200 and the form again).
  engine::Task<bool> login() {
    step_ = "login";
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    engine::Request page = engine::Request::get("/hub/login");
    page.timeout = millis(remaining(deadline));
    const auto form_page = co_await client_.send(page, c_.work);
    if (!form_page.answered()) co_return fail_on("login", form_page.errc, "login page: " + form_page.describe());
    if (!form_page.ok()) co_return fail("login", "login page: " + form_page.describe());
    engine::FormFields fields{{"username", r_.user}, {"password", c_.options.password}};
    engine::Request post = engine::Request::post_form("/hub/login?next=" + url_escape("/hub/spawn"), std::move(fields));
    post.timeout = millis(remaining(deadline));
    const auto answer = co_await client_.send(post, c_.work);
    if (!answer.answered()) co_return fail_on("login", answer.errc, "login: " + answer.describe());
    if (answer.status != 302 && answer.status != 303) {
      co_return fail("login", answer.status == 200 ? "login refused (the hub showed the login form again)"
                                                   : "login refused: " + answer.describe());
    }
    if (answer.location.find("/hub/login") != std::string::npos) co_return fail("login", "login refused (sent back to the login page)");
    done("login", from, answer.finished);
    co_return true;
  }

  // The start request, as the student's own: with its token the REST call, with its cookies the
  // browser's GET /hub/spawn. A 429 (the hub's concurrent_spawn_limit) or 503 is retried after the
  // hub's Retry-After, within the step's time.
  engine::Task<bool> spawn() {
    step_ = "spawn";
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    const bool form = c_.options.auth == JourneyAuth::form;
    for (;;) {
      engine::Request request;
      if (form) {
        request = engine::Request::get("/hub/spawn");
        if (!c_.options.profile.empty()) {
          engine::FormFields fields{{"profile", c_.options.profile}};
          request = engine::Request::post_form("/hub/spawn", std::move(fields));
        }
      } else {
        const json body = c_.options.profile.empty() ? json::object() : json{{"profile", c_.options.profile}};
        request = engine::Request::post_json("/hub/api/users/" + url_escape(r_.user) + "/server", body.dump());
      }
      request.timeout = millis(remaining(deadline));
      const auto answer = co_await client_.send(request, c_.work);
      if (spawn_sent_ == Clock::time_point{}) spawn_sent_ = answer.sent;
      if (!answer.answered()) co_return fail_on("spawn", answer.errc, "start request: " + answer.describe());
      // a browser's spawn lands on its spawn-pending page (or its server when that was quick); a
      // redirect anywhere else (the login page: the session cookie was not kept) is no spawn
      const bool started = form ? (answer.status == 302 || answer.status == 303) &&
                                      (answer.location.find("/hub/spawn-pending/") != std::string::npos ||
                                       answer.location.find("/user/" + url_escape(r_.user)) != std::string::npos)
                                : (answer.status == 201 || answer.status == 202);
      if (started) {
        ++c_.progress.requested;
        done("spawn", from, answer.finished);
        co_return true;
      }
      if (form && (answer.status == 302 || answer.status == 303)) {
        co_return fail("spawn", "spawn refused: redirected to " + answer.location);
      }
      if (form && answer.status == 200) {
        co_return fail("spawn", "the hub shows a spawn options form: pass -p PROFILE (sent as the form's profile field)");
      }
      const std::string retry_after = answer.header("retry-after");
      double wait = 1.0;
      if (!retry_after.empty()) wait = std::max(0.1, std::atof(retry_after.c_str()));
      if ((answer.status != 429 && answer.status != 503) || remaining(deadline) <= wait) {
        co_return fail("spawn", "spawn failed: " + answer.describe());
      }
      const auto paused = co_await engine::sleep(span(wait), c_.work);
      if (!paused) co_return fail("spawn", "interrupted");
    }
  }

  // The spawn's progress stream until its ready (or failed) event; ready counts from the start request.
  engine::Task<bool> ready() {
    step_ = "ready";
    const auto deadline = spawn_sent_ + millis(c_.options.server_timeout_s);
    for (;;) {
      engine::Request request = engine::Request::get("/hub/api/users/" + url_escape(r_.user) + "/server/progress");
      request.headers.push_back("Accept: text/event-stream");
      // as the spawn-pending page's EventSource: JupyterHub before 4 takes a cookie on an API
      // request only with a Referer from the hub itself
      if (c_.options.auth == JourneyAuth::form) request.headers.push_back("Referer: " + client_.absolute("/hub/spawn-pending/" + url_escape(r_.user)));
      request.timeout = millis(remaining(deadline));
      auto stream = co_await client_.open_stream(request, c_.work);
      const Errc head = stream.head().errc;
      if (head == Errc::cancelled || head == Errc::timeout) co_return fail_on("ready", head, "");
      // a proxy or ingress under class-start load (5xx) or a broken connection: asked again below
      const bool again = !stream.head().answered() || stream.head().status >= 500;
      if (!again && !stream.ok()) co_return fail("ready", "progress stream: " + stream.head().describe());
      std::string last = again ? "progress stream: " + stream.head().describe() : "";
      for (; !again;) {
        auto next = co_await stream.next(millis(remaining(deadline)), c_.work);
        if (next.errc == Errc::closed) break;
        if (next.errc == Errc::transport_failed) {
          last = "progress stream: " + next.reason;
          break;
        }
        if (!next) co_return fail_on("ready", next.errc, "progress stream: " + next.reason);
        const auto verdict = progress_verdict(next.event.data);
        if (!verdict) continue;
        if (verdict->failed) co_return fail("ready", "spawn failed: " + (verdict->message.empty() ? "the hub gave no reason" : verdict->message));
        done("ready", spawn_sent_, next.event.arrived);
        mark_ = next.event.arrived;
        r_.steps.back().start_s = since(c_.t0, spawn_sent_);
        co_return true;
      }
      // the stream ended without a verdict or broke: ask again after a pause, within the server timeout
      if (remaining(deadline) <= 1.0) {
        co_return fail("ready", fmt::format("step timed out ({:g} s){}", c_.options.server_timeout_s, last.empty() ? "" : "; last: " + last));
      }
      const auto paused = co_await engine::sleep(std::chrono::seconds(1), c_.work);
      if (!paused) co_return fail("ready", "interrupted");
    }
  }

  // The user's server through the proxy. Right after ready the route may be missing (503 from the
  // proxy, or the hub's redirect back): retried within the step's time, the wait counted.
  engine::Task<bool> open() {
    step_ = "open";
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    const bool form = c_.options.auth == JourneyAuth::form;
    const std::string home = client_.absolute(user_url("/"));
    std::string last;
    for (double pause = 0.1;; pause = std::min(pause * 2, 1.0)) {
      engine::Request request = engine::Request::get(form ? user_url("/") : user_url("/api/status"));
      request.follow_redirects = form;  // the OAuth dance: authorize, callback, the server's own cookie
      request.timeout = millis(std::min(remaining(deadline), 30.0));
      const auto answer = co_await client_.send(request, c_.work);
      if (answer.errc == Errc::cancelled) co_return fail("open", "interrupted");
      if (answer.status == 200 && (!form || answer.url.rfind(home, 0) == 0)) {
        if (form && !co_await known_to_server(deadline)) co_return false;  // issue 22 item 13
        done("open", from, answer.finished);
        co_return true;
      }
      last = answer.answered() ? answer.describe() + (answer.location.empty() ? "" : " to " + answer.location)
                               : std::string(engine::to_string(answer.errc)) + ": " + answer.reason;
      // no route yet: the proxy's 502-504, the hub's 404/424 or its redirect for a server it does not
      // see yet; anything else (403, 500) is the server's answer, not a missing route
      const long st = answer.status;
      const bool no_route_yet = !answer.answered() || (st >= 300 && st < 400) || st == 404 || st == 424 || (st >= 502 && st <= 504) ||
                                (form && st == 200);
      if (!no_route_yet) co_return fail("open", "the server answered " + last);
      if (remaining(deadline) <= pause) break;
      const auto paused = co_await engine::sleep(span(pause), c_.work);
      if (!paused) co_return fail("open", "interrupted");
    }
    co_return fail("open", fmt::format("no route through the proxy within {:g} s (last: {})", c_.options.step_timeout_s, last));
  }

  engine::Task<bool> start_kernel() {
    step_ = "kernel";
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    engine::Request request = engine::Request::post_json(user_url("/api/kernels"), "{}");
    request.timeout = millis(remaining(deadline));
    const auto answer = co_await client_.send(request, c_.work);
    if (!answer.answered()) co_return fail_on("kernel", answer.errc, "kernel start failed: " + answer.describe());
    const json model = json::parse(answer.body, nullptr, false);
    if (answer.status != 201 || !model.is_object() || !model.contains("id") || !model["id"].is_string()) {
      co_return fail("kernel", "kernel start failed: " + answer.describe());
    }
    kernel_id_ = model["id"].get<std::string>();
    const std::string url = ws_url(client_.absolute(user_url("/api/kernels/" + url_escape(kernel_id_) + "/channels?session_id=" + session_id_)));
    ws_ = co_await engine::WebSocket::connect(client_, url, millis(remaining(deadline)), c_.work);
    if (!ws_) co_return fail_on("kernel", ws_.opened().errc, "kernel WebSocket did not open: " + ws_.opened().reason);
    if (!co_await kernel_info(deadline)) co_return false;  // issue 22 item 14
    done("kernel", from, Clock::now());
    co_return true;
  }

  // --- Issue 22 items 13 and 14 (JupyterHub 5.2, jupyter-server 2): two checks a browser makes ---
  // A server root may answer 200 without asking who the caller is (jupyter-server 2 without a
  // front end): a form-login student is open only once its server's API knows it.
  engine::Task<bool> known_to_server(Clock::time_point deadline) {
    engine::Request request = engine::Request::get(user_url("/api/status"));
    request.timeout = millis(std::min(remaining(deadline), 30.0));
    const auto answer = co_await client_.send(request, c_.work);
    if (answer.status == 200) co_return true;
    if (!answer.answered()) co_return fail_on("open", answer.errc, "GET api/status: " + answer.describe());
    co_return fail("open", "the server answered its root page but does not know the student (GET api/status: " +
                               answer.describe() + ")");
  }
  // jupyter-server 2 may drop what a new kernel WebSocket carries before the kernel's
  // kernel_info_reply: as a browser does, ask for it and wait for it before the first cell.
  engine::Task<bool> kernel_info(Clock::time_point deadline) {
    const std::string msg_id = session_id_ + "-info";
    json request = json::parse(execute_request(msg_id, session_id_, r_.user, ""));
    request["header"]["msg_type"] = "kernel_info_request";
    request["content"] = json::object();
    const auto sent = co_await ws_.send(request.dump(), millis(remaining(deadline)), c_.work);
    if (!sent) co_return fail_on("kernel", sent.errc, "WebSocket closed: " + sent.reason);
    while (true) {
      if (Clock::now() >= deadline) co_return fail_on("kernel", Errc::timeout, "");
      auto message = co_await ws_.receive(millis(remaining(deadline)), c_.work);
      if (!message) co_return fail_on("kernel", message.errc, "WebSocket closed: " + message.reason);
      const json m = json::parse(message.text, nullptr, false);
      if (m.is_object() && m.value(json::json_pointer("/parent_header/msg_id"), std::string()) == msg_id &&
          m.value(json::json_pointer("/header/msg_type"), std::string()) == "kernel_info_reply") {
        co_return true;
      }
    }
  }
  // --- end of issue 22 items 13 and 14 ---

  // One cell: execute_request on the shell channel, then every message of that request until both
  // its execute_reply and the kernel's idle status came (outputs come before idle on iopub).
  engine::Task<bool> cell(int n, const std::string& step) {
    step_ = step;
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    const std::string msg_id = fmt::format("{}-{}", session_id_, n);
    const auto sent = co_await ws_.send(execute_request(msg_id, session_id_, r_.user, c_.options.code), millis(remaining(deadline)), c_.work);
    if (!sent) co_return fail_on(step, sent.errc, "WebSocket closed: " + sent.reason);
    std::string output;
    std::string status;
    std::string error;
    bool idle = false;
    Clock::time_point last{};  // when the later of execute_reply and idle arrived: the result
    while (status.empty() || !idle) {
      // checked on every message: a cell that keeps printing still ends at its timeout
      if (Clock::now() >= deadline) co_return fail_on(step, Errc::timeout, "");
      auto message = co_await ws_.receive(millis(remaining(deadline)), c_.work);
      if (!message) co_return fail_on(step, message.errc, "WebSocket closed: " + message.reason);
      last = message.arrived;
      const json m = json::parse(message.text, nullptr, false);
      if (!m.is_object() || m.value(json::json_pointer("/parent_header/msg_id"), std::string()) != msg_id) continue;
      const std::string type = m.value(json::json_pointer("/header/msg_type"), std::string());
      const json& content = m.contains("content") ? m["content"] : json::object();
      if (output.size() > kMaxOutput) {
        // enough to find --expect in and to show: the rest is read and dropped
      } else if (type == "stream") {
        output += content.value("text", "");
      } else if (type == "execute_result" || type == "display_data") {
        output += content.value(json::json_pointer("/data/text~1plain"), std::string());
      } else if (type == "error") {
        error = content.value("ename", "") + ": " + content.value("evalue", "");
      } else if (type == "status") {
        idle = content.value("execution_state", "") == "idle";
      } else if (type == "execute_reply") {
        status = content.value("status", "?");
        if (status != "ok" && error.empty()) error = content.value("ename", "") + ": " + content.value("evalue", "");
      }
    }
    if (status != "ok") co_return fail(step, "the cell raised " + cut(error, 200));
    if (!c_.options.expect.empty() && output.find(c_.options.expect) == std::string::npos) {
      co_return fail(step, "wrong output (expected '" + c_.options.expect + "'): '" + cut(output, 200) + "'");
    }
    done(step, from, last);
    co_return true;
  }

  // The student's own clean-up: its kernel (its server and user are the run's to remove).
  engine::Task<void> teardown() {
    if (ws_) co_await ws_.close(std::chrono::seconds(5), c_.cleanup);
    if (kernel_id_.empty()) co_return;
    engine::Request request = engine::Request::del(user_url("/api/kernels/" + url_escape(kernel_id_)));
    request.timeout = std::chrono::seconds(15);
    const auto answer = co_await client_.send(request, c_.cleanup);
    r_.kernel_deleted = answer.status == 204 || answer.status == 200;
    if (!r_.kernel_deleted) logger().warn("{}: deleting kernel {} failed: {}", r_.user, kernel_id_, redact(answer.describe()));
  }

  Class& c_;
  StudentRecord& r_;
  engine::Client client_;
  std::mt19937_64 rng_;
  std::string session_id_;
  std::string step_ = "spawn";
  Clock::time_point mark_{};        // where the next step's time starts: the end of the previous one
  Clock::time_point spawn_sent_{};  // the first start request
  std::string kernel_id_;
  engine::WebSocket ws_;
};

// Mints each student a token to act as that student (POST /users/{name}/tokens, `tokens` scope).
// A student whose token could not be made fails at that step; the others go on.
std::vector<std::string> mint_tokens(Session& session, const std::vector<std::string>& users, const JourneyOptions& o,
                                     std::vector<StudentRecord>& students) {
  // long enough for the whole journey, short enough that a kept user's token does not linger
  const double life = o.ramp_up_s + o.server_timeout_s + o.step_timeout_s * (4 + o.cells) + o.think_s * o.cells + 3600;
  const json body{{"note", "hub-stress-test journey"}, {"expires_in", static_cast<long long>(life)}};
  std::vector<Request> requests;
  for (const auto& user : users) requests.push_back(session.request(ApiKind::create_token, "/users/" + url_escape(user) + "/tokens", body.dump()));
  const auto answers = session.call_all(std::move(requests), static_cast<std::size_t>(std::max(o.batch_size, 1)));
  std::vector<std::string> tokens(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    const json model = json::parse(answers[i].body, nullptr, false);
    if (answers[i].ok() && model.is_object() && model.contains("token") && model["token"].is_string()) {
      tokens[i] = model["token"].get<std::string>();
    } else {
      students[i].failed_step = "token";
      students[i].reason = "minting the student's token failed: " + answers[i].describe();
    }
  }
  return tokens;
}

} // namespace

JourneyResult journey(Session& session, const JourneyOptions& options) {
  JourneyResult result;
  journey(session, options, result);
  return result;
}

void journey(Session& session, const JourneyOptions& options, JourneyResult& result) {
  ScopeTimer timer("journey");
  result = JourneyResult{};
  Progress& progress = session.progress();
  progress.total = options.count;
  std::vector<std::string> existing;  // (list_stress_test_users, create_users and delete_users set the live phase)
  result.phases.push_back(run_phase(session, "find", [&] { existing = list_stress_test_users(session, options.prefix); }));
  const CreateHooks hooks = journal_hooks(options.journal, result.created);
  auto teardown = [&] {
    result.deleted = remove_run_users(session, result.created, options.keep, options.batch_size, options.journal, result.phases);
  };
  std::vector<std::string> tokens;
  try {
    result.phases.push_back(run_phase(session, "create", [&] {
                               create_users(options.count, options.batch_size, session, existing, options.prefix, &hooks,
                                            options.names);
                             }));
    result.students.resize(result.created.size());
    const auto offsets =
        arrival_offsets(static_cast<int>(result.created.size()), options.ramp_up_s, options.arrival, options.seed, options.place);
    for (std::size_t i = 0; i < result.created.size(); ++i) {
      result.students[i].user = result.created[i];
      result.students[i].scheduled_s = offsets[i];
    }
    if (session.dry_run()) {
      // the students' own requests would reach the hub: in a dry run they are only described
      logger().info("[dry-run] would play {} students arriving over {:g} s ({}, --auth {}): {}login, spawn, ready, "
                    "open, kernel, {} cell{} of {}",
                    result.created.size(), options.ramp_up_s, to_string(options.arrival), to_string(options.auth),
                    options.auth == JourneyAuth::token ? "token, " : "", options.cells, options.cells == 1 ? "" : "s",
                    options.code);
      result.students.clear();
      teardown();
      return;
    }
    if (options.auth == JourneyAuth::token) {
      progress.phase = Phase::tokens;
      result.phases.push_back(run_phase(session, "tokens", [&] { tokens = mint_tokens(session, result.created, options, result.students); }));
    } else {
      tokens.assign(result.created.size(), std::string());
    }
    if (options.before_load) options.before_load();
  } catch (const std::exception& e) {
    if (dynamic_cast<const Interrupted*>(&e) == nullptr) {
      logger().error("Setting up the students failed ({}); {} users of this run exist", e.what(), result.created.size());
    }
    teardown();
    throw;
  }

  progress.phase = Phase::journey;
  engine::Loop& loop = *session.loop();
  std::stop_source work;
  std::stop_source cleanup;
  Class cls{options, loop, root_of_api_url(session.api_url()), {}, Clock::now(), work.get_token(), cleanup.get_token(), progress, {}};
  cls.client.insecure = session.options().insecure;
  cls.client.ca_bundle = session.options().ca_bundle;
  if (const auto credentials = url_credentials(session.api_url()); !credentials.empty()) cls.secrets.push_back(credentials);
  if (options.password.size() >= 4) cls.secrets.push_back(options.password);
  std::random_device entropy;
  std::vector<std::unique_ptr<Student>> students;
  logger().info("{} students arrive over {:g} s ({}), --auth {}", result.students.size(), options.ramp_up_s,
                to_string(options.arrival), to_string(options.auth));
  result.phases.push_back(run_phase(session, "journeys", [&] {
                             for (std::size_t i = 0; i < result.students.size(); ++i) {
                               if (!result.students[i].failed_step.empty()) continue;  // no token
                               students.push_back(std::make_unique<Student>(cls, result.students[i], tokens[i],
                                                                            (static_cast<std::uint64_t>(entropy()) << 32) ^ i));
                               loop.spawn(students.back()->run());
                             }
                             // a signal raises the session's flag; the ticker turns it into the flows' stop request
                             engine::Ticker watch(loop, std::chrono::milliseconds(100), [&] {
                               if (session.interrupted() && !work.stop_requested()) work.request_stop();
                             });
                             if (session.interrupted()) work.request_stop();  // a Ctrl-C before the first tick
                             loop.run();
                           }));
  students.clear();
  result.interrupted = work.stop_requested();
  int said = 0;  // a few lines, not one per student of a large class: the reports group them all
  for (const auto& s : result.students) {
    if (s.ok()) continue;
    if (++said <= 10) logger().warn("{}: {} failed: {}", s.user, s.failed_step, s.reason);
  }
  if (said > 10) logger().warn("... and {} more failed journeys (every one is in the reports)", said - 10);
  teardown();
}

} // namespace hubstress
