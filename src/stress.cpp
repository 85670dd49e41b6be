#include "hubstress/stress.hpp"

#include "hubstress/errors.hpp"
#include "hubstress/journal.hpp"
#include "hubstress/log.hpp"
#include "hubstress/url.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <random>

namespace hubstress {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {


double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string server_path(const std::string& user) { return "/users/" + url_escape(user) + "/server"; }

// Runs the spawn phase: one object, one engine loop, callbacks refill the window.
class SpawnWindow {
public:
  SpawnWindow(Session& session, const std::vector<std::string>& users, int window, const std::string& profile,
              double deadline_s, SpawnStats& stats)
      : session_(session), max_window_(std::max(window, 1)), window_(max_window_), deadline_s_(deadline_s),
        stats_(stats) {
    if (!profile.empty()) body_ = json{{"profile", profile}}.dump();
    for (const auto& u : users) {
      SpawnRecord r;
      r.user = u;
      records_.push_back(std::move(r));
      queue_.push_back(records_.size() - 1);
    }
    stats_.smallest_window = max_window_;
  }

  std::vector<SpawnRecord> run() {
    start_ = Clock::now();
    session_.progress().phase = Phase::spawn;
    refill();
    try {
      session_.engine().run_until([this] { return done_ == records_.size() || session_.interrupted(); });
    } catch (...) {
      session_.engine().abort_all();  // callbacks point at this object
      throw;
    }
    session_.engine().cancel(timers_);
    // callbacks still to come point here: a progress stream this window closed after its ready
    // event (a hub that keeps it open) still delivers its end later; interrupted, the spawns in
    // flight too (the tear-down stops those)
    session_.engine().abort_all();
    if (done_ < records_.size()) {
      for (auto& r : records_) {
        if (r.state == SpawnState::requested || r.state == SpawnState::not_started) r.reason = "interrupted";
      }
    }
    report_progress();
    return records_;
  }

private:
  void refill() {
    if (session_.interrupted()) return;
    while (!paused_ && in_flight_ < window_ && !queue_.empty()) {
      const std::size_t i = queue_.front();
      queue_.pop_front();
      send(i);
    }
  }

  void send(std::size_t i) {
    SpawnRecord& r = records_[i];
    const auto now = Clock::now();
    if (r.state == SpawnState::not_started) {
      r.requested_at_s = since(start_);
      requested_[i] = now;
      ++session_.progress().requested;
    } else if (auto t = throttled_since_.find(i); t != throttled_since_.end()) {
      stats_.throttled_s += std::chrono::duration<double>(now - t->second).count();
      throttled_since_.erase(t);
      if (since(requested_[i]) >= deadline_s_) {  // a hub that answers 429 for ever must not hold us for ever
        ++in_flight_;  // time_out() completes a spawn in flight
        return time_out(i);
      }
    }
    r.state = SpawnState::requested;
    ++in_flight_;
    Request req = session_.request(ApiKind::start_server, server_path(r.user), body_);
    req.retry_throttled = false;  // a 429 narrows the window instead of sleeping 30-60 s
    session_.submit(std::move(req), [this, i](Response resp) { on_start_answer(i, resp); });
  }

  void on_start_answer(std::size_t i, const Response& resp) {
    if (resp.status == 201) return ready(i);
    if (resp.status == 202 || resp.status == 400) return follow(i);  // 400: already running (a retried request)
    if (resp.status == 429) return throttle(i, resp);
    if (resp.status == 500) {
      // the spawn failed within the hub's first 10 s; its progress stream says why, the 500 does not
      start_errors_[i] = "start request: " + resp.describe();
      return follow(i);
    }
    fail(i, "start request: " + resp.describe());
  }

  // Follows the progress stream until it ends with ready or failed.
  void follow(std::size_t i) {
    const double left = deadline_s_ - since(requested_[i]);
    if (left <= 0) return time_out(i);
    Request req = session_.request(ApiKind::progress, server_path(records_[i].user) + "/progress");
    req.timeout = std::chrono::milliseconds(static_cast<long>(left * 1000) + 1);  // the deadline
    // each event as it arrives: the ready time is when "ready" came, not when the stream closed
    session_.engine().stream(
        std::move(req), [this, i](const engine::SseEvent& event) { return on_progress_event(i, event); },
        [this, i](Response resp) { on_progress(i, resp); });
  }

  // One event of the progress stream; false (close it) once it says ready or failed.
  bool on_progress_event(std::size_t i, const engine::SseEvent& event) {
    const auto end = progress_verdict(event.data);
    if (!end) return true;
    if (end->ready) {
      ready(i, event.arrived);
    } else {
      fail(i, end->message.empty() ? "spawn failed" : end->message);
    }
    return false;
  }

