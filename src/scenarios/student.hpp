#pragma once
// Internal to journey.cpp: one student's journey, one coroutine from its arrival to its first
// cell's result and on, every request through its own HubClient on the run's CallContext.
#include "hubstress/scenarios/journey.hpp"
#include "hubstress/hub/client.hpp"
#include "hubstress/hub/journal.hpp"
#include "hubstress/hub/spawn.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"
#include "hubstress/hub/users.hpp"
#include "student_tokens.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>

namespace hubstress {

namespace {

using nlohmann::json;
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


constexpr std::size_t kMaxOutput = 64 * 1024;  // of one cell's output, kept to look for --expect

std::string cut(std::string text, std::size_t n = 300) {
  if (text.size() > n) text = text.substr(0, n) + "...";
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// What every student of one run shares.
struct Class {
  const JourneyOptions& options;
  CallContext& calls;   // the run's: records, secrets, the dry run, the interrupt
  std::string root;     // the hub's root URL, credentials included: for requests, never shown
  Clock::time_point t0; // the start of the journeys phase: arrivals are counted from it
  std::stop_token work; // the first Ctrl-C: every step ends
  Progress& progress;
  SpawnStats& spawns;   // 429 answers to the students' start requests, and the time waited after them
  // capacity: students who arrived stay, a cell every --think, until `leave` (the run ends, or an
  // interrupt) or stay_s after their first result; `arrivals` stops those not arrived yet (the
  // search stopped). Unset (journey): the arrivals end on the interrupt, and each student runs
  // --cells cells.
  std::stop_token arrivals = {};
  std::stop_token leave = {};
  bool stays = false;
  double stay_s = -1;
};

// The run's context made ready for a class: the form password is a secret, and a dry run's kernel
// prints what the cells are expected to print, so that every student plays to its end.
inline void ready_for_class(CallContext& calls, const JourneyOptions& o) {
  calls.add_secret(o.password);
  calls.dry_run_kernel_prints(o.expect.empty() ? "dry run" : o.expect);
}

// A capacity student who never arrived because the search had stopped before its arrival.
inline constexpr std::string_view kNotArrived = "never arrived: the search had stopped";

// A request of a student's, of this kind (its method and route from the kind) to `path` under the
// hub's root. A student's step handles its own retries.
Request student_request(ApiKind kind, std::string path, double timeout_s) {
  Request r;
  r.kind = kind;
  r.method = method_of(kind);
  r.route = route_of(kind);
  r.path = std::move(path);
  r.retry = false;
  r.timeout = millis(timeout_s);
  return r;
}

class Student {
public:
  Student(Class& c, StudentRecord& record, const std::string& token, std::uint64_t seed)
      : c_(c), r_(record), client_(c.calls, c.root, token), rng_(seed), session_id_(random_hex(rng_)) {}

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
      logger().warn("{}: clean-up of its kernel failed: {}", r_.user, c_.calls.redact(e.what()));
    } catch (...) {
    }
  }

private:
  // The student's scheduled arrival: its clock starts here, however late the tool starts it.
  Clock::time_point arrival() const { return c_.t0 + span(r_.scheduled_s); }
  std::string user_url(const std::string& path) const { return "/user/" + url_escape(r_.user) + path; }
  double remaining(Clock::time_point deadline) const { return since(Clock::now(), deadline); }
  bool form() const { return c_.options.auth == JourneyAuth::form; }

  bool fail(const std::string& step, const std::string& reason) {
    if (r_.failed_step.empty()) {
      r_.failed_step = step;
      r_.reason = c_.calls.redact(reason);
    }
    return false;
  }
  // A failed await: its own words, or a timeout/interruption said plainly.
  bool fail_on(const std::string& step, Outcome outcome, const std::string& reason) {
    if (outcome == Outcome::interrupted) return fail(step, "interrupted");
    if (outcome == Outcome::timeout) return fail(step, fmt::format("step timed out ({:g} s)", timeout_of(step)));
    return fail(step, reason);
  }
  bool fail_on(const std::string& step, Errc errc, const std::string& reason) {
    if (errc == Errc::cancelled) return fail_on(step, Outcome::interrupted, reason);
    if (errc == Errc::timeout) return fail_on(step, Outcome::timeout, reason);
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
    const auto waited = co_await engine::sleep(arrival() - Clock::now(), c_.arrivals.stop_possible() ? c_.arrivals : c_.work);
    if (!waited) {
      r_.failed_step = "arrival";
      r_.reason = c_.work.stop_requested() ? "interrupted before it arrived" : std::string(kNotArrived);
      co_return;
    }
    r_.late_s = std::max(0.0, since(arrival(), Clock::now()));
    ++c_.progress.arrived;
    if (co_await steps()) ++c_.progress.done;
  }

