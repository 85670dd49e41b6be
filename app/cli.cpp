#include "cli.hpp"

#include "hubstress/duration.hpp"
#include "hubstress/hub/journal.hpp"
#include "hubstress/report/capacity.hpp"
#include "hubstress/report/compare.hpp"
#include "hubstress/report/thresholds.hpp"
#include "hubstress/scenarios/capacity.hpp"
#include "hubstress/hub/url.hpp"
#include "hubstress/hub/users.hpp"

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <utility>

#include <unistd.h>

namespace hubstress::cli {

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string default_log_path() {
  const auto now = std::chrono::system_clock::now();
  return fmt::format("/tmp/hub-stress-test-{:%Y%m%dT%H%M%S}Z.log", fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
}

// Whether a file could be written at `path` now, without creating or changing anything: an
// existing file must be writable, a new one needs an existing folder that is writable.
std::optional<std::string> unwritable_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) return "is a folder";
  // writing to a FIFO waits for a reader that may never come: the run would end in a hang
  if (fs::exists(p, ec) && !fs::is_regular_file(p, ec)) return "is not a regular file (a FIFO or a device?): give a file's path";
  if (fs::exists(p, ec)) {
    if (::access(path.c_str(), W_OK) != 0) return "the file is not writable";
    return std::nullopt;
  }
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::exists(dir, ec)) return "the folder " + dir.string() + " does not exist";
  if (!fs::is_directory(dir, ec)) return dir.string() + " is not a folder";
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return "the folder " + dir.string() + " is not writable";
  return std::nullopt;
}

// Whether a folder could be written into (it exists) or created (its nearest existing parent is writable).
std::optional<std::string> unwritable_folder(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  if (fs::exists(p, ec)) {
    if (!fs::is_directory(p, ec)) return "is not a folder";
    if (::access(p.c_str(), W_OK | X_OK) != 0) return "the folder is not writable";
    return std::nullopt;
  }
  while (p.has_parent_path() && p != p.parent_path() && !fs::exists(p, ec)) p = p.parent_path();
  if (!fs::is_directory(p, ec)) return p.string() + " is not a folder";
  if (::access(p.c_str(), W_OK | X_OK) != 0) return "cannot be created: " + p.string() + " is not writable";
  return std::nullopt;
}

// The report files asked for: one that cannot be written is said now, not after the whole load has
// run; the checks create nothing, so a refused run leaves nothing on disk.
void validate_outputs(const Config& c) {
  for (const auto& [flag, path] : {std::pair{"--json", c.json_path}, std::pair{"--html", c.html_path}}) {
    if (path.empty()) continue;
    if (auto why = unwritable_file(path)) throw CLI::ValidationError(std::string(flag) + " " + path + ": " + *why);
  }
  if (!c.csv_dir.empty()) {
    if (auto why = unwritable_folder(c.csv_dir)) throw CLI::ValidationError("--csv " + c.csv_dir + ": " + *why);
  }
}

void validate_thresholds(const Config& c) {
  try {
    for (const auto& t : c.thresholds) parse_threshold(t);
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError(e.what());
  }
}