  // The stream ended; unless one of its events settled the spawn, decide what comes next.
  void on_progress(std::size_t i, const Response& resp) {
    if (records_[i].state != SpawnState::requested) return;
    if (resp.outcome == Outcome::timeout) return time_out(i);
    if (auto e = start_errors_.find(i); e != start_errors_.end() && !resp.ok()) return fail(i, e->second);
    if (resp.status == 400) return fail(i, "the hub says the server is not starting: " + resp.describe());
    if (!resp.ok() && !is_retryable(resp.outcome, static_cast<int>(resp.status))) {
      return fail(i, "progress stream: " + resp.describe());
    }
    // the stream ended without a verdict, or broke: ask again after a pause (bounded by the deadline)
    timers_.push_back(session_.engine().after(1.0, [this, i] { follow(i); }));
  }

  void throttle(std::size_t i, const Response& resp) {
    ++stats_.throttled;
    ++records_[i].throttled;
    --in_flight_;
    throttled_since_[i] = Clock::now();
    queue_.push_front(i);
    // the hub's limit is about what is pending now: send more only as our pending spawns complete
    window_ = std::max(1, in_flight_);
    stats_.smallest_window = std::min(stats_.smallest_window, window_);
    if (in_flight_ == 0 && !paused_) {
      // none of ours is pending: the hub's concurrent_spawn_limit is full of others' spawns, or its
      // active_server_limit is reached (429 without Retry-After). Wait as it asks, but not for ever.
      if (!stalled_since_) {
        stalled_since_ = Clock::now();
        logger().warn("Hub answers 429 with none of this run's spawns pending ({}); waiting",
                      resp.retry_after_s ? "spawn limit full" : "active server limit reached?");
      } else if (since(*stalled_since_) >= deadline_s_) {
        return give_up_throttled();
      }
      paused_ = true;
      const double wait = std::min(resp.retry_after_s.value_or(2.0), session_.options().retry.max_delay_s);
      timers_.push_back(session_.engine().after(wait, [this] {
        paused_ = false;
        refill();
      }));
    }
  }

  // The hub refused every start for a whole server deadline: the rest cannot start in this run.
  void give_up_throttled() {
    const std::string reason = fmt::format("the hub answered 429 to every start request for {:.0f} s", deadline_s_);
    logger().error("Giving up on {} servers: {}", queue_.size(), reason);
    while (!queue_.empty()) {
      const std::size_t i = queue_.front();
      queue_.pop_front();
      throttled_since_.erase(i);
      ++in_flight_;  // fail() completes a spawn in flight
      fail(i, reason);
    }
  }

  void ready(std::size_t i, Clock::time_point at = Clock::now()) {
    stalled_since_.reset();
    records_[i].state = SpawnState::ready;
    records_[i].ready_after_s = std::chrono::duration<double>(at - requested_[i]).count();
    records_[i].ended_at_s = std::chrono::duration<double>(at - start_).count();
    ++session_.progress().ready;
    logger().debug("Server of {} ready after {:.3f} s", records_[i].user, records_[i].ready_after_s);
    complete();
  }

  void fail(std::size_t i, std::string reason) {
    records_[i].state = SpawnState::failed;
    records_[i].ended_at_s = since(start_);
    ++session_.progress().failed;
    logger().warn("Server of {} failed: {}", records_[i].user, reason);
    records_[i].reason = std::move(reason);
    complete();
  }

  void time_out(std::size_t i) {
    records_[i].state = SpawnState::timed_out;
    records_[i].ended_at_s = since(start_);
    ++session_.progress().failed;
    records_[i].reason = fmt::format("not ready within {:.0f} s", deadline_s_);
    logger().warn("Server of {} {}", records_[i].user, records_[i].reason);
    complete();
  }

  void complete() {
    --in_flight_;
    ++done_;
    if (window_ < max_window_) ++window_;  // widen again one step per completed spawn
    refill();
  }

  void report_progress() const {
    int ready = 0, failed = 0;
    for (const auto& r : records_) {
      ready += r.state == SpawnState::ready;
      failed += r.state == SpawnState::failed || r.state == SpawnState::timed_out;
    }
    logger().info("Servers: {} ready, {} failed, {} pending, {} waiting to start ({} of {} done)", ready, failed,
                  in_flight_, queue_.size(), done_, records_.size());
  }