  engine::Task<bool> steps() {
    if (form() && !co_await login()) co_return false;
    if (!co_await spawn()) co_return false;
    if (!co_await open()) co_return false;
    if (!co_await start_kernel()) co_return false;
    if (!co_await cell(1, "first_result")) co_return false;
    r_.time_to_first_result_s = since(arrival(), mark_);
    ++c_.progress.results;
    if (c_.stays) co_return co_await stay();
    for (int i = 2; i <= c_.options.cells; ++i) {
      step_ = "cell";
      const auto thought = co_await engine::sleep(span(c_.options.think_s), c_.work);
      if (!thought) co_return fail("cell", "interrupted");
      mark_ = Clock::now();
      if (!co_await cell(i, "cell")) co_return false;
    }
    co_return true;
  }

  // capacity: a cell every --think until the run ends (or a signal), or until stay_s after the
  // first result: then the student leaves (its kernel deleted and its server stopped in teardown).
  engine::Task<bool> stay() {
    const auto first = mark_;
    for (int i = 2;; ++i) {
      step_ = "cell";
      auto until = Clock::now() + span(c_.options.think_s);
      bool last = false;
      if (c_.stay_s >= 0 && first + span(c_.stay_s) <= until) {
        until = first + span(c_.stay_s);
        last = true;
      }
      const auto thought = co_await engine::sleep(until - Clock::now(), c_.leave);
      if (!thought) co_return true;  // the run ends: the student goes home, its journey done
      if (last) {
        leaving_ = true;
        co_return true;
      }
      mark_ = Clock::now();
      if (!co_await cell(i, "cell")) co_return false;
    }
  }

  // GET /hub/login, then POST it (the client adds _xsrf from the login page's cookie, as 4.x wants);
  // a login is done only on the redirect (3.0 answers a refused one with 200 and the form again).
  engine::Task<bool> login() {
    step_ = "login";
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    Request get = student_request(ApiKind::login_page, "/hub/login", remaining(deadline));
    const auto page = co_await client_.call(std::move(get), c_.work);
    if (!page.answered()) co_return fail_on("login", page.outcome, "login page: " + page.describe());
    if (!page.ok()) co_return fail("login", "login page: " + page.describe());
    Request post = student_request(ApiKind::login, "/hub/login?next=" + url_escape("/hub/spawn"), remaining(deadline));
    post.form = {{"username", r_.user}, {"password", c_.options.password}};
    const auto answer = co_await client_.call(std::move(post), c_.work);
    if (!answer.answered()) co_return fail_on("login", answer.outcome, "login: " + answer.describe());
    if (answer.status != 302 && answer.status != 303) {
      co_return fail("login", answer.status == 200 ? "login refused (the hub showed the login form again)"
                                                   : "login refused: " + answer.describe());
    }
    if (answer.location.find("/hub/login") != std::string::npos) co_return fail("login", "login refused (sent back to the login page)");
    done("login", from, answer.finished);
    co_return true;
  }

