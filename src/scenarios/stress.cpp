#include "hubstress/scenarios/stress.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/journal.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"

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

CreateHooks journal_hooks(Journal* journal, std::vector<std::string>& created) {
  CreateHooks hooks;
  hooks.before_batch = [journal](const std::vector<std::string>& batch) {
    if (journal != nullptr) journal->mark(batch, UserMark::planned);
  };
  hooks.after_batch = [journal, &created](const std::vector<std::string>& batch, const std::vector<std::string>& ours,
                                          const std::vector<std::string>& unsure) {
    created.insert(created.end(), ours.begin(), ours.end());
    if (journal == nullptr) return;
    journal->mark(ours, UserMark::created);
    journal->mark(unsure, UserMark::unsure);  // never this run's to stop or delete: left to a plain purge
    std::vector<std::string> not_ours;  // names the hub already had: never this run's to delete
    for (const auto& name : batch) {
      if (std::find(ours.begin(), ours.end(), name) == ours.end() &&
          std::find(unsure.begin(), unsure.end(), name) == unsure.end()) {
        not_ours.push_back(name);
      }
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
  case Phase::journey: {
    std::string rate;
    if (p.stages.load() > 0) {
      rate = fmt::format(" stage {}/{} at {:g}/min, {} held |", p.stage.load(), p.stages.load(), p.rate_per_min.load(), p.held.load());
    } else if (p.rate_per_min.load() > 0) {
      rate = fmt::format(" {:.1f}/min |", p.rate_per_min.load());
    }
    return fmt::format("{}{} arrived {}/{} | spawned {} | first result {} | done {} | failed {}", head, rate, p.arrived.load(), created,
                       p.requested.load(), p.results.load(), p.done.load(), p.dropped.load());
  }
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
    first_user_ = users.front();
    result_.workers = static_cast<int>(n);
  }

  Task<void> run() {
    start_s_ = session_.elapsed();
    running_ = lists_.size();
    engine::Group flows(*session_.loop());
    for (std::size_t w = 0; w < lists_.size(); ++w) flows.spawn(sender(w));
    flows.spawn(pinger());
    co_await flows.wait();
  }

private:
  static Clock::duration span(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  // One sender: through its users one by one, a random 0-1 s pause between two updates; with a
  // duration, round its users again until the time is up.
  Task<void> sender(std::size_t w) {
    const std::stop_token stop = session_.context().work();
    std::uniform_real_distribution<double> pause(0.0, 1.0);
    for (std::size_t next = 0;; ++next) {
      if (next == lists_[w].size() && duration_s_ > 0 && session_.elapsed() - start_s_ < duration_s_) next = 0;
      if (next == lists_[w].size() || session_.interrupted()) break;
      const std::string& user = lists_[w][next];
      const std::string t = iso8601_utc_now();
      const json body{{"last_activity", t}, {"servers", {{"", {{"last_activity", t}}}}}};
      Request update = session_.request(ApiKind::activity, "/users/" + url_escape(user) + "/activity", body.dump());
      const Response r = co_await session_.admin().call(std::move(update), stop);
      if (r.outcome == Outcome::interrupted) break;
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
      if (!co_await engine::sleep(span(pause(rng_)), stop)) break;
    }
    --running_;
  }

  // Meanwhile, GET /users/{first user} again and again, while any sender goes on.
  Task<void> pinger() {
    const std::stop_token stop = session_.context().work();
    while (running_ > 0 && !session_.interrupted()) {
      Request ping = session_.request(ApiKind::get_user, "/users/" + url_escape(first_user_));
      const Response r = co_await session_.admin().call(std::move(ping), stop);
      if (r.ok()) {
        result_.ping_s.push_back(r.elapsed_s);
      } else if (r.outcome != Outcome::interrupted) {
        ++result_.ping_errors;
      }
      if (!co_await engine::sleep(span(ping_interval_s_), stop)) break;
    }
  }

  Session& session_;
  double ping_interval_s_;
  double duration_s_;
  double start_s_ = 0;
  ActivityResult& result_;
  std::vector<std::vector<std::string>> lists_;
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
    ActivityRun run(session, result.used, options.workers, options.ping_interval_s, options.duration_s, result);
    session.run(run.run());
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