  Session& session_;
  std::string body_;
  int max_window_;
  int window_;
  double deadline_s_;
  SpawnStats& stats_;
  std::vector<SpawnRecord> records_;
  std::deque<std::size_t> queue_;
  std::map<std::size_t, Clock::time_point> requested_;
  std::map<std::size_t, Clock::time_point> throttled_since_;
  std::map<std::size_t, std::string> start_errors_;
  Clock::time_point start_;
  int in_flight_ = 0;
  std::size_t done_ = 0;
  bool paused_ = false;
  std::optional<Clock::time_point> stalled_since_;  // first 429 with none of ours pending, until a spawn works
  std::vector<HttpEngine::TimerId> timers_;          // timers pointing at this object
};

} // namespace

CreateHooks journal_hooks(Journal* journal, std::vector<std::string>& created) {
  CreateHooks hooks;
  hooks.before_batch = [journal](const std::vector<std::string>& batch) {
    if (journal != nullptr) journal->mark(batch, UserMark::planned);
  };
  hooks.after_batch = [journal, &created](const std::vector<std::string>& batch, const std::vector<std::string>& ours) {
    created.insert(created.end(), ours.begin(), ours.end());
    if (journal == nullptr) return;
    journal->mark(ours, UserMark::created);
    std::vector<std::string> not_ours;  // names the hub already had: never this run's to delete
    for (const auto& name : batch) {
      if (std::find(ours.begin(), ours.end(), name) == ours.end()) not_ours.push_back(name);
    }
    if (!not_ours.empty()) journal->forget(not_ours);
  };
  return hooks;
}

const char* to_string(Phase phase) {
  switch (phase) {
  case Phase::idle: return "start";
  case Phase::find: return "find";
  case Phase::create: return "create";
  case Phase::tokens: return "tokens";
  case Phase::wait: return "wait";
  case Phase::journey: return "journey";
  case Phase::spawn: return "spawn";
  case Phase::activity: return "activity";
  case Phase::delete_users: return "delete";
  }
  return "?";
}

std::string progress_line(const Progress& p, Phase phase, double elapsed_s) {
  const long whole = static_cast<long>(std::max(0.0, elapsed_s));
  const std::string head = fmt::format("[{} {}:{:02d}]", to_string(phase), whole / 60, whole % 60);
  const int created = p.created.load(), total = p.total.load();
  switch (phase) {
  case Phase::idle:
  case Phase::find: return head;
  case Phase::create:
  case Phase::tokens: return fmt::format("{} created {}/{}", head, created, total);
  case Phase::wait: return fmt::format("{} created {}/{} | waiting for --start-at", head, created, total);
  case Phase::spawn: {
    const int ready = p.ready.load(), failed = p.failed.load();
    const int pending = std::max(0, p.requested.load() - ready - failed);
    return fmt::format("{} ready {}/{} | pending {} | failed {}", head, ready, created, pending, failed);
  }
  case Phase::activity: return fmt::format("{} users {} | activity updates {}", head, total, p.activity.load());
  case Phase::journey:
    return fmt::format("{} arrived {}/{} | spawned {} | first result {} | done {} | failed {}", head, p.arrived.load(), created,
                       p.requested.load(), p.results.load(), p.done.load(), p.dropped.load());
  case Phase::delete_users:
    return fmt::format("{} stopped {} | deleted {}/{}", head, p.stopped.load(), p.deleted.load(), p.to_delete.load());
  }
  return head;
}

const char* to_string(SpawnState state) {
  switch (state) {
  case SpawnState::not_started: return "not started";
  case SpawnState::requested: return "requested";
  case SpawnState::ready: return "ready";
  case SpawnState::failed: return "failed";
  case SpawnState::timed_out: return "timed out";
  }
  return "unknown";
}

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

std::vector<SpawnRecord> start_servers(Session& session, const std::vector<std::string>& users, int window,
                                       const std::string& profile, double deadline_s, SpawnStats& stats) {
  ScopeTimer timer("start_servers");
  if (users.empty()) return {};
  return SpawnWindow(session, users, window, profile, deadline_s, stats).run();
}

int StressResult::ready() const {
  return static_cast<int>(std::count_if(spawns.begin(), spawns.end(), [](const auto& s) { return s.state == SpawnState::ready; }));
}

int StressResult::failed() const { return static_cast<int>(spawns.size()) - ready(); }

Distribution StressResult::ready_times() const {
  std::vector<double> times;
  for (const auto& s : spawns) {
    if (s.state == SpawnState::ready) times.push_back(s.ready_after_s);
  }
  return summarize(times);
}

bool remove_run_users(Session& session, const std::vector<std::string>& users, bool keep, int batch_size, Journal* journal,
                      std::vector<PhaseTime>& phases) {
  session.set_cleaning_up(true);  // a first signal lets the tear-down finish
  if (keep) {
    logger().info("Keeping {} users (--keep)", users.size());
    if (journal != nullptr) journal->mark(users, UserMark::kept);
    return true;
  }
  if (session.interrupted()) logger().warn("Interrupted: removing the {} users of this run", users.size());
  // clean-up is not the load being measured: a busy hub stops and deletes faster 10 at a time than 50
  const int window = std::min(batch_size, kCleanupWindow);
  bool deleted = false;
  phases.push_back(run_phase(session, "delete", [&] { deleted = delete_users(users, session, window); }));
  if (deleted && journal != nullptr) journal->mark(users, UserMark::deleted);
  return deleted;
}

StressResult stress_test(Session& session, const StressOptions& options) {
  StressResult result;
  stress_test(session, options, result);
  return result;
}

void stress_test(Session& session, const StressOptions& options, StressResult& result) {
  ScopeTimer timer("stress_test");
  result = StressResult{};
  session.progress().total = options.count;
  std::vector<std::string> existing;
  // strict: numbering after a list that failed would collide with users kept by earlier runs
  result.phases.push_back(run_phase(session, "find", [&] { existing = list_stress_test_users(session, options.prefix); }));
  const CreateHooks hooks = journal_hooks(options.journal, result.created);
  auto teardown = [&](const std::vector<std::string>& users) {
    result.deleted = remove_run_users(session, users, options.keep, options.batch_size, options.journal, result.phases);
  };
  if (options.before_load) options.before_load();  // nothing of this run exists yet
  try {
    result.phases.push_back(run_phase(session, "create", [&] {
                               create_users(options.count, options.batch_size, session, existing, options.prefix, &hooks,
                                            options.names);
                             }));
  } catch (const std::exception& e) {
    // the batches before the failed one exist (result.created); create_users cleaned up the failed one
    logger().error("Creating users failed ({}); {} users of this run exist", e.what(), result.created.size());
    teardown(result.created);
    throw;
  }
  try {
    result.phases.push_back(run_phase(session, "spawn", [&] {
                               result.spawns = start_servers(session, result.created, options.batch_size, options.profile,
                                                             options.server_deadline_s, result.spawn_stats);
                             }));
  } catch (const std::exception&) {
    teardown(result.created);
    throw;
  }
  teardown(result.created);
  if (session.interrupted()) {
    throw Interrupted(options.keep ? "interrupted; the users of this run were kept (--keep)"
                      : result.deleted ? "interrupted; every user of this run was removed"
                                       : "interrupted; some users of this run could not be removed");
  }
}

std::string iso8601_utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1'000'000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), micros);
}