  // The start request and the spawn's progress stream, as the student's own: with its token the
  // REST call, with its cookies the browser's GET /hub/spawn (the one spawn protocol). A 429 (the
  // hub's concurrent_spawn_limit) or 503 is retried after the hub's Retry-After, within the step's time.
  SpawnPlan spawn_plan() const {
    SpawnPlan p;
    p.user = url_escape(r_.user);
    p.browser = form();
    if (form()) {
      p.start = student_request(ApiKind::start_server, "/hub/spawn", c_.options.step_timeout_s);
      p.start.route = "/hub/spawn";
      if (!c_.options.profile.empty()) {
        p.start.method = "POST";
        p.start.form = {{"profile", c_.options.profile}};
      } else {
        p.start.method = "GET";
      }
    } else {
      const json body = c_.options.profile.empty() ? json::object() : json{{"profile", c_.options.profile}};
      p.start = student_request(ApiKind::start_server, "/hub/api/users/" + url_escape(r_.user) + "/server", c_.options.step_timeout_s);
      p.start.body = body.dump();
    }
    p.progress = student_request(ApiKind::progress, "/hub/api/users/" + url_escape(r_.user) + "/server/progress", c_.options.server_timeout_s);
    // as the spawn-pending page's EventSource: JupyterHub before 4 takes a cookie on an API
    // request only with a Referer from the hub itself
    if (form()) p.progress.headers.push_back("Referer: " + client_.absolute("/hub/spawn-pending/" + url_escape(r_.user)));
    p.start_timeout_s = c_.options.step_timeout_s;
    p.ready_timeout_s = c_.options.server_timeout_s;
    return p;
  }

  engine::Task<ThrottleAnswer> throttled(const Response& answer, Clock::time_point deadline) {
    const double wait = answer.retry_after_s ? std::max(0.1, *answer.retry_after_s) : 1.0;
    if (remaining(deadline) <= wait) co_return ThrottleAnswer{};
    if (!co_await engine::sleep(span(wait), c_.work)) co_return ThrottleAnswer{};
    co_return ThrottleAnswer{true, false, {}};
  }

  engine::Task<bool> spawn() {
    step_ = "spawn";
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    const ThrottleWait wait = [&](const Response& a) { return throttled(a, deadline); };
    std::function<void(const SpawnEnd&)> started = [&](const SpawnEnd& end) {
      ++c_.progress.requested;
      done("spawn", from, end.accepted);
      step_ = "ready";
    };
    SpawnPlan plan = spawn_plan();
    const SpawnEnd end = co_await spawn_and_wait(client_, std::move(plan), wait, std::move(started), c_.work);
    c_.spawns.throttled += end.throttled;
    c_.spawns.throttled_s += end.throttled_s;
    const std::string step = end.started ? "ready" : "spawn";
    switch (end.how) {
    case SpawnHow::ready:
      done("ready", end.sent, end.ready);
      r_.steps.back().start_s = since(c_.t0, end.sent);
      co_return true;
    case SpawnHow::failed: co_return fail(step, "spawn failed: " + (end.reason.empty() ? "the hub gave no reason" : end.reason));
    case SpawnHow::refused: co_return fail(step, end.reason);
    case SpawnHow::interrupted: co_return fail(step, "interrupted");
    case SpawnHow::timed_out: break;
    }
    if (!end.started) co_return fail_on(step, end.start_outcome == Outcome::timeout ? Outcome::timeout : Outcome::ok, end.reason);
    co_return fail(step, fmt::format("step timed out ({:g} s){}", c_.options.server_timeout_s, end.reason.empty() ? "" : "; last: " + end.reason));
  }