void validate(const Config& c) {
  if (c.command == "compare" || c.command == "merge") {
    for (const auto& f : c.command == "compare" ? c.compare_files : c.merge_files) {
      std::error_code ec;
      const auto st = std::filesystem::status(f, ec);
      if (ec || !std::filesystem::exists(st)) throw CLI::ValidationError(c.command + ": " + f + ": no such file");
      if (std::filesystem::is_directory(st)) throw CLI::ValidationError(c.command + ": " + f + " is a folder, not a report");
      if (!std::filesystem::is_regular_file(st)) {
        throw CLI::ValidationError(c.command + ": " + f + " is not a regular file (a FIFO or a device?): give the report itself");
      }
    }
    if (c.command == "compare" && (!c.json_path.empty() || !c.csv_dir.empty())) {
      throw CLI::ValidationError("compare writes the terminal table and, with --html FILE, a page; not --json or --csv");
    }
    validate_outputs(c);
    validate_thresholds(c);
    return;  // no hub is involved
  }
  if (c.endpoint.empty()) {
    throw CLI::ValidationError("no hub endpoint: pass -e/--endpoint or set JUPYTERHUB_ENDPOINT");
  }
  try {
    normalize_api_url(c.endpoint);
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError(e.what());
  }
  if (c.token.empty() && !c.dry_run) {
    throw CLI::ValidationError("no API token: pass -t/--token or set JUPYTERHUB_API_TOKEN");
  }
  if (c.count < 1) throw CLI::ValidationError("--count must be at least 1, got " + std::to_string(c.count));
  if (c.batch_size < 1) throw CLI::ValidationError("--batch-size must be at least 1, got " + std::to_string(c.batch_size));
  if (c.workers < 1) throw CLI::ValidationError("--workers must be at least 1, got " + std::to_string(c.workers));
  // below a millisecond libcurl would be told 0 ms, which it reads as "no timeout at all"
  if (!(c.timeout_s >= 0.001 && c.timeout_s <= 86400)) {
    throw CLI::ValidationError("--timeout must be at least 1ms and at most 24h");
  }
  if (!(c.server_deadline_s >= 0.001 && c.server_deadline_s <= 86400)) {
    throw CLI::ValidationError("--server-timeout must be at least 1ms and at most 24h");
  }
  validate_outputs(c);
  if (c.log_file) {
    if (auto why = unwritable_file(*c.log_file)) throw CLI::ValidationError("--log-to-file " + *c.log_file + ": " + *why);
  }
  // the run journal is how an interrupted run is cleaned up: no load starts without it
  if (!c.dry_run && c.command != "purge") {
    const std::string runs = (std::filesystem::path(Journal::default_dir()) / "runs").string();
    if (auto why = unwritable_folder(runs)) {
      throw CLI::ValidationError("state folder " + runs + " (HUB_STRESS_TEST_STATE_DIR): " + *why);
    }
  }
  if (c.command == "journey" || c.command == "capacity") {
    if (c.cells < 1) throw CLI::ValidationError("--cells must be at least 1, got " + std::to_string(c.cells));
    if (!(c.step_timeout_s >= 0.001 && c.step_timeout_s <= 86400)) {
      throw CLI::ValidationError("--step-timeout must be at least 1ms and at most 24h");
    }
    if (c.ramp_up_s > 86400 || c.think_s > 86400) throw CLI::ValidationError("--ramp-up and --think are at most 24h");
  }
  if (c.count > 1'000'000) throw CLI::ValidationError("--count above 1000000 is not a stress test of a JupyterHub");
  try {
    validate_prefix(c.prefix);
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError(e.what());
  }
  validate_thresholds(c);
  try {
    for (const auto& t : c.thresholds) check_measured(parse_threshold(t), c.command, c.auth);
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError(e.what());
  }
  if (c.command == "capacity" && c.shard && stage_students(c.rates.front(), c.stage_s) < c.shard->count) {
    throw CLI::ValidationError(fmt::format("the first stage brings {} students ({} for {:g} s) over {} shards: some shards would have none; "
                                           "raise --start or --stage, or use at most {} shards",
                                           stage_students(c.rates.front(), c.stage_s), format_rate(c.rates.front()), c.stage_s,
                                           c.shard->count, stage_students(c.rates.front(), c.stage_s)));
  }
  if (c.command != "capacity" && c.shard && c.total_count < c.shard->count) {
    throw CLI::ValidationError(fmt::format("--count {} over {} shards leaves some shards without users: use at most {} shards",
                                           c.total_count, c.shard->count, c.total_count));
  }
}

