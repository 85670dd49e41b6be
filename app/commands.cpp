#include "commands.hpp"

#include "progress_display.hpp"
#include "signals.hpp"

#include "hubstress/report/compare.hpp"
#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/watch.hpp"
#include "hubstress/hub/journal.hpp"
#include "hubstress/report/capacity.hpp"
#include "hubstress/scenarios/capacity.hpp"
#include "hubstress/scenarios/journey.hpp"
#include "hubstress/log.hpp"
#include "hubstress/report/report.hpp"
#include "hubstress/scenarios/stress.hpp"
#include "hubstress/report/thresholds.hpp"
#include "hubstress/hub/url.hpp"
#include "hubstress/hub/users.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>

namespace hubstress::cli {

namespace {

constexpr int kFailed = 128;
constexpr int kInterrupted = 130;
// Not an exit code: servers or students failed, and finish() turns it into one: 128, unless a
// threshold on failures was given (failure_rate, ready_rate, journey_failure_rate): then the
// thresholds judge them (0, or 99 when one does not hold).
constexpr int kLoadFailures = -1;

SessionOptions session_options(const Config& c) {
  SessionOptions o;
  o.endpoint = c.endpoint;
  o.token = c.token;
  o.dry_run = c.dry_run;
  o.insecure = c.insecure;
  o.ca_bundle = c.ca_bundle;
  o.timeout_s = c.timeout_s;
  return o;
}

// The command that removes what a run left behind (the token comes from -t or the environment).
std::string cleanup_command(const Config& c, const Journal* journal) {
  std::string cmd = "hub-stress-test -e " + redact_credentials(normalize_api_url(c.endpoint));
  if (c.prefix != kDefaultPrefix) cmd += " --prefix " + c.prefix;
  cmd += " purge";
  if (journal != nullptr) cmd += " --run " + journal->id();
  return cmd;
}

void log_requests(const std::vector<RequestRecord>& records, std::size_t users) {
  long retries = 0;
  for (const auto& r : records) retries += r.retries;
  logger().info("HTTP requests: {} answered ({:.1f} per user), {} retries", records.size(),
                users ? static_cast<double>(records.size()) / static_cast<double>(users) : 0.0, retries);
}

// The exit code of a load command before thresholds, each error logged and kept for the verdict:
// kFailed when it could not do what was asked (users of the run left behind, fewer created than
// requested), kLoadFailures when servers or students failed (`failures` says how many of what,
// empty when none did), 0 otherwise.
int judge_load(const std::string& command, bool deleted, std::size_t created, int requested, const std::string& failures,
               std::vector<std::string>& why) {
  auto error = [&](std::string line) {
    logger().error("{}", line);
    why.push_back(std::move(line));
  };
  if (!deleted) {
    error(command + " failed: the clean-up did not delete every user of this run" + (failures.empty() ? "" : "; " + failures));
    return kFailed;
  }
  if (static_cast<int>(created) < requested) {
    error(fmt::format("{} failed: {} users requested, {} created", command, requested, created));
    return kFailed;
  }
  if (!failures.empty()) {
    error(command + ": " + failures);
    return kLoadFailures;
  }
  return 0;
}

int report_stress(const StressResult& r, const std::vector<RequestRecord>& records, int requested, std::vector<std::string>& why) {
  for (const auto& phase : r.phases) logger().info("Phase {}: {:.3f} s", phase.name, phase.seconds);
  logger().info("Servers ready: {} of {}; spawn to ready: {}", r.ready(), r.spawns.size(),
                format_distribution(r.ready_times()));
  if (r.spawn_stats.throttled > 0) {
    logger().info("Throttled: {} answers 429, {:.1f} s spent waiting, narrowest window {}", r.spawn_stats.throttled,
                  r.spawn_stats.throttled_s, r.spawn_stats.smallest_window);
  }
  std::map<std::string, int> reasons;
  for (const auto& s : r.spawns) {
    if (s.state != SpawnState::ready) ++reasons[s.reason];
  }
  for (const auto& [reason, n] : reasons) logger().warn("{} servers failed: {}", n, reason);
  log_requests(records, r.created.size());
  const std::string failures =
      r.failed() > 0 ? fmt::format("{} of {} servers did not become ready", r.failed(), r.spawns.size()) : "";
  return judge_load("stress-test", r.deleted, r.created.size(), requested, failures, why);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Builds the one Summary and writes every report asked for; returns the exit code, turned into
// kThresholdExitCode when the run succeeded but a threshold did not hold.
// The hub watcher's requests run on the run's own event loop.
SessionOptions on_loop_of(Session& session, SessionOptions options) {
  options.loop = session.loop();
  options.health = session.context().shared_health();  // the watcher's health checks tell the run's spawns
  return options;
}

struct Results {
  const StressResult* stress = nullptr;
  const ActivityResult* activity = nullptr;
  const JourneyResult* journey = nullptr;
  const JourneyOptions* journey_options = nullptr;
  const CapacityResult* capacity = nullptr;
};

// What each stage of a capacity search is judged by: --threshold; else, for a merge, what the
// shards judged their stages by; else the defaults.
std::vector<Threshold> stage_thresholds(const Config& config, const CapacityResult* shards = nullptr) {
  const std::vector<std::string>& given = !config.thresholds.empty()                   ? config.thresholds
                                          : shards != nullptr && !shards->thresholds.empty() ? shards->thresholds
                                                                                             : capacity_default_thresholds();
  std::vector<Threshold> out;
  for (const auto& t : given) out.push_back(parse_threshold(t));
  return out;
}

// The exit code once the thresholds are known: kThresholdExitCode when the run did what was asked
// but a threshold did not hold; failed servers or students (kLoadFailures) are judged by a
// threshold on how many may fail when there is one (a threshold on times alone says nothing about
// failures, and would hide them), else they fail the run.
int final_code(int code, const Summary& summary) {
  if (code == 0 && !all_passed(summary.thresholds)) return kThresholdExitCode;
  if (code == kLoadFailures) {
    const bool judged = std::any_of(summary.thresholds.begin(), summary.thresholds.end(), [](const ThresholdResult& t) {
      return t.metric == "failure_rate" || t.metric == "ready_rate" || t.metric == "journey_failure_rate";
    });
    if (!judged) return kFailed;
    return all_passed(summary.thresholds) ? 0 : kThresholdExitCode;
  }
  return code;
}

// The verdict, once the exit code is known: the answer first, then why.
Verdict verdict_of(int code, const Summary& s, const std::vector<std::string>& why) {
  Verdict v;
  v.result = code == 0 ? "PASS" : code == kInterrupted ? "INTERRUPTED" : "FAIL";
  if (code == kInterrupted) {
    v.why.push_back(s.run.error.empty() ? "interrupted" : s.run.error);
    v.why.push_back("the reports hold what was measured until then");
  } else if (code != 0 && code != kThresholdExitCode) {
    if (!s.run.error.empty()) v.why.push_back(s.run.error);
    v.why.insert(v.why.end(), why.begin(), why.end());
  }
  for (const auto& t : s.thresholds) {
    if (!t.passed) v.why.push_back("threshold " + format_threshold_result(t));
  }
  if (s.spawn && s.spawn->servers > 0) v.why.push_back(fmt::format("{} of {} servers ready", s.spawn->ready, s.spawn->servers));
  if (s.journey && s.journey->students > 0) {
    const StepStats* ttfr = find_step(*s.journey, kTimeToFirstResult);
    v.why.push_back(fmt::format("{} of {} students completed their journey{}", s.journey->completed, s.journey->students,
                                ttfr && ttfr->seconds.count ? fmt::format("; time to first result p95 {:.1f} s", ttfr->seconds.p95) : ""));
  }
  if (s.activity) {
    v.why.push_back(fmt::format("{} activity updates and {} pings answered 2xx, {} did not", s.activity->post_s.count,
                                s.activity->ping_s.count, s.activity->post_errors + s.activity->ping_errors));
  }
  const auto held = std::count_if(s.thresholds.begin(), s.thresholds.end(), [](const ThresholdResult& t) { return t.passed; });
  if (held > 0) v.why.push_back(fmt::format("{} of {} thresholds held", held, s.thresholds.size()));
  if (v.why.empty()) v.why.push_back(code == 0 ? "the run did what was asked" : "the run failed");
  return v;
}

// A capacity search's verdict: its answer, the capacity line, first; then why it ended as it did.
Verdict capacity_verdict(int code, const CapacitySummary& c, const std::vector<std::string>& why) {
  Verdict v;
  v.result = code == 0 ? "PASS" : code == kInterrupted ? "INTERRUPTED" : "FAIL";
  v.why.push_back("capacity: " + c.line);
  if (code != 0 && code != kThresholdExitCode) v.why.insert(v.why.end(), why.begin(), why.end());
  if (code == kThresholdExitCode) v.why.push_back("the first stage did not hold: start lower (--start)");
  if (code == kInterrupted) v.why.push_back("the reports hold the stages until then");
  return v;
}

// Thresholds, exit code, verdict and every report asked for, from what a run recorded (or what a
// merge put together from its shards); returns the exit code.
int report_run(const Config& config, const RunData& data, int code, const std::vector<std::string>& why,
               const MergedRun* merged = nullptr) {
  Summary summary = build_summary(summary_inputs(data));
  if (merged != nullptr) {
    summary.shards = merged->shards;
    summary.missing_shards = merged->missing;
  }
  std::vector<Threshold> thresholds;
  if (data.capacity && data.journey_options) {
    // the thresholds judge each stage, not the whole run: the search's answer is the exit code
    summary.capacity = summarize_capacity(*data.capacity, *data.journey_options, stage_thresholds(config, &*data.capacity), summary, data.records);
    summary.verdict = capacity_verdict(code, *summary.capacity, why);
  } else {
    for (const auto& t : config.thresholds) thresholds.push_back(parse_threshold(t));
    summary.thresholds = evaluate_all(thresholds, summary);
    code = final_code(code, summary);
    summary.verdict = verdict_of(code, summary, why);
  }
  // a run that failed before its first phase (unreachable hub, refused token) has measured nothing:
  // its one ERROR line says it all on the terminal (files asked for are still written)
  const bool failed_before_starting = data.run.status == "failed" && summary.phases.empty() && merged == nullptr;
  if (!failed_before_starting) std::cout << render_terminal(summary) << std::flush;
  if (!config.json_path.empty()) {
    nlohmann::json doc = to_json(summary);
    if (data.run.shard) doc["samples"] = run_data_json(data);  // what merge needs to rebuild the whole test
    // text from the hub may be cut inside a UTF-8 character: replaced, never a lost report
    write_text(config.json_path, doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    logger().info("JSON report: {}", config.json_path);
  }
  if (!config.csv_dir.empty()) {
    write_csv(summary, data.stress ? &*data.stress : nullptr, data.records, config.csv_dir, data.journey ? &*data.journey : nullptr,
              data.activity ? &*data.activity : nullptr);
    logger().info("CSV files in {}", config.csv_dir);
  }
  if (!config.html_path.empty()) {
    write_text(config.html_path, render_html(summary));
    logger().info("HTML report: {}", config.html_path);
  }
  for (const auto& r : summary.thresholds) {
    if (r.passed) logger().info("Threshold {}", format_threshold_result(r));
    else logger().error("Threshold {}", format_threshold_result(r));
  }
  return code;
}

// `watch`: none when the run ended before it began watching the hub (a refused token).
int finish(const Config& config, Session& session, HubWatch* watch, const std::string& started_at,
           std::chrono::steady_clock::time_point t0, const Results& results, int code, const RunInfo& run,
           const std::vector<std::string>& why = {}) {
  RunData d;
  d.records = session.records();
  if (watch != nullptr) {
    d.hub_samples = watch->stop();
    const auto watch_records = watch->records();
    d.records.insert(d.records.end(), watch_records.begin(), watch_records.end());
  }
  d.command = config.command;
  d.endpoint = session.endpoint();
  d.hub_version = session.known_hub_version().empty() ? "unknown" : session.known_hub_version();
  d.started_at = started_at;
  d.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  d.session_start_unix_s = session.started_unix_s();
  if (results.stress != nullptr || results.activity != nullptr || results.journey != nullptr) d.requested_users = config.count;
  if (results.capacity != nullptr) d.requested_users = static_cast<int>(results.capacity->journey.created.size());
  if (results.stress != nullptr) d.stress = *results.stress;
  if (results.activity != nullptr) d.activity = *results.activity;
  if (results.journey != nullptr && results.journey_options != nullptr) {
    d.journey = *results.journey;
    d.journey_options = *results.journey_options;
  }
  if (results.capacity != nullptr) d.capacity = *results.capacity;
  d.run = run;
  return report_run(config, d, code, why);
}

RunInfo run_info(const Config& c, const std::string& run_id) {
  RunInfo r;
  r.command_line = c.command_line;
  r.run_id = run_id;
  if (c.command == "stress-test" || c.command == "journey" || c.command == "capacity") r.batch_size = c.batch_size;
  if (c.shard) {
    r.shard = ShardInfo{c.shard->index, c.shard->count, c.total_count, c.start_at ? format_utc_time(*c.start_at) : "", 0, c.prefix};
  }
  return r;
}

// The numbers this run may give its users: a shard's, or every one.
NameSlot names_of(const Config& c) { return c.shard ? name_slot(*c.shard) : NameSlot{}; }

JourneyOptions journey_options(const Config& c, Journal* journal) {
  JourneyOptions o;
  o.count = c.count;
  o.batch_size = c.batch_size;
  o.ramp_up_s = c.ramp_up_s;
  o.arrival = c.arrival == "uniform" ? Arrival::uniform : Arrival::poisson;
  o.seed = std::random_device()();
  o.auth = c.auth == "form" ? JourneyAuth::form : JourneyAuth::token;
  o.password = c.password;
  o.cells = c.cells;
  o.think_s = c.think_s;
  o.code = c.code;
  o.expect = c.expect;
  o.step_timeout_s = c.step_timeout_s;
  o.server_timeout_s = c.server_deadline_s;
  o.profile = c.profile;
  o.keep = c.keep;
  o.prefix = c.prefix;
  o.journal = journal;
  o.names = names_of(c);
  if (c.shard) o.place = ArrivalPlace{c.shard->index, c.shard->count, c.total_count};
  if (c.start_at) o.load_at_unix_s = std::chrono::duration<double>(c.start_at->time_since_epoch()).count();
  return o;
}

// Logs how the journeys went; the exit code before thresholds: kLoadFailures when students
// failed (thresholds, when given, judge those), kFailed when the run could not do what was asked.
int report_journey(const JourneyResult& r, const std::vector<RequestRecord>& records, int requested, std::vector<std::string>& why) {
  for (const auto& phase : r.phases) logger().info("Phase {}: {:.3f} s", phase.name, phase.seconds);
  std::vector<double> ttfr;
  for (const auto& s : r.students) {
    if (s.time_to_first_result_s) ttfr.push_back(*s.time_to_first_result_s);
  }
  logger().info("Students: {} of {} completed; time to first result: {}", r.completed(), r.students.size(),
                format_distribution(summarize(ttfr)));
  if (r.late_starts() > 0) logger().warn("{} students started late (their lateness counts in their times)", r.late_starts());
  log_requests(records, r.created.size());
  if (r.interrupted) return kInterrupted;
  const std::string failures =
      r.failed() > 0 ? fmt::format("{} of {} students did not complete their journey", r.failed(), r.students.size()) : "";
  return judge_load("journey", r.deleted, r.created.size(), requested, failures, why);
}

// The exit code of a capacity search before its report: 0 when a stage held and the search ended
// (a stage failed, or the last one held), kThresholdExitCode when the first stage already failed,
// kInterrupted, kFailed when users of the run were left behind.
int report_capacity(const CapacityResult& c, std::vector<std::string>& why) {
  for (const auto& phase : c.journey.phases) logger().info("Phase {}: {:.3f} s", phase.name, phase.seconds);
  const int held = c.held();
  const int failed = c.failed();
  logger().info("Stages: {} held{}", held + 1, failed >= 0 ? fmt::format("; stage {} at {} did not hold", failed + 1, format_rate(c.stages[static_cast<std::size_t>(failed)].rate_per_min)) : "");
  if (!c.journey.deleted) {
    const std::string line = "capacity failed: the clean-up did not delete every user of this run";
    logger().error("{}", line);
    why.push_back(line);
    return kFailed;
  }
  if (c.journey.interrupted) return kInterrupted;
  if (held < 0 && failed >= 0) return kThresholdExitCode;
  if (failed < 0 && !c.reached_max) {
    why.push_back(c.ended_by.empty() ? std::string("the search ended before a stage failed or the last held")
                                     : "the search ended before a stage failed or the last held: " + c.ended_by);
    return kFailed;
  }
  return 0;
}

// A purge while a run against the same hub is still going on this machine would pull its users out
// from under it: refused (exit 1, before anything is sent) unless --force.
void refuse_purge_during_a_run(const Config& config, const Session& session, const std::optional<Journal>& only) {
  if (config.force || config.dry_run) return;
  std::vector<Journal> running;
  if (only) {
    if (only->still_running()) running.push_back(*only);
  } else {
    running = Journal::running(Journal::default_dir(), session.endpoint(), config.prefix);
  }
  if (running.empty()) return;
  const Journal& r = running.front();
  throw std::invalid_argument("run " + r.id() + " (pid " + std::to_string(r.pid()) + ") against this hub (as " + r.endpoint() +
                              ") is still going: let it finish or stop it, or pass --force to purge anyway");
}

// Names a run's journal holds but never confirmed as its own (planned when a hard stop came, or
// unsure): they may be another run's, so they are left; says which are still on the hub and how to
// remove them. `who`: "Run ID" or "This run".
void advise_unconfirmed(const Config& config, Session& session, const std::vector<std::string>& unconfirmed,
                        const std::string& who, const std::string& prefix) {
  if (unconfirmed.empty()) return;
  std::vector<std::string> left;
  try {
    const auto now = list_stress_test_users(session, prefix);
    const std::set<std::string> on_hub(now.begin(), now.end());
    for (const auto& name : unconfirmed) {
      if (on_hub.count(name)) left.push_back(name);
    }
  } catch (const std::exception& e) {
    logger().warn("Could not list the hub's users: {}", e.what());
    left = unconfirmed;
  }
  if (left.empty()) return;
  std::string names;
  for (std::size_t i = 0; i < left.size() && i < 10; ++i) names += (i ? ", " : "") + left[i];
  if (left.size() > 10) names += fmt::format(", ... ({} in all)", left.size());
  Config plain = config;
  plain.prefix = prefix;
  logger().warn("{} left {} users whose creation it never confirmed ({}): the answer to their create request was lost or never came, "
                "so they may be another run's. Once no run with prefix {} is going on against this hub, remove them "
                "with: {}",
                who, left.size(), names, prefix, cleanup_command(plain, nullptr));
}

int purge_run(const Config& config, Session& session, Journal& journal) {
  // only names the hub's answer proved this run's are deleted (never anything but stress-test users)
  std::vector<std::string> names, unconfirmed;
  for (const auto& name : journal.owned()) {
    if (is_stress_test_user(name, journal.prefix())) names.push_back(name);
  }
  for (const auto& name : journal.unconfirmed()) {
    if (is_stress_test_user(name, journal.prefix())) unconfirmed.push_back(name);
  }
  const std::vector<TokenRef> tokens = journal.live_tokens();
  ScopeTimer timer("purge_users");
  if (names.empty() && unconfirmed.empty() && tokens.empty()) {
    logger().info("Run {}: nothing left to delete", journal.id());
    return 0;
  }
  logger().info("JupyterHub {} at {}", session.hub_version(), session.endpoint());
  check_token(session, "purge");
  int code = 0;
  if (!tokens.empty()) {
    // before the users: a token outlives a user that cannot be deleted
    logger().info("Run {}: revoking {} tokens it minted", journal.id(), tokens.size());
    const auto revoked = revoke_tokens(tokens, session, config.batch_size);
    if (!session.dry_run()) journal.tokens_revoked(revoked);
    if (revoked.size() < tokens.size()) {
      logger().error("{} tokens of run {} could not be revoked; run the same command again", tokens.size() - revoked.size(),
                     journal.id());
      code = kFailed;
    }
  }
  if (!names.empty()) {
    logger().info("Run {}: deleting {} users", journal.id(), names.size());
    if (delete_users(names, session, config.batch_size)) {
      if (!session.dry_run()) journal.mark(names, UserMark::deleted);
    } else {
      logger().error("some users of run {} could not be deleted; run the same command again", journal.id());
      code = kFailed;
    }
  }
  advise_unconfirmed(config, session, unconfirmed, "Run " + journal.id(), journal.prefix());
  return code;
}

} // namespace

// compare A.json B.json: no hub involved. A file that is not a report is bad input (exit 1).
// A --json report to read (compare, merge): a regular file, of a sane size and depth, that is JSON.
// Anything else is one line naming the file; nothing of its content is echoed.
nlohmann::json read_report(const std::string& path, const std::string& command) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  const std::string head = command + ": " + path;
  if (ec || !fs::exists(st)) throw std::invalid_argument(head + ": no such file");
  if (fs::is_directory(st)) throw std::invalid_argument(head + " is a folder, not a report");
  if (!fs::is_regular_file(st)) throw std::invalid_argument(head + " is not a regular file (a FIFO or a device?): give the report itself");
  constexpr std::uintmax_t kMaxReport = std::uintmax_t{1} << 30;
  if (fs::file_size(path, ec) > kMaxReport) throw std::invalid_argument(head + " is larger than 1 GiB: not a report of this tool");
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // nlohmann's parser recurses once per level: a hostile file of 100,000 '[' would overflow the stack
  int depth = 0;
  bool quoted = false, escaped = false;
  for (const char ch : text) {
    if (quoted) {
      escaped = !escaped && ch == '\\';
      if (!escaped && ch == '"') quoted = false;
      continue;
    }
    if (ch == '"') quoted = true;
    if (ch == '[' || ch == '{') ++depth;
    if (ch == ']' || ch == '}') --depth;
    if (depth > 64) throw std::invalid_argument(head + " is nested deeper than any report of this tool");
  }
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw std::invalid_argument(head + " is not JSON (a --json report is)");
  return doc;
}

int run_compare(const Config& config) {
  std::vector<nlohmann::json> reports;
  for (const auto& path : config.compare_files) reports.push_back(read_report(path, "compare"));
  Comparison c;
  const std::string both = "compare " + config.compare_files[0] + " " + config.compare_files[1] + ": ";
  try {
    c = compare_reports(reports[0], reports[1]);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(both + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(both + "a damaged report (" + json_error_text(e) + ")");
  }
  std::cout << render_compare_terminal(c) << std::flush;
  if (!config.html_path.empty()) {
    write_text(config.html_path, render_compare_html(c));
    logger().info("HTML comparison: {}", config.html_path);
  }
  return 0;
}

// merge A.json B.json ...: the shards' reports as the report of the whole test; no hub involved.
// Thresholds are judged on the merged data; a missing or failed shard fails the test (128).
int run_merge(const Config& config) {
  std::vector<ShardReport> reports;
  for (const auto& path : config.merge_files) {
    const auto doc = read_report(path, "merge");
    try {
      reports.push_back(read_shard_report(doc));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("merge: " + path + ": " + e.what());
    }
  }
  MergedRun merged = merge_shards(reports, config.merge_files);
  RunData& d = merged.data;
  // only the reports say which command ran: a threshold it never measures is refused now, as a run refuses it
  for (const auto& t : config.thresholds) {
    check_measured(parse_threshold(t), d.command, d.journey_options ? to_string(d.journey_options->auth) : "");
  }
  d.run.command_line = config.command_line;
  logger().info("Merging {} of {} shards of {} against {} (JupyterHub {})", merged.shards.size(),
                merged.shards.size() + merged.missing.size(), d.command, d.endpoint, d.hub_version);
  for (const auto& row : merged.shards) {
    if (row.shard.start_late_s > 0) logger().warn("Shard {} began its load {:.1f} s after --start-at", row.shard.index, row.shard.start_late_s);
  }
  std::vector<std::string> why;
  int code = 0;
  if (d.stress) code = report_stress(*d.stress, d.records, d.requested_users, why);
  if (d.capacity && d.journey_options) {
    const auto thresholds = stage_thresholds(config, &*d.capacity);
    for (const auto& t : thresholds) check_stage_threshold(t);
    judge_stages(*d.capacity, thresholds, *d.journey_options);
    d.journey = d.capacity->journey;
    code = report_capacity(*d.capacity, why);
  } else if (d.journey) {
    code = report_journey(*d.journey, d.records, d.requested_users, why);
  }
  if (d.activity) log_requests(d.records, d.activity->used.size());
  const bool left = (d.stress && !d.stress->deleted) || (d.journey && !d.journey->deleted) || (d.activity && !d.activity->deleted);
  const std::string prefix = merged.shards.empty() ? std::string(kDefaultPrefix) : merged.shards.front().shard.prefix;
  // words from the reports, quoted for a shell when they are anything but plain
  const auto quoted = [](const std::string& word) {
    if (word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:/._@*%+=-") == std::string::npos) return word;
    std::string out = "'";
    for (const char ch : word) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
  };
  const std::string purge =
      "hub-stress-test -e " + quoted(d.endpoint) + (prefix != kDefaultPrefix ? " --prefix " + quoted(prefix) : std::string()) + " purge";
  if (left) {
    const std::string line = "some users of this test remain: remove them with " + purge;
    logger().error("{}", line);
    why.push_back(line);
    code = kFailed;
  } else if (d.run.status != "complete") {
    logger().warn("A shard that failed, was interrupted or has no report may have left users behind: {} removes them", purge);
  }
  if (d.run.status == "failed") {
    logger().error("{}", d.run.error);
    code = kFailed;
  } else if (d.run.status == "interrupted" && code != kFailed) {
    code = kInterrupted;
  }
  return report_run(config, d, code, why, &merged);
}

namespace {

// purge [--run ID]: deletes stress-test users (or one run's), and writes the reports of what it did.
int run_purge(const Config& config, Session& session, const std::atomic<int>& interrupted, const std::string& started_at,
              std::chrono::steady_clock::time_point t0) {
  set_last_words("hub-stress-test: stopped at once; finish with: " + cleanup_command(config, nullptr) + "\n");
  std::optional<Journal> journal;
  if (!config.run_id.empty()) {
    // a bad run id is bad input: said before anything is sent
    journal = Journal::load(Journal::default_dir(), config.run_id);
    if (!same_hub(journal->endpoint(), session.endpoint())) {
      throw std::invalid_argument("run " + journal->id() + " was against " + journal->endpoint() + ", not " +
                                  session.endpoint());
    }
    validate_prefix(journal->prefix());
  }
  refuse_purge_during_a_run(config, session, journal);
  HubWatch watch(on_loop_of(session, session_options(config)), config.hub_metrics_interval_s, &interrupted);
  RunInfo run = run_info(config, journal ? journal->id() : "");
  run.run_id.clear();  // purge makes no run of its own
  int code = 0;
  try {
    code = journal ? purge_run(config, session, *journal) : (purge_users(session, config.prefix, config.batch_size), 0);
  } catch (const Interrupted& e) {
    logger().error("Interrupted; finish with: {}", cleanup_command(config, journal ? &*journal : nullptr));
    run.status = "interrupted";
    run.error = e.what();
    code = kInterrupted;
  } catch (const std::invalid_argument&) {
    throw;  // bad input: one line, exit 1
  } catch (const std::exception& e) {
    logger().error("{}", e.what());
    run.status = "failed";
    run.error = e.what();
    code = kFailed;
  }
  return finish(config, session, &watch, started_at, t0, Results{}, code, run);
}

// What a load run (stress-test, activity-stress-test, journey) carries from step to step. What the
// run measures is built here as it goes, so that a failed or interrupted run still writes every
// report with what it measured until then.
struct LoadRun {
  const Config& config;
  Session& session;
  StressResult stress;
  ActivityResult activity;
  JourneyResult journeyed;
  const JourneyOptions journey_opts;
  CapacityResult capacity;
  JourneyOptions capacity_view;  // the capacity's students as the reports read them (arrivals over the stages run)
  RunInfo run;
  std::vector<std::string> why;
  std::optional<Journal> journal;
  std::optional<ProgressDisplay> display;
  std::string leftovers;
  int code = 0;

  LoadRun(const Config& c, Session& s)
      : config(c), session(s), journey_opts(journey_options(c, nullptr)), run(run_info(c, "")),
        leftovers("remove what is left with: " + cleanup_command(c, nullptr)) {}
  // the run is over for `purge`'s sake however it ends (the second signal's _exit leaves "running"
  // with a dead pid, which counts as over too)
  ~LoadRun() {
    try {
      if (journal) journal->finish();
    } catch (const std::exception&) {
    }
  }
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;

  Results results() const {
    Results results;
    if (config.command == "stress-test") results.stress = &stress;
    if (config.command == "activity-stress-test") results.activity = &activity;
    if (config.command == "journey") results.journey = &journeyed, results.journey_options = &journey_opts;
    if (config.command == "capacity") {
      results.journey = &capacity.journey;
      results.journey_options = &capacity_view;
      results.capacity = &capacity;
    }
    return results;
  }

  // A run that ended by a throw: its reports are still written, marked with how it ended.
  void ended(const std::exception& e, const char* status, int exit_code) {
    display.reset();
    logger().error("{}", e.what());
    if (journal && !journal->owned().empty()) logger().error("Some users of this run may remain; {}", leftovers);
    run.status = status;
    run.error = e.what();
    code = exit_code;
  }
};

// Before the load: the hub and the token checked, the journal started, the live display on.
// Returns the journal (none in a dry run).
Journal* open_run(LoadRun& r) {
  const Config& config = r.config;
  Session& session = r.session;
  logger().info("JupyterHub {} at {}", session.hub_version(), session.endpoint());
  const bool students = config.command == "journey" || config.command == "capacity";
  check_token(session, students ? (config.auth == "form" ? "journey --auth form" : "journey") : config.command);
  if (!config.dry_run) {
    r.journal = Journal::start(Journal::default_dir(), config.command, session.endpoint(), config.prefix);
    logger().info("Run {} (journal {})", r.journal->id(), r.journal->path());
    r.run.run_id = r.journal->id();
  }
  Journal* j = r.journal ? &*r.journal : nullptr;
  r.leftovers = "remove what is left with: " + cleanup_command(config, j);
  set_last_words("hub-stress-test: stopped at once; users of this run may remain: " + r.leftovers + "\n");
  if (!config.quiet) r.display.emplace(session.progress(), *session.loop());
  if (config.shard && config.command == "capacity") {
    logger().info("Shard {}: its share of every stage's students", to_string(*config.shard));
  } else if (config.shard) {
    logger().info("Shard {}: {} of the test's {} users", to_string(*config.shard), config.count, config.total_count);
  }
  return j;
}

// Every shard begins its load at --start-at: late is said in the log and in the report.
std::function<void()> start_gate(LoadRun& r) {
  std::function<void()> before_load;
  if (r.config.start_at) {
    before_load = [&r] {
      const double late = wait_for_start(r.session, *r.config.start_at);
      if (r.run.shard) r.run.shard->start_late_s = late;
    };
  }
  return before_load;
}

void load_stress(LoadRun& r, Journal* j, const NameSlot& names, const std::function<void()>& before_load) {
  const Config& config = r.config;
  StressOptions o;
  o.count = config.count;
  o.batch_size = config.batch_size;
  o.keep = config.keep;
  o.profile = config.profile;
  o.prefix = config.prefix;
  o.server_deadline_s = config.server_deadline_s;
  o.journal = j;
  o.names = names;
  o.before_load = before_load;
  stress_test(r.session, o, r.stress);
  r.display.reset();
  r.code = report_stress(r.stress, r.session.records(), config.count, r.why);
  if (!r.stress.deleted) logger().error("Some users of this run remain; {}", r.leftovers);
}

void load_journey(LoadRun& r, Journal* j, const std::function<void()>& before_load) {
  const Config& config = r.config;
  if (config.auth == "token" && !config.password.empty()) logger().warn("--password is used only with --auth form");
  JourneyOptions o = r.journey_opts;
  o.journal = j;
  o.before_load = before_load;
  journey(r.session, o, r.journeyed);
  r.display.reset();
  r.code = report_journey(r.journeyed, r.session.records(), config.count, r.why);
  if (r.journeyed.interrupted) {
    r.run.status = "interrupted";
    r.run.error = "interrupted while the students were on their way";
  }
  if (!r.journeyed.deleted) logger().error("Some users of this run remain; {}", r.leftovers);
}

void load_capacity(LoadRun& r, Journal* j, const std::function<void()>& before_load) {
  const Config& config = r.config;
  if (config.auth == "token" && !config.password.empty()) logger().warn("--password is used only with --auth form");
  CapacityOptions o;
  o.journey = r.journey_opts;
  o.journey.journal = j;
  o.journey.before_load = before_load;
  o.rates = config.rates;
  o.stage_s = config.stage_s;
  o.stay_s = config.stay_s;
  const std::vector<Threshold> thresholds = stage_thresholds(config);
  std::string judged_by;
  std::vector<std::string> given;
  for (const auto& t : thresholds) {
    judged_by += (judged_by.empty() ? "" : ", ") + t.text;
    given.push_back(t.text);
  }
  std::string rates;
  for (const double rate : o.rates) rates += (rates.empty() ? "" : ", ") + format_rate(rate);
  logger().info("Capacity: stages of {:g} s at {}; each stage is judged by {}", o.stage_s, rates, judged_by);
  o.holds = [&](const JourneyResult& students) { return all_passed(judge_stage(thresholds, students, o.journey)); };
  // time to first result, failures and late starts only grow while students are on their way: a
  // stage they already fail at its best is failed (another step's percentile could still fall)
  std::vector<Threshold> growing;
  for (const auto& t : thresholds) {
    if (t.metric.rfind("time_to_first_result_", 0) == 0 || t.metric == "journey_failure_rate" || t.metric == "late_starts") {
      if (t.op == ThresholdOp::less || t.op == ThresholdOp::less_equal) growing.push_back(t);
    }
  }
  o.cannot_hold = [&, growing](const JourneyResult& students) {
    return !growing.empty() && !all_passed(judge_stage(growing, students, o.journey));
  };
  r.capacity_view = o.journey;
  try {
    capacity(r.session, o, r.capacity);
  } catch (...) {
    r.capacity.thresholds = given;
    r.capacity_view.ramp_up_s = o.stage_s * static_cast<double>(r.capacity.stages.size());
    throw;
  }
  r.capacity.thresholds = given;
  std::size_t begun = 0;
  for (std::size_t k = 0; k < r.capacity.stages.size(); ++k) {
    const CapacityStage& st = r.capacity.stages[k];
    if (st.verdict != StageVerdict::pending && (st.verdict != StageVerdict::cut || st.count > 0)) begun = k + 1;  // a stage never begun has no students
  }
  r.capacity_view.ramp_up_s = o.stage_s * static_cast<double>(begun);
  r.display.reset();
  r.code = report_capacity(r.capacity, r.why);
  if (r.capacity.journey.interrupted) {
    r.run.status = "interrupted";
    r.run.error = "interrupted while the students were on their way";
  }
  if (!r.capacity.journey.deleted) logger().error("Some users of this run remain; {}", r.leftovers);
}

void load_activity(LoadRun& r, Journal* j, const NameSlot& names, const std::function<void()>& before_load) {
  const Config& config = r.config;
  ActivityOptions o;
  o.count = config.count;
  o.workers = config.workers;
  o.duration_s = config.duration_s;
  o.keep = config.keep;
  o.prefix = config.prefix;
  o.journal = j;
  o.names = names;
  o.before_load = before_load;
  activity_stress_test(r.session, o, r.activity);
  r.display.reset();
  log_requests(r.session.records(), r.activity.used.size());
  if (!r.activity.deleted) {
    const std::string line = "activity-stress-test: some users could not be deleted; " + r.leftovers;
    logger().error("{}", line);
    r.why.push_back(line);
    r.code = kFailed;
  }
}

// stress-test, activity-stress-test or journey: the load, then the reports of what it measured.
int run_load(const Config& config, Session& session, const std::atomic<int>& interrupted, const std::string& started_at,
             std::chrono::steady_clock::time_point t0) {
  if (config.command == "stress-test" && config.batch_size > 100) {
    logger().warn("-b {}: each name of a create request is a synchronous database write on the hub; 100 or less "
                  "keeps the hub answering", config.batch_size);
  }
  std::optional<HubWatch> watch;  // once the token is known to be good: its refusal comes first and alone
  LoadRun r(config, session);
  const Results results = r.results();
  try {
    Journal* j = open_run(r);
    watch.emplace(on_loop_of(session, session_options(config)), config.hub_metrics_interval_s, &interrupted);
    const NameSlot names = names_of(config);
    const std::function<void()> before_load = start_gate(r);
    if (config.command == "stress-test") {
      load_stress(r, j, names, before_load);
    } else if (config.command == "journey") {
      load_journey(r, j, before_load);
    } else if (config.command == "capacity") {
      load_capacity(r, j, before_load);
    } else {
      load_activity(r, j, names, before_load);
    }
  } catch (const Interrupted& e) {
    r.ended(e, "interrupted", kInterrupted);
  } catch (const std::invalid_argument&) {
    throw;  // bad input: one line, exit 1
  } catch (const std::exception& e) {
    r.ended(e, "failed", kFailed);
  }
  if (r.journal) {
    session.set_cleaning_up(true);  // one look at the hub, after a first signal too
    advise_unconfirmed(config, session, r.journal->unconfirmed(), "This run", config.prefix);
  }
  return finish(config, session, watch ? &*watch : nullptr, started_at, t0, results, r.code, r.run, r.why);
}

} // namespace

int run_command(const Config& config) {
  if (config.command == "compare") return run_compare(config);
  if (config.command == "merge") return run_merge(config);
  const std::atomic<int>& interrupted = install_signal_handlers();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started_at = iso8601_utc_now();
  Session session(session_options(config));
  session.set_interrupt_flag(&interrupted);
  if (config.command == "purge") return run_purge(config, session, interrupted, started_at, t0);
  return run_load(config, session, interrupted, started_at, t0);
}

} // namespace hubstress::cli