  // The user's server through the proxy. Right after ready the route may be missing (503 from the
  // proxy, or the hub's redirect back): retried within the step's time, the wait counted.
  engine::Task<bool> open() {
    step_ = "open";
    const auto from = mark_;
    const auto deadline = Clock::now() + millis(c_.options.step_timeout_s);
    const std::string home = client_.absolute(user_url("/"));
    std::string last;
    for (double pause = 0.1;; pause = std::min(pause * 2, 1.0)) {
      Request request = student_request(ApiKind::open_server, form() ? user_url("/") : user_url("/api/status"),
                                        std::min(remaining(deadline), 30.0));
      request.follow_redirects = form();  // the OAuth dance: authorize, callback, the server's own cookie
      const auto answer = co_await client_.call(std::move(request), c_.work);
      if (answer.outcome == Outcome::interrupted) co_return fail("open", "interrupted");
      if (answer.status == 200 && (!form() || answer.url.rfind(home, 0) == 0)) {
        if (form() && !co_await known_to_server(deadline)) co_return false;
        done("open", from, answer.finished);
        co_return true;
      }
      last = answer.answered() ? answer.describe() + (answer.location.empty() ? "" : " to " + answer.location) : answer.describe();
      // no route yet: the proxy's 502-504, the hub's 404/424 or its redirect for a server it does not
      // see yet; anything else (403, 500) is the server's answer, not a missing route
      const long st = answer.status;
      const bool no_route_yet = !answer.answered() || (st >= 300 && st < 400) || st == 404 || st == 424 || (st >= 502 && st <= 504) ||
                                (form() && st == 200);
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
    Request request = student_request(ApiKind::start_kernel, user_url("/api/kernels"), remaining(deadline));
    request.body = "{}";
    const auto answer = co_await client_.call(std::move(request), c_.work);
    if (!answer.answered()) co_return fail_on("kernel", answer.outcome, "kernel start failed: " + answer.describe());
    const json model = json::parse(answer.body, nullptr, false);
    if (answer.status != 201 || !model.is_object() || !model.contains("id") || !model["id"].is_string()) {
      co_return fail("kernel", "kernel start failed: " + answer.describe());
    }
    kernel_id_ = model["id"].get<std::string>();
    const std::string url = user_url("/api/kernels/" + url_escape(kernel_id_) + "/channels?session_id=" + session_id_);
    ws_ = co_await client_.kernel_channel(url, millis(remaining(deadline)), c_.work);
    if (!ws_) co_return fail_on("kernel", ws_.opened().errc, "kernel WebSocket did not open: " + ws_.opened().reason);
    if (!co_await kernel_info(deadline)) co_return false;
    done("kernel", from, Clock::now());
    co_return true;
  }

  // A server root may answer 200 without asking who the caller is (jupyter-server 2 without a
  // front end, JupyterHub 5.2): a form-login student is open only once its server's API knows it.
  engine::Task<bool> known_to_server(Clock::time_point deadline) {
    Request request = student_request(ApiKind::open_server, user_url("/api/status"), std::min(remaining(deadline), 30.0));
    const auto answer = co_await client_.call(std::move(request), c_.work);
    if (answer.status == 200) co_return true;
    if (!answer.answered()) co_return fail_on("open", answer.outcome, "GET api/status: " + answer.describe());
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
    for (;;) {
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
  // A capacity student who leaves after --stay also stops its own server, as a student closing the
  // tab and logging out does not, but one who leaves the hub does (File > Hub Control Panel > Stop).
  engine::Task<void> teardown() {
    r_.left_s = since(c_.t0, Clock::now());
    if (ws_) co_await ws_.close(std::chrono::seconds(5));
    if (!kernel_id_.empty()) {
      Request request = student_request(ApiKind::delete_kernel, user_url("/api/kernels/" + url_escape(kernel_id_)), 15);
      request.interruptible = false;  // the kernel's deletion goes on after a first Ctrl-C
      const auto answer = co_await client_.call(std::move(request));
      r_.kernel_deleted = answer.status == 204 || answer.status == 200;
      if (!r_.kernel_deleted) logger().warn("{}: deleting kernel {} failed: {}", r_.user, kernel_id_, answer.describe());
    }
    if (!leaving_) co_return;
    Request stop = student_request(ApiKind::stop_server, "/hub/api/users/" + url_escape(r_.user) + "/server", 30);
    if (form()) stop.headers.push_back("Referer: " + client_.absolute("/hub/home"));
    const auto answer = co_await client_.call(std::move(stop), c_.work);
    r_.server_stopped = answer.status == 204 || answer.status == 202;
    if (!r_.server_stopped && answer.answered()) logger().warn("{}: stopping its server failed: {}", r_.user, answer.describe());
  }

  Class& c_;
  StudentRecord& r_;
  HubClient client_;
  std::mt19937_64 rng_;
  std::string session_id_;
  std::string step_ = "spawn";
  Clock::time_point mark_{};  // where the next step's time starts: the end of the previous one
  std::string kernel_id_;
  engine::WebSocket ws_;
  bool leaving_ = false;  // stay_s is over: the student leaves the hub
};

} // namespace

} // namespace hubstress