// --shard I/N or --shards N (index from JOB_COMPLETION_INDEX): count, batch size and workers
// become this shard's share of the whole test's (each at least 1).
void apply_shard(Config& c, const std::string& shard, int shards) {
  c.total_count = c.count;
  if (shard.empty() && shards < 0) return;
  if (!shard.empty() && shards >= 0) throw std::invalid_argument("--shard and --shards: give one of them");
  c.shard = shard.empty() ? shard_from_job_index(shards, std::getenv("JOB_COMPLETION_INDEX")) : parse_shard(shard);
  c.count = share_of(c.count, *c.shard);
  c.batch_size = std::max(1, share_of(c.batch_size, *c.shard));
  c.workers = std::max(1, share_of(c.workers, *c.shard));
}

// What every subcommand's --help adds: the options given before the command that it takes too
// (CLI11 lists only its own), and the thresholds it can be judged by.
void help_footers(std::initializer_list<CLI::App*> runs, CLI::App* compare, CLI::App* purge) {
  std::string steps;
  for (const auto& m : journey_metrics()) steps += (steps.empty() ? "" : ", ") + std::string(m.name);
  const std::string journey_metrics_text = "STEP_STAT (STEP: " + steps +
                                           "; STAT: min, p50, p90, p95, p99, max, avg), journey_failure_rate, late_starts";
  const std::string run_metrics_text =
      "spawn_STAT (STAT: min, p50, p90, p95, p99, max, avg), api_STAT (p50 to max), failure_rate, ready_rate, errors, throttled; "
      "api_* and errors take {kind:KIND}, e.g. api_p95{kind:stop server}<1s";
  const std::string common =
      "\nAlso, before or after the command: -e/--endpoint URL, -t/--token TOKEN, --json FILE, --csv DIR, --html FILE, "
      "--threshold EXPR (repeatable), --hub-metrics-interval DURATION, --timeout, --prefix, --dry-run, -v, -q, --log-to-file, "
      "--insecure, --ca-bundle (hub-stress-test --help says what each does).";
  for (CLI::App* sub : runs) {
    const bool students = sub->get_name() == "journey" || sub->get_name() == "capacity";
    std::string footer = common + "\nThresholds (EXPR is METRIC<LIMIT, e.g. " +
                         (students ? std::string("time_to_first_result_p95<60s") : std::string("spawn_p95<90s")) + "): " +
                         (sub->get_name() == "merge" ? run_metrics_text + ", " + journey_metrics_text
                          : sub->get_name() == "journey" ? journey_metrics_text + "; the students' requests: api_p95{kind:start server}, errors{kind:...}"
                          : students                     ? journey_metrics_text
                                                         : run_metrics_text) +
                         ". Durations: 500ms, 90s, 5m, 1h.";
    if (sub->get_name() == "capacity") footer += " Each stage is judged by them (default time_to_first_result_p95<60s, journey_failure_rate<1%).";
    sub->footer(footer);
  }
  compare->footer("\nAlso, before or after the command: --html FILE writes the comparison as a self-contained page.");
  purge->footer("\nAlso, before or after the command: -e/--endpoint URL, -t/--token TOKEN, --json FILE, --html FILE, --timeout, "
                "--prefix, --dry-run, -v, -q, --log-to-file, --insecure, --ca-bundle (hub-stress-test --help says what each does).");
}

// The command line as typed, for reports: the token, a password and URL credentials as ***.
std::string shown_command_line(int argc, const char* const* argv, const Config& c) {
  std::string out = "hub-stress-test";
  bool secret_next = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (secret_next) {
      arg = "***";
      secret_next = false;
    } else if (arg == "-t" || arg == "--token" || arg == "--password") {
      secret_next = true;
    } else if (arg.rfind("--token=", 0) == 0 || arg.rfind("--password=", 0) == 0) {
      arg = arg.substr(0, arg.find('=') + 1) + "***";
    } else if (arg.rfind("-t", 0) == 0 && arg.size() > 2 && arg[1] == 't') {
      arg = "-t***";
    } else if (arg.find("://") != std::string::npos) {
      arg = redact_credentials(arg);
    }
    for (const std::string& secret : {c.token, c.password}) {
      if (secret.size() < 4) continue;
      for (auto at = arg.find(secret); at != std::string::npos; at = arg.find(secret, at)) arg.replace(at, secret.size(), "***");
    }
    const bool quote = arg.empty() || (arg.find_first_of(" \t'\"<>|&;$*?{}()") != std::string::npos && arg.find("***") == std::string::npos);
    if (quote) {
      std::string q = "'";
      for (char ch : arg) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      arg = q + "'";
    }
    out += " " + arg;
  }
  return out;
}

