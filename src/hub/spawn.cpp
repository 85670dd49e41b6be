#include "hubstress/hub/spawn.hpp"

#include "hubstress/hub/health.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace hubstress {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::optional<ProgressEnd> progress_verdict(std::string_view data) {
  const json event = json::parse(data, nullptr, false);
  if (!event.is_object()) return std::nullopt;
  ProgressEnd end;
  end.ready = event.contains("ready") && event["ready"] == true;
  end.failed = event.contains("failed") && event["failed"] == true;
  if (!end.ready && !end.failed) return std::nullopt;
  end.message = event.contains("message") && event["message"].is_string() ? event["message"].get<std::string>() : "";
  return end;
}

namespace {

std::chrono::milliseconds until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(1));  // never 0 ms, which libcurl reads as "no timeout"
}

Clock::time_point after(Clock::time_point from, double seconds) {
  return from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

SpawnEnd ended(SpawnEnd end, SpawnHow how, std::string reason = {}) {
  end.how = how;
  end.reason = std::move(reason);
  return end;
}

// Whether the start request's answer means the spawn is under way.
bool accepted(const SpawnPlan& plan, const Response& a) {
  if (!plan.browser) return a.status == 201 || a.status == 202 || a.status == 400 || a.status == 500;
  // a browser's spawn lands on its spawn-pending page (or its server when that was quick); a
  // redirect anywhere else (the login page: the session cookie was not kept) is no spawn
  return (a.status == 302 || a.status == 303) && (a.location.find("/hub/spawn-pending/") != std::string::npos ||
                                                  a.location.find("/user/" + plan.user) != std::string::npos);
}

std::string refusal(const SpawnPlan& plan, const Response& a) {
  if (plan.browser && (a.status == 302 || a.status == 303)) return "spawn refused: redirected to " + a.location;
  if (plan.browser && a.status == 200) return "the hub shows a spawn options form: pass -p PROFILE (sent as the form's profile field)";
  return "start request: " + a.describe();
}

// The start request until it is accepted (end.started), refused or given up.
Task<SpawnEnd> start(HubClient& client, const SpawnPlan& plan, const ThrottleWait& throttled, SpawnEnd end, std::stop_token stop) {
  const auto deadline = after(Clock::now(), plan.start_timeout_s);
  for (;;) {
    Request request = plan.start;
    request.timeout = std::min(request.timeout, until(deadline));
    const Response a = co_await client.call(std::move(request), stop);
    if (end.sent == Clock::time_point{}) end.sent = a.sent;
    end.start_outcome = a.outcome;
    if (a.outcome == Outcome::interrupted) co_return ended(std::move(end), SpawnHow::interrupted, "interrupted");
    if (a.outcome == Outcome::timeout) co_return ended(std::move(end), SpawnHow::timed_out, "start request: " + a.describe());
    if (a.answered() && accepted(plan, a)) {
      end.started = true;
      end.accepted = a.finished;
      if (a.status == 500) end.reason = "start request: " + a.describe();  // its progress stream says why, the 500 does not
      if (!plan.browser && a.status == 201) {
        end.ready = a.finished;
        end.how = SpawnHow::ready;
      }
      co_return end;
    }
    if (a.status == 404) {
      // a hub restarting behind a proxy answers 404 for everything: asked again until it is back
      const bool restarting = co_await restart_404(client, stop);
      if (!restarting) co_return ended(std::move(end), SpawnHow::refused, refusal(plan, a));
      if (deadline - Clock::now() <= std::chrono::seconds(1)) {
        co_return ended(std::move(end), SpawnHow::timed_out, refusal(plan, a) + " (the hub was restarting: its health check failed)");
      }
      if (!co_await engine::sleep(std::chrono::seconds(1), stop)) co_return ended(std::move(end), SpawnHow::interrupted, "interrupted");
      continue;
    }
    if (!a.answered() || (a.status != 429 && a.status != 503)) co_return ended(std::move(end), SpawnHow::refused, refusal(plan, a));
    if (a.status == 429) ++end.throttled;
    const auto waiting = Clock::now();
    const ThrottleAnswer verdict = co_await throttled(a);
    end.throttled_s += std::chrono::duration<double>(Clock::now() - waiting).count();
    if (stop.stop_requested()) co_return ended(std::move(end), SpawnHow::interrupted, "interrupted");
    if (!verdict.again) {
      co_return ended(std::move(end), verdict.timed_out ? SpawnHow::timed_out : SpawnHow::refused,
                      verdict.reason.empty() ? refusal(plan, a) : verdict.reason);
    }
  }
}

// The progress stream's verdict, or nothing when it ended without one (the caller asks again).
struct StreamRead {
  std::optional<SpawnEnd> end;
  std::string last;  // what went wrong, for a time-out's reason
};

Task<StreamRead> read_stream(HubStream& stream, SpawnEnd end, Clock::time_point deadline, std::stop_token stop) {
  for (;;) {
    auto next = co_await stream.next(until(deadline), stop);
    if (next.errc == engine::Errc::closed) co_return StreamRead{};
    if (next.errc == engine::Errc::transport_failed) co_return StreamRead{std::nullopt, "progress stream: " + next.reason};
    if (next.errc == engine::Errc::cancelled) co_return StreamRead{ended(std::move(end), SpawnHow::interrupted, "interrupted"), ""};
    if (!next) co_return StreamRead{ended(std::move(end), SpawnHow::timed_out, "progress stream: " + next.reason), ""};
    const auto verdict = progress_verdict(next.event.data);
    if (!verdict) continue;
    if (verdict->failed) co_return StreamRead{ended(std::move(end), SpawnHow::failed, verdict->message), ""};
    end.ready = next.event.arrived;
    co_return StreamRead{ended(std::move(end), SpawnHow::ready), ""};
  }
}

// The progress stream until ready, failed or the deadline; asked again when it breaks or ends
// without a verdict (a proxy or ingress under class-start load).
Task<SpawnEnd> follow(HubClient& client, const SpawnPlan& plan, SpawnEnd end, std::stop_token stop) {
  const auto deadline = after(end.sent, plan.ready_timeout_s);
  const std::string start_error = std::move(end.reason);
  end.reason.clear();
  std::string last;
  for (;;) {
    if (Clock::now() >= deadline) co_return ended(std::move(end), SpawnHow::timed_out, last);
    Request request = plan.progress;
    request.timeout = until(deadline);
    HubStream stream = co_await client.stream(std::move(request), stop);
    const Response& head = stream.head();
    if (head.outcome == Outcome::interrupted) co_return ended(std::move(end), SpawnHow::interrupted, "interrupted");
    if (head.outcome == Outcome::timeout) co_return ended(std::move(end), SpawnHow::timed_out, last);
    bool restarting = false;  // a 404 from a hub restarting behind a proxy, not from the hub
    if (head.status == 404) restarting = co_await restart_404(client, stop);
    const bool again = restarting || !head.answered() || head.status >= 500;
    if (!restarting && !stream.ok() && !start_error.empty()) co_return ended(std::move(end), SpawnHow::refused, start_error);
    if (!again && head.status == 400) {
      co_return ended(std::move(end), SpawnHow::refused, "the hub says the server is not starting: " + head.describe());
    }
    if (!again && !stream.ok()) co_return ended(std::move(end), SpawnHow::refused, "progress stream: " + head.describe());
    if (again) {
      last = "progress stream: " + head.describe();
    } else {
      StreamRead read = co_await read_stream(stream, end, deadline, stop);
      if (read.end) co_return std::move(*read.end);
      if (!read.last.empty()) last = std::move(read.last);
    }
    if (deadline - Clock::now() <= std::chrono::seconds(1)) co_return ended(std::move(end), SpawnHow::timed_out, last);
    if (!co_await engine::sleep(std::chrono::seconds(1), stop)) co_return ended(std::move(end), SpawnHow::interrupted, "interrupted");
  }
}

} // namespace

Task<SpawnEnd> spawn_and_wait(HubClient& client, SpawnPlan plan, const ThrottleWait& throttled,
                              std::function<void(const SpawnEnd&)> on_started, std::stop_token stop) {
  SpawnEnd fresh;  // named: see the GCC 12 note in loop.hpp
  SpawnEnd end = co_await start(client, plan, throttled, std::move(fresh), stop);
  if (!end.started) co_return end;
  if (on_started) on_started(end);
  if (end.how == SpawnHow::ready) co_return end;
  co_return co_await follow(client, plan, std::move(end), stop);
}

} // namespace hubstress
