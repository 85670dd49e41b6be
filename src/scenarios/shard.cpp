#include "hubstress/scenarios/shard.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <stdexcept>

namespace hubstress {

namespace {

int parse_int(std::string_view text, std::string_view what) {
  int value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) throw std::invalid_argument(std::string(what));
  return value;
}

void check_shard(const ShardSpec& s, std::string_view shown) {
  if (s.count < 1 || s.count > kMaxShards) {
    throw std::invalid_argument(fmt::format("{}: the number of shards must be 1 to {}", shown, kMaxShards));
  }
  if (s.index < 0 || s.index >= s.count) {
    throw std::invalid_argument(fmt::format("{}: the shard index counts from 0, as JOB_COMPLETION_INDEX does: 0 to {}",
                                            shown, s.count - 1));
  }
}

} // namespace

ShardSpec parse_shard(std::string_view text) {
  const std::string shown = "--shard " + std::string(text);
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) throw std::invalid_argument(shown + ": expected I/N, e.g. 0/4 for the first of four shards");
  ShardSpec s;
  s.index = parse_int(text.substr(0, slash), shown + ": expected I/N, e.g. 0/4 for the first of four shards");
  s.count = parse_int(text.substr(slash + 1), shown + ": expected I/N, e.g. 0/4 for the first of four shards");
  check_shard(s, shown);
  return s;
}

ShardSpec shard_from_job_index(int shards, const char* job_completion_index) {
  const std::string shown = "--shards " + std::to_string(shards);
  if (job_completion_index == nullptr || *job_completion_index == '\0') {
    throw std::invalid_argument(shown + " takes the shard's index from JOB_COMPLETION_INDEX (a pod of an Indexed Job), "
                                        "which is not set: use --shard I/N elsewhere");
  }
  ShardSpec s;
  s.count = shards;
  s.index = parse_int(job_completion_index, shown + ": JOB_COMPLETION_INDEX is not a number");
  check_shard(s, shown + " with JOB_COMPLETION_INDEX=" + job_completion_index);
  return s;
}

std::string to_string(const ShardSpec& shard) { return std::to_string(shard.index) + "/" + std::to_string(shard.count); }

int share_of(int total, const ShardSpec& shard) {
  return total / shard.count + (shard.index < total % shard.count ? 1 : 0);
}

NameSlot name_slot(const ShardSpec& shard) {
  const auto n = static_cast<std::uint64_t>(shard.count);
  return {(static_cast<std::uint64_t>(shard.index) + 1) % n, n};
}

UtcTime parse_utc_time(std::string_view text) {
  const std::string bad = "--start-at " + std::string(text) + ": expected a UTC time like 2026-11-27T20:30:00Z";
  std::string_view t = text;
  if (t.size() >= 6 && t.substr(t.size() - 6) == "+00:00") t.remove_suffix(6);
  else if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.remove_suffix(1);
  // fixed places: YYYY-MM-DD?HH:MM:SS, then an optional fraction of a second
  auto digits = [&](std::size_t at, std::size_t n) {
    int v = 0;
    if (at + n > t.size()) throw std::invalid_argument(bad);
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') throw std::invalid_argument(bad);
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  auto is = [&](std::size_t at, std::string_view chars) { return at < t.size() && chars.find(t[at]) != std::string_view::npos; };
  if (t.size() < 19 || !is(4, "-") || !is(7, "-") || !is(10, "Tt ") || !is(13, ":") || !is(16, ":")) throw std::invalid_argument(bad);
  const int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2), minute = digits(14, 2),
            second = digits(17, 2);
  double fraction = 0;
  if (t.size() > 19) {
    if (t[19] != '.' || t.size() == 20) throw std::invalid_argument(bad);
    double scale = 0.1;
    for (std::size_t i = 20; i < t.size(); ++i, scale /= 10) fraction += digits(i, 1) * scale;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    throw std::invalid_argument(bad);
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t whole = timegm(&tm);
  if (whole == static_cast<std::time_t>(-1) || tm.tm_mday != day) throw std::invalid_argument(bad);  // 2026-02-30
  return std::chrono::system_clock::from_time_t(whole) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(fraction));
}

std::string format_utc_time(UtcTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(t)), ms);
}

double unix_seconds(UtcTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

double wait_for_start(Session& session, UtcTime start_at) {
  const auto shown = format_utc_time(start_at);
  double left = std::chrono::duration<double>(start_at - std::chrono::system_clock::now()).count();
  if (session.dry_run()) {
    logger().info("[dry-run] would wait {:.1f} s, until --start-at {}", std::max(left, 0.0), shown);
    return 0;
  }
  if (left > 0) {
    logger().info("Waiting {:.1f} s for --start-at {}", left, shown);
    session.progress().phase = Phase::wait;
    while (left > 0) {
      if (session.interrupted()) throw Interrupted("interrupted while waiting for --start-at " + shown);
      session.pause(std::min(left, 0.5));
      left = std::chrono::duration<double>(start_at - std::chrono::system_clock::now()).count();
    }
  }
  const double late = std::max(-left, 0.0);
  if (late > kLateStart) {
    logger().warn("This shard began its load {:.1f} s after --start-at {}: the shards did not start together", late, shown);
  } else {
    logger().info("Load begins at --start-at {}", shown);
  }
  return late > kLateStart ? late : 0.0;
}

SummaryInputs summary_inputs(const RunData& d) {
  SummaryInputs in;
  in.command = d.command;
  in.endpoint = d.endpoint;
  in.hub_version = d.hub_version;
  in.started_at = d.started_at;
  in.duration_s = d.duration_s;
  in.records = &d.records;
  in.requested_users = d.requested_users;
  in.stress = d.stress ? &*d.stress : nullptr;
  in.activity = d.activity ? &*d.activity : nullptr;
  in.journey = d.journey ? &*d.journey : nullptr;
  in.journey_options = d.journey_options ? &*d.journey_options : nullptr;
  in.hub_samples = &d.hub_samples;
  in.run = d.run;
  return in;
}

} // namespace hubstress