// Edits (insert, delete, replace a character) from `a` to `b`.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "--ramp_up", "--RAMP-UP=10s" -> "ramp-up": an option as typed, compared by name alone.
std::string option_name(std::string_view word) {
  std::string name(word.substr(word.find_first_not_of('-')));
  name = name.substr(0, name.find('='));
  for (char& ch : name) ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

// The long option of `app` nearest to `typed` ("--ramp_up" -> "--ramp-up"), when one is near
// enough to be what was meant: the same name but for _ and case, or two edits away at most.
std::optional<std::string> nearest_option(const CLI::App& app, std::string_view typed) {
  const std::string name = option_name(typed);
  std::optional<std::string> best;
  std::size_t best_distance = name.size() < 5 ? 1 : 2;
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& candidate : opt->get_lnames()) {
      const std::size_t d = edit_distance(name, candidate);
      if (d <= best_distance && (!best || d < best_distance)) {
        best = "--" + candidate;
        best_distance = d;
      }
    }
  }
  return best;
}

// One line for words CLI11 could not place: for a mistyped option, the one meant ("unknown option
// '--ramp_up'; did you mean --ramp-up?") or the command that takes it; else the words themselves.
std::string unexpected_arguments(const CLI::App& app, const std::vector<std::string>& extras) {
  const auto subs = app.get_subcommands();
  const CLI::App* command = subs.empty() ? nullptr : subs.front();
  const std::string where = command ? " for " + command->get_name() : std::string();
  for (const std::string& extra : extras) {
    if (extra.size() < 3 || extra.rfind("--", 0) != 0) continue;
    const std::string word = extra.substr(0, extra.find('='));
    for (const CLI::App* scope : {command, &app}) {
      if (scope == nullptr) continue;
      if (auto meant = nearest_option(*scope, word)) return fmt::format("unknown option '{}'; did you mean {}?", word, *meant);
    }
    for (const CLI::App* other : app.get_subcommands({})) {
      if (auto meant = nearest_option(*other, word); meant && command) {
        return fmt::format("{} takes no {} ({} does)", command->get_name(), *meant, other->get_name());
      }
    }
    return fmt::format("unknown option '{}'{} ({}--help lists the options)", word, where, command ? command->get_name() + " " : "");
  }
  std::string words;
  for (const std::string& word : extras) words += (words.empty() ? "" : " ") + word;
  return "unexpected arguments" + where + ": " + words;
}

} // namespace

std::string Config::describe() const {
  if (command == "compare" || command == "merge") {  // no hub: the files are all there is
    std::string files;
    for (const auto& f : command == "compare" ? compare_files : merge_files) files += (files.empty() ? "" : " ") + f;
    return fmt::format("command={} reports={}", command, files);
  }
  std::string journey;
  if (command == "journey") {
    journey = fmt::format(" ramp_up={}s arrival={} auth={} password={} cells={} think={}s step_timeout={}s server_timeout={}s",
                          ramp_up_s, arrival, auth, password.empty() ? "(none)" : "***", cells, think_s, step_timeout_s,
                          server_deadline_s);
  }
  if (command == "capacity") {
    std::string rates_text;
    for (const double r : rates) rates_text += (rates_text.empty() ? "" : ",") + format_rate(r);
    journey = fmt::format(" rates={} stage={}s stay={} arrival={} auth={} password={} think={}s step_timeout={}s server_timeout={}s",
                          rates_text, stage_s, stay_s < 0 ? std::string("(to the end)") : fmt::format("{}s", stay_s), arrival, auth,
                          password.empty() ? "(none)" : "***", think_s, step_timeout_s, server_deadline_s);
  }
  return journey.empty() ? describe_common() : describe_common() + journey;
}