namespace {

// activity-stress-test: WORKERS senders, each through its users one by one, plus one pinger.
class ActivityRun {
public:
  ActivityRun(Session& session, const std::vector<std::string>& users, int workers, double ping_interval_s, double duration_s,
              ActivityResult& result)
      : session_(session), ping_interval_s_(ping_interval_s), duration_s_(duration_s), result_(result) {
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(std::max(workers, 1)), users.size());
    lists_.resize(n);
    for (std::size_t i = 0; i < users.size(); ++i) lists_[i % n].push_back(users[i]);
    next_.assign(n, 0);
    first_user_ = users.front();
    result_.workers = static_cast<int>(n);
  }

  void run() {
    start_s_ = session_.elapsed();
    running_ = lists_.size();
    for (std::size_t w = 0; w < lists_.size(); ++w) send(w);
    ping();
    session_.engine().run();
  }

private:
  void send(std::size_t w) {
    // with a duration, each sender goes round its users again until the time is up
    if (next_[w] == lists_[w].size() && duration_s_ > 0 && session_.elapsed() - start_s_ < duration_s_) next_[w] = 0;
    if (next_[w] == lists_[w].size() || session_.interrupted()) {
      --running_;
      return;
    }
    const std::string user = lists_[w][next_[w]++];
    const std::string t = iso8601_utc_now();
    const json body{{"last_activity", t}, {"servers", {{"", {{"last_activity", t}}}}}};
    session_.submit(session_.request(ApiKind::activity, "/users/" + url_escape(user) + "/activity", body.dump()),
                    [this, w, user](Response r) {
                      ++session_.progress().activity;
                      auto& counts = result_.per_user[user];
                      if (r.ok()) {
                        result_.post_s.push_back(r.elapsed_s);
                        ++counts.first;
                      } else {
                        ++counts.second;
                        ++result_.post_errors;
                        logger().warn("Activity update failed: {}", r.describe());
                      }
                      std::uniform_real_distribution<double> pause(0.0, 1.0);
                      session_.engine().after(pause(rng_), [this, w] { send(w); });
                    });
  }

