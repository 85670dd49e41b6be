// stress-test's spawn phase: one flow per user on the run's loop, at most `window` of them between
// their start request and their end; the window narrows when the hub answers 429 and widens again
// one step per completed spawn. Each flow is the one spawn protocol (spawn_and_wait).
#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/spawn.hpp"
#include "hubstress/log.hpp"
#include "hubstress/scenarios/stress.hpp"
#include "hubstress/hub/url.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <deque>

namespace hubstress {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Who may have a start request out: a FIFO of waiting flows, each woken when its turn comes.
class Gate {
public:
  Gate(engine::Loop& loop, int window) : loop_(loop), max_(std::max(window, 1)), window_(max_), smallest_(max_) {}

  // Until this flow may send (true), or the phase gave up or was stopped (false). `first`: it was
  // throttled, and goes before the flows that never sent.
  Task<bool> enter(bool first, std::stop_token stop) {
    if (closed_) co_return false;
    if (!paused_ && in_flight_ < window_ && waiting_.empty()) {
      ++in_flight_;
      co_return true;
    }
    auto turn = std::make_shared<Turn>(loop_.context());
    if (first) waiting_.push_front(turn); else waiting_.push_back(turn);
    std::stop_callback wake(stop, [this] { close(); });
    if (!turn->woken) {  // a stop that came first has closed the gate already
      boost::system::error_code ec;
      co_await turn->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return turn->granted;
  }
  // A spawn ended: its place goes to the next flow, and the window widens one step.
  void leave() {
    --in_flight_;
    if (window_ < max_) ++window_;
    pump();
  }
  // A 429: this flow leaves, and the hub's limit is about what is pending now: send more only as
  // our pending spawns complete.
  void throttle() {
    --in_flight_;
    window_ = std::max(1, in_flight_);
    smallest_ = std::min(smallest_, window_);
  }
  int in_flight() const { return in_flight_; }
  std::size_t waiting() const { return waiting_.size(); }
  int smallest() const { return smallest_; }
  void pause(bool on) {
    paused_ = on;
    if (!on) pump();
  }
  bool paused() const { return paused_; }
  // Every waiting flow (and every later one) is turned away.
  void close() {
    closed_ = true;
    while (!waiting_.empty()) wake(false);
  }

private:
  struct Turn {
    explicit Turn(asio::io_context& io) : timer(io, Clock::time_point::max()) {}
    asio::steady_timer timer;
    bool woken = false;
    bool granted = false;
  };
  void wake(bool granted) {
    auto turn = waiting_.front();
    waiting_.pop_front();
    turn->woken = true;
    turn->granted = granted;
    turn->timer.cancel();
  }
  void pump() {
    while (!closed_ && !paused_ && in_flight_ < window_ && !waiting_.empty()) {
      ++in_flight_;
      wake(true);
    }
  }

  engine::Loop& loop_;
  int max_;
  int window_;
  int smallest_;
  int in_flight_ = 0;
  bool paused_ = false;
  bool closed_ = false;
  std::deque<std::shared_ptr<Turn>> waiting_;
};

class SpawnPhase {
public:
  SpawnPhase(Session& session, int window, const std::string& profile, double deadline_s, SpawnStats& stats)
      : session_(session), gate_(*session.loop(), window), deadline_s_(deadline_s), stats_(stats) {
    if (!profile.empty()) body_ = nlohmann::json{{"profile", profile}}.dump();
  }

  Task<void> run(std::vector<SpawnRecord>& records) {
    start_ = Clock::now();
    engine::Group flows(*session_.loop());
    for (auto& r : records) flows.spawn(one(r));
    co_await flows.wait();
    stats_.smallest_window = gate_.smallest();
  }

private:
  SpawnPlan plan(const std::string& user) const {
    const std::string server = "/users/" + url_escape(user) + "/server";
    SpawnPlan p;
    p.user = user;
    p.start = session_.request(ApiKind::start_server, server, body_);
    p.start.retry_throttled = false;  // a 429 narrows the window instead of sleeping 30-60 s
    p.progress = session_.request(ApiKind::progress, server + "/progress");
    p.progress.retry = false;
    p.start_timeout_s = deadline_s_;
    p.ready_timeout_s = deadline_s_;
    return p;
  }

  Task<void> one(SpawnRecord& r) {
    const std::stop_token stop = session_.context().work();
    if (!co_await gate_.enter(false, stop)) co_return finish(r, give_up_reason_);
    r.requested_at_s = since(start_);
    ++session_.progress().requested;
    r.state = SpawnState::requested;
    const auto first = Clock::now();
    const ThrottleWait wait = [&](const Response& a) { return throttled(a, first); };
    // named, never braced or converted inside co_await: GCC 12 destroys such temporaries twice
    std::function<void(const SpawnEnd&)> no_hook;
    SpawnPlan p = plan(r.user);
    const SpawnEnd end = co_await spawn_and_wait(session_.admin(), std::move(p), wait, std::move(no_hook), stop);
    r.throttled = end.throttled;
    stats_.throttled += end.throttled;
    stats_.throttled_s += end.throttled_s;
    if (end.how != SpawnHow::interrupted && !give_up_) gate_.leave();
    settle(r, end);
  }