std::string Config::describe_common() const {
  return fmt::format("command={} endpoint={} token={} dry_run={} verbose={} log_to_file={} count={} batch_size={} "
                     "keep={} profile={} workers={} prefix={} timeout={}s insecure={} ca_bundle={}",
                     command, redact_credentials(endpoint), token.empty() ? "(none)" : "***", dry_run, verbose,
                     log_file.value_or("(none)"), count, batch_size, keep, profile.empty() ? "(none)" : profile,
                     workers, prefix, timeout_s, insecure, ca_bundle.empty() ? "(system)" : ca_bundle) +
         (shard ? fmt::format(" shard={} total_count={}", to_string(*shard), total_count) : std::string()) +
         (start_at ? " start_at=" + format_utc_time(*start_at) : std::string());
}

ParseResult parse(int argc, const char* const* argv) {
  Config c;
  c.endpoint = env_or_empty("JUPYTERHUB_ENDPOINT");
  c.token = env_or_empty("JUPYTERHUB_API_TOKEN");

  CLI::App app{"Stress-test a JupyterHub: create fake users in batches, start their servers, measure, clean up.",
               "hub-stress-test"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("hub-stress-test ") + kToolVersion);
  app.add_option("-e,--endpoint", c.endpoint,
                 "hub API URL (https://hub.example.org/hub/api; the hub or root URL works too) "
                 "[env: JUPYTERHUB_ENDPOINT]");
  app.add_option("-t,--token", c.token,
                 "API token; admin:users and admin:servers grant what every command needs (README: Scopes) "
                 "[env: JUPYTERHUB_API_TOKEN]");
  app.add_flag("--dry-run", c.dry_run, "send nothing: log what would be sent, every call succeeds");
  std::string log_file;
  auto* log_opt = app.add_option("--log-to-file", log_file,
                                 "also write the log to FILEPATH, overwritten (default /tmp/hub-stress-test-<UTC timestamp>.log)")
                      ->expected(0, 1)
                      ->type_name("[FILEPATH]");
  app.add_flag("-v,--verbose", c.verbose, "DEBUG log: every response's method, URL, status and time");
  app.add_flag("-q,--quiet", c.quiet, "no live progress (redrawn on a terminal, a line every 5 s otherwise)");
  app.add_flag("--insecure", c.insecure, "do not verify the hub's TLS certificate");
  app.add_option("--ca-bundle", c.ca_bundle, "CA certificates file to verify the hub's TLS certificate")
      ->check(CLI::ExistingFile);
  std::string request_timeout = "30s";
  app.add_option("--timeout", request_timeout, "per-request timeout (the user list gets 120s)")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option("--prefix", c.prefix, "user name prefix: users are <prefix>-<N>")->capture_default_str();

  app.add_option("--json", c.json_path, "write the report as JSON (schema: docs/report-schema.md)")->type_name("FILE");
  app.add_option("--csv", c.csv_dir, "write users.csv (stress-test), journeys.csv (journey), requests.csv and api.csv into DIR")->type_name("DIR");
  app.add_option("--html", c.html_path, "write a self-contained HTML report with charts")->type_name("FILE");
  app.add_option("--threshold", c.thresholds,
                 "pass/fail criterion, repeatable: 'spawn_p95<90s', 'failure_rate<1%', 'api_p95{kind:stop server}<1s', "
                 "'time_to_first_result_p95<2m' (times take DURATION's units; one the command never measures is refused; exit 99 when "
                 "violated; capacity judges each stage by them; README: --threshold)")
      ->type_name("EXPR")
      ->expected(1)
      ->take_all();  // one expression per --threshold, as often as wanted
  std::string hub_metrics_interval = "2s";
  app.add_option("--hub-metrics-interval", hub_metrics_interval,
                 "how often to read the hub's own metrics (GET /hub/metrics: CPU, memory, servers)")
      ->type_name("DURATION")
      ->capture_default_str();
  app.fallthrough();  // global options may also stand after the command name

  auto* stress = app.add_subcommand("stress-test", "create users, start their servers, wait until ready, delete them");
  auto* activity = app.add_subcommand("activity-stress-test", "create users and flood the hub with activity updates");
  auto* journey = app.add_subcommand(
      "journey", "students arrive, log in, start a server, open it through the proxy, run cells in a kernel; then clean up");
  auto* compare = app.add_subcommand("compare", "two runs side by side from their --json reports: the command lines and the settings "
                                                 "that differ first, then every figure's change judged worse, better, following the "
                                                 "settings or within noise (with --html FILE, as a page too)");
  compare->add_option("reports", c.compare_files, "A.json B.json: the run before, the run after")->expected(2)->required();
  compare->footer(std::string("How noise is decided: ") + kCompareNoiseRule);
  auto* merge = app.add_subcommand("merge", "the reports of a test's shards as one report, thresholds judged on the whole");
  merge->add_option("reports", c.merge_files, "every shard's --json report (with --json, --csv, --html and --threshold, as for a run)")->expected(1, -1)->required()->type_name("A.json");
  auto* purge = app.add_subcommand("purge", "delete every stress-test user (<prefix>-<N>) and nothing else");
  purge->add_option("--run", c.run_id, "only the users this run is known to have created, and the tokens it minted (its id is logged at the start of every run); names whose creation it never confirmed are left, and named")
      ->type_name("ID");
  purge->add_flag("--force", c.force, "purge even while a run against this hub is still going on this machine");
  for (auto* sub : {stress, activity}) {
    sub->add_option("-c,--count", c.count, "number of users")->capture_default_str();
  }
  c.count = 10;  // journey's default; stress-test's and activity-stress-test's is set back below when they run
  journey->add_option("-c,--count", c.count, "number of students")->default_str("10");
  std::string ramp_up = "0", think = "5s", step_timeout = "60s", server_timeout;
  journey->add_option("--ramp-up", ramp_up, "students arrive over this long (0: all at once), e.g. 5m")
      ->type_name("DURATION")
      ->capture_default_str();
  journey->add_option("--cells", c.cells, "cells each student runs (the first, then --think apart)")->capture_default_str();
  auto* capacity = app.add_subcommand(
      "capacity", "how many students a minute the hub holds: stages of rising arrival rate, each judged on its students, "
                  "until one does not hold; then clean up");
  std::string start_rate = "10/min", max_rate, rates_list, stage = "2m", stay;
  double factor = 1.5;
  capacity->add_option("--start", start_rate, "the first stage's arrival rate: students per minute (40/min) or per second (2/s)")
      ->type_name("RATE")
      ->capture_default_str();
  capacity->add_option("--factor", factor, "each stage's rate is the one before times this")->capture_default_str();
  capacity->add_option("--max", max_rate, "the highest rate to try (default: the 8th stage's, --start times --factor^7)")
      ->type_name("RATE");
  capacity->add_option("--rates", rates_list, "the stages' rates instead, rising: 10,20,40,80 (per minute; 2/s also)")
      ->type_name("LIST");
  capacity->add_option("--stage", stage, "how long each stage's students keep arriving")->type_name("DURATION")->capture_default_str();
  capacity->add_option("--stay", stay,
                       "each student leaves (kernel deleted, server stopped) this long after its first result (default: stays, a "
                       "cell every --think, until the run ends)")
      ->type_name("DURATION");
  for (auto* sub : {journey, capacity}) {
    sub->add_option("--arrival", c.arrival, "poisson: arrivals bunch up as real ones do; uniform: evenly spaced")
        ->check(CLI::IsMember({"poisson", "uniform"}))
        ->capture_default_str();
    sub->add_option("--auth", c.auth,
                    "token: each student gets its own API token (any authenticator); form: the hub's login form "
                    "(dummy, PAM, native) with --password")
        ->check(CLI::IsMember({"token", "form"}))
        ->capture_default_str();
    sub->add_option("--password", c.password, "every student's password for --auth form, which needs one ('' for an empty one) [env: HUB_STRESS_TEST_PASSWORD]");
    sub->add_option("--think", think, "pause between two cells")->type_name("DURATION")->capture_default_str();
    sub->add_option("--code", c.code, "the code of each cell")->capture_default_str();
    sub->add_option("--expect", c.expect, "text each cell's output must contain (empty: any output)")->capture_default_str();
    sub->add_option("--step-timeout", step_timeout, "time allowed for each step but ready")
        ->type_name("DURATION")
        ->capture_default_str();
    sub->add_option("--server-timeout", server_timeout, "time allowed from the start request to ready")
        ->type_name("DURATION")
        ->default_str("300s");
    sub->add_option("-p,--profile", c.profile, "profile to pass when starting servers");
    sub->add_flag("-k,--keep", c.keep, "keep the users this run created, and their servers running");
    sub->add_option("-b,--batch-size", c.batch_size, "users per create request while setting up")->capture_default_str();
  }
  stress->add_flag("-k,--keep", c.keep, "keep the users this run created, and their servers running");
  activity->add_flag("-k,--keep", c.keep, "keep the users this run created");
  stress->add_option("-b,--batch-size", c.batch_size, "users per create request; spawns in flight at once")
      ->capture_default_str();
  stress->add_option("-p,--profile", c.profile, "profile to pass when starting servers ({\"profile\": PROFILE})");
  std::string stress_server_timeout;
  stress->add_option("--server-timeout", stress_server_timeout, "time to wait for one server to be ready (300, 300s or 5m)")
      ->type_name("DURATION")
      ->default_str("300s");
  activity->add_option("--workers", c.workers, "concurrent activity senders (capped at --count)")
      ->capture_default_str();
  std::string activity_duration;
  activity->add_option("--duration", activity_duration,
                       "keep sending for this long, each sender round its users again at the same pace (default: one update per user)")
      ->type_name("DURATION");

  std::string shard, start_at;
  int shards = -1;  // not given
  const std::pair<CLI::App*, const char*> shares[] = {{stress, "--count and -b"},
                                                       {activity, "--count and --workers"},
                                                       {journey, "--count and -b"},
                                                       {capacity, "every stage's students and -b"}};
  for (const auto& [sub, share] : shares) {
    sub->add_option("--shard", shard,
                    fmt::format("run shard I of N (I from 0) of one test spread over N processes: this one's share of {}, "
                                "with names no other shard takes",
                                share))
        ->type_name("I/N");
    sub->add_option("--shards", shards, "as --shard, the index I taken from JOB_COMPLETION_INDEX (a pod of a Kubernetes Indexed Job)")
        ->type_name("N");
    sub->add_option("--start-at", start_at, "begin the load at this UTC time, so that every shard begins together")
        ->type_name("TIME");
  }

  help_footers({stress, activity, journey, capacity, merge}, compare, purge);

  try {
    app.parse(argc, argv);
    c.command = app.get_subcommands().front()->get_name();
    if (c.command != "journey" && c.command != "capacity" && stress->count("--count") + activity->count("--count") == 0) {
      c.count = 100;  // the Python script's default for its two commands
    }
    try {
      c.timeout_s = parse_duration(request_timeout, "--timeout");
      c.hub_metrics_interval_s = parse_duration(hub_metrics_interval, "--hub-metrics-interval");
      if (c.hub_metrics_interval_s < 0.1) throw std::invalid_argument("--hub-metrics-interval must be at least 100ms");
      if (c.command == "capacity") {
        std::vector<double> explicit_rates;
        for (std::size_t from = 0; !rates_list.empty() && from <= rates_list.size();) {
          const auto comma = rates_list.find(',', from);
          const auto item = rates_list.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
          explicit_rates.push_back(parse_rate(item, "--rates"));
          if (comma == std::string::npos) break;
          from = comma + 1;
        }
        const double start = parse_rate(start_rate, "--start");
        const double max = max_rate.empty() ? start * std::pow(factor, 7) * (1 + 1e-9) : parse_rate(max_rate, "--max");
        c.rates = capacity_rates(start, factor, max, explicit_rates);
        c.stage_s = parse_duration(stage, "--stage");
        if (c.stage_s < 1 || c.stage_s > 86400) throw std::invalid_argument("--stage must be at least 1s and at most 24h");
        if (!stay.empty()) c.stay_s = parse_duration(stay, "--stay");
      }
      if (c.command == "journey" || c.command == "capacity") {
        if (c.command == "journey") c.ramp_up_s = parse_duration(ramp_up, "--ramp-up");
        c.think_s = parse_duration(think, "--think");
        c.step_timeout_s = parse_duration(step_timeout, "--step-timeout");
        if (!server_timeout.empty()) c.server_deadline_s = parse_duration(server_timeout, "--server-timeout");
        // a form login with a password nobody gave is a mistake; an empty one given on purpose is not
        const bool password_given = journey->count("--password") + capacity->count("--password") > 0 ||
                                    std::getenv("HUB_STRESS_TEST_PASSWORD") != nullptr;
        if (c.auth == "form" && !password_given) {
          throw std::invalid_argument("--auth form logs every student in with a password: pass --password PASSWORD "
                                      "(--password '' for an empty one) or set HUB_STRESS_TEST_PASSWORD");
        }
        if (c.password.empty()) c.password = env_or_empty("HUB_STRESS_TEST_PASSWORD");
      } else if (c.command == "activity-stress-test" && !activity_duration.empty()) {
        c.duration_s = parse_duration(activity_duration, "--duration");
        if (c.duration_s > 86400) throw std::invalid_argument("--duration is at most 24h");
      } else if (!stress_server_timeout.empty()) {
        c.server_deadline_s = parse_duration(stress_server_timeout, "--server-timeout");
      }
      apply_shard(c, shard, shards);
      if (!start_at.empty()) c.start_at = parse_utc_time(start_at);
    } catch (const std::invalid_argument& e) {
      throw CLI::ValidationError(e.what());
    }
    if (log_opt->count() > 0) c.log_file = log_file.empty() ? default_log_path() : log_file;
    validate(c);
    c.command_line = shown_command_line(argc, argv, c);
  } catch (const CLI::CallForHelp& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::CallForAllHelp& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::CallForVersion& e) {
    return {std::nullopt, app.exit(e)};
  } catch (const CLI::ExtrasError& e) {
    // CLI11 lists the extra words last-first ("3 -c" for "-c 3"): name them as they were typed
    std::string message = e.what();
    const auto colon = message.find(": ");
    if (colon != std::string::npos) {
      std::istringstream words(message.substr(colon + 2));
      std::vector<std::string> extras{std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
      message = unexpected_arguments(app, std::vector<std::string>(extras.rbegin(), extras.rend()));
    }
    std::cerr << "hub-stress-test: error: " << message << "\n";
    return {std::nullopt, 1};
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    // "A subcommand is required" when the command was mistyped: name the word that was not understood
    for (const auto& extra : app.remaining()) {
      if (message.find("subcommand") != std::string::npos && !extra.empty() && extra.front() != '-') {
        message = "unknown command '" + extra + "' (stress-test, activity-stress-test, journey, capacity, purge, compare or merge)";
        break;
      }
    }
    std::cerr << "hub-stress-test: error: " << message << "\n";
    return {std::nullopt, 1};
  }
  return {c, 0};
}

} // namespace hubstress::cli