  void ping() {
    if (running_ == 0 || session_.interrupted()) return;
    session_.submit(session_.request(ApiKind::get_user, "/users/" + url_escape(first_user_)), [this](Response r) {
      if (r.ok()) result_.ping_s.push_back(r.elapsed_s);
      else ++result_.ping_errors;
      session_.engine().after(ping_interval_s_, [this] { ping(); });
    });
  }

  Session& session_;
  double ping_interval_s_;
  double duration_s_;
  double start_s_ = 0;
  ActivityResult& result_;
  std::vector<std::vector<std::string>> lists_;
  std::vector<std::size_t> next_;
  std::string first_user_;
  std::size_t running_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

} // namespace

ActivityResult activity_stress_test(Session& session, const ActivityOptions& options) {
  ActivityResult result;
  activity_stress_test(session, options, result);
  return result;
}

void activity_stress_test(Session& session, const ActivityOptions& options, ActivityResult& result) {
  ScopeTimer timer("activity_stress_test");
  result = ActivityResult{};
  session.progress().total = options.count;
  auto existing = list_stress_test_users(session, options.prefix);
  // a shard uses only the existing users of its own numbers: the shards never share one
  std::erase_if(existing, [&](const std::string& name) { return !in_slot(*stress_test_number(name, options.prefix), options.names); });
  std::sort(existing.begin(), existing.end(), [&](const auto& a, const auto& b) {
    return number_less(*stress_test_number(a, options.prefix), *stress_test_number(b, options.prefix));
  });
  result.used.assign(existing.begin(), existing.begin() + std::min<std::ptrdiff_t>(options.count, static_cast<std::ptrdiff_t>(existing.size())));
  const int missing = options.count - static_cast<int>(result.used.size());
  // creating the missing users, or waiting for --start-at, may fail: what this run created goes
  try {
    if (missing > 0) {
      logger().info("{} stress-test users exist; creating {} more", existing.size(), missing);
      const CreateHooks hooks = journal_hooks(options.journal, result.created);
      create_users(missing, 10, session, existing, options.prefix, &hooks, options.names);
      result.used.insert(result.used.end(), result.created.begin(), result.created.end());
    }
    if (options.before_load) options.before_load();
  } catch (const std::exception&) {
    if (!options.keep && !result.created.empty()) {
      session.set_cleaning_up(true);
      if (delete_users(result.created, session) && options.journal != nullptr) options.journal->mark(result.created, UserMark::deleted);
    }
    throw;
  }
  if (!result.used.empty()) {
    ScopeTimer activity("send_activity");
    session.progress().phase = Phase::activity;
    ActivityRun(session, result.used, options.workers, options.ping_interval_s, options.duration_s, result).run();
  }
  logger().info("Hub ping time: {}", format_distribution(summarize(result.ping_s)));
  logger().info("Time to POST activity update: {}", format_distribution(summarize(result.post_s)));
  if (result.ping_errors + result.post_errors > 0) {
    logger().warn("Errors: {} activity updates and {} pings did not answer 2xx", result.post_errors, result.ping_errors);
  }
  if (result.created.empty()) return;
  session.set_cleaning_up(true);
  if (options.keep) {
    if (options.journal != nullptr) options.journal->mark(result.created, UserMark::kept);
  } else {
    // the users this run created never had a server: deleted directly, no stop request first; one
    // that got a server meanwhile (someone started it) is stopped and deleted the long way
    session.progress().phase = Phase::delete_users;
    session.progress().to_delete += static_cast<int>(result.created.size());
    std::map<std::string, bool> all;
    for (const auto& name : result.created) all[name] = true;
    result.deleted = delete_users_after_stopping_servers(all, session);
    if (!result.deleted) {
      const std::vector<std::string> after = list_stress_test_users(session, options.prefix);
      std::vector<std::string> left;
      for (const auto& name : result.created) {
        if (std::find(after.begin(), after.end(), name) != after.end()) left.push_back(name);
      }
      result.deleted = left.empty() || delete_users(left, session);
    }
    if (result.deleted && options.journal != nullptr) options.journal->mark(result.created, UserMark::deleted);
  }
  if (session.interrupted()) throw Interrupted("interrupted");
}

} // namespace hubstress