  Task<ThrottleAnswer> throttled(const Response& a, Clock::time_point first) {
    if (a.status != 429) co_return ThrottleAnswer{};  // a 503 that outlived the retries fails this spawn
    gate_.throttle();
    if (gate_.in_flight() == 0 && !gate_.paused()) {
      // none of ours is pending: the hub's concurrent_spawn_limit is full of others' spawns, or its
      // active_server_limit is reached (429 without Retry-After). Wait as it asks, but not for ever.
      if (!stalled_since_) {
        stalled_since_ = Clock::now();
        logger().warn("Hub answers 429 with none of this run's spawns pending ({}); waiting",
                      a.retry_after_s ? "spawn limit full" : "active server limit reached?");
      } else if (since(*stalled_since_) >= deadline_s_) {
        co_return give_up();
      }
      gate_.pause(true);
      const double wait = std::min(a.retry_after_s.value_or(2.0), session_.options().retry.max_delay_s);
      co_await engine::sleep(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait)),
                             session_.context().work());
      gate_.pause(false);
    }
    if (!co_await gate_.enter(true, session_.context().work())) co_return ThrottleAnswer{false, false, give_up_reason_};
    if (since(first) >= deadline_s_) {  // a hub that answers 429 for ever must not hold us for ever
      co_return ThrottleAnswer{false, true, fmt::format("not ready within {:.0f} s", deadline_s_)};
    }
    co_return ThrottleAnswer{true, false, {}};
  }

  // The hub refused every start for a whole server deadline: the rest cannot start in this run.
  ThrottleAnswer give_up() {
    give_up_ = true;
    give_up_reason_ = fmt::format("the hub answered 429 to every start request for {:.0f} s", deadline_s_);
    logger().error("Giving up on {} servers: {}", gate_.waiting() + 1, give_up_reason_);
    gate_.close();
    return ThrottleAnswer{false, false, give_up_reason_};
  }

  void settle(SpawnRecord& r, const SpawnEnd& end) {
    switch (end.how) {
    case SpawnHow::ready:
      stalled_since_.reset();
      r.state = SpawnState::ready;
      r.ready_after_s = std::chrono::duration<double>(end.ready - end.sent).count();
      r.ended_at_s = std::chrono::duration<double>(end.ready - start_).count();
      ++session_.progress().ready;
      logger().debug("Server of {} ready after {:.3f} s", r.user, r.ready_after_s);
      return;
    case SpawnHow::timed_out:
      if (end.started || end.start_outcome != Outcome::timeout) return time_out(r);
      [[fallthrough]];
    case SpawnHow::failed:
    case SpawnHow::refused: return fail(r, end.reason.empty() ? "spawn failed" : end.reason);
    case SpawnHow::interrupted: r.reason = "interrupted"; return;
    }
  }

  void finish(SpawnRecord& r, const std::string& reason) {
    if (reason.empty()) {
      r.reason = "interrupted";  // never sent
      return;
    }
    fail(r, reason);
  }

  void fail(SpawnRecord& r, std::string reason) {
    r.state = SpawnState::failed;
    r.ended_at_s = since(start_);
    ++session_.progress().failed;
    logger().warn("Server of {} failed: {}", r.user, reason);
    r.reason = std::move(reason);
  }

  void time_out(SpawnRecord& r) {
    r.state = SpawnState::timed_out;
    r.ended_at_s = since(start_);
    ++session_.progress().failed;
    r.reason = fmt::format("not ready within {:.0f} s", deadline_s_);
    logger().warn("Server of {} {}", r.user, r.reason);
  }

  Session& session_;
  Gate gate_;
  std::string body_;
  double deadline_s_;
  SpawnStats& stats_;
  Clock::time_point start_;
  std::optional<Clock::time_point> stalled_since_;  // first 429 with none of ours pending, until a spawn works
  bool give_up_ = false;
  std::string give_up_reason_;
};

void report(const std::vector<SpawnRecord>& records) {
  int ready = 0, failed = 0, pending = 0, waiting = 0;
  for (const auto& r : records) {
    ready += r.state == SpawnState::ready;
    failed += r.state == SpawnState::failed || r.state == SpawnState::timed_out;
    pending += r.state == SpawnState::requested;
    waiting += r.state == SpawnState::not_started;
  }
  logger().info("Servers: {} ready, {} failed, {} pending, {} waiting to start ({} of {} done)", ready, failed, pending,
                waiting, ready + failed, records.size());
}

} // namespace

std::vector<SpawnRecord> start_servers(Session& session, const std::vector<std::string>& users, int window,
                                       const std::string& profile, double deadline_s, SpawnStats& stats) {
  ScopeTimer timer("start_servers");
  if (users.empty()) return {};
  session.progress().phase = Phase::spawn;
  std::vector<SpawnRecord> records(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) records[i].user = users[i];
  stats.smallest_window = std::max(window, 1);
  SpawnPhase phase(session, window, profile, deadline_s, stats);
  session.run(phase.run(records));
  report(records);
  return records;
}

} // namespace hubstress
