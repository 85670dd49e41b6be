#include "hubstress/report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace hubstress {

namespace {

namespace fs = std::filesystem;

std::string number(double v) { return fmt::format("{:.6f}", v); }
// A time that does not apply (never requested, never ready) is an empty cell, not -1.
std::string time_or_empty(double v) { return v < 0 ? "" : number(v); }

std::string line(const std::vector<std::string>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_field(cells[i]);
  }
  return out + "\n";  // RFC 4180 quoting, Unix line ends (every CSV reader takes them; grep and cut stay clean)
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (f) f.write(content.data(), static_cast<std::streamsize>(content.size()));
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

std::string users_csv(const StressResult& stress) {
  std::string out = line({"user", "state", "requested_at_s", "ready_after_s", "throttled", "reason"});
  for (const auto& s : stress.spawns) {
    const bool ready = s.state == SpawnState::ready;
    out += line({s.user, to_string(s.state), time_or_empty(s.requested_at_s), ready ? time_or_empty(s.ready_after_s) : "",
                 std::to_string(s.throttled), s.reason});
  }
  return out;
}

std::string requests_csv(const std::vector<RequestRecord>& records) {
  std::string out = line({"start_s", "method", "route", "status", "outcome", "latency_s", "total_s", "retries"});
  for (const auto& r : records) {
    out += line({number(r.start_s), r.method, r.route, std::to_string(r.status), to_string(r.outcome), number(r.latency_s),
                 number(r.total_s), std::to_string(r.retries)});
  }
  return out;
}

std::string api_csv(const Summary& summary) {
  std::string out = line({"kind", "count", "errors", "retries", "min_s", "p50_s", "p90_s", "p95_s", "p99_s", "max_s"});
  auto row = [&](const ApiStats& a) {
    const Distribution& d = a.latency_s;
    const bool any = d.count > 0;
    auto cell = [&](double v) { return any ? number(v) : std::string(); };
    out += line({a.kind, std::to_string(a.count), std::to_string(a.errors), std::to_string(a.retries), cell(d.min), cell(d.p50),
                 cell(d.p90), cell(d.p95), cell(d.p99), cell(d.max)});
  };
  for (const auto& a : summary.api) row(a);
  row(summary.api_all);
  return out;
}

// activity-stress-test: one row per user that got updates.
std::string activity_users_csv(const ActivityResult& a) {
  std::string out = line({"user", "updates", "failed_updates", "created_by_this_run"});
  for (const auto& user : a.used) {
    const auto it = a.per_user.find(user);
    const auto counts = it == a.per_user.end() ? std::pair<int, int>{0, 0} : it->second;
    const bool created = std::find(a.created.begin(), a.created.end(), user) != a.created.end();
    out += line({user, std::to_string(counts.first), std::to_string(counts.second), created ? "true" : "false"});
  }
  return out;
}

// One row per student, a column per journey metric (seconds; a step done several times, cell: its
// mean; empty when the student did not complete it).
std::string journeys_csv(const JourneyResult& journey) {
  std::vector<std::string> header{"user", "scheduled_s", "late_s"};
  for (const auto& m : journey_metrics()) header.push_back(std::string(m.name) + "_s");
  for (const char* h : {"cells_done", "failed_step", "reason", "kernel_deleted"}) header.emplace_back(h);
  std::string out = line(header);
  for (const auto& st : journey.students) {
    std::vector<std::string> row{st.user, number(st.scheduled_s), number(st.late_s)};
    int cells = 0;
    for (const auto& m : journey_metrics()) {
      double sum = 0;
      int n = 0;
      for (const auto& step : st.steps) {
        if (step.step == m.name) sum += step.seconds, ++n;
      }
      if (std::string_view(m.name) == kTimeToFirstResult && st.time_to_first_result_s) sum = *st.time_to_first_result_s, n = 1;
      if (std::string_view(m.name) == "first_result" || std::string_view(m.name) == "cell") cells += n;
      row.push_back(n ? number(sum / n) : "");
    }
    row.push_back(std::to_string(cells));
    row.push_back(st.failed_step);
    row.push_back(st.reason);
    row.push_back(st.kernel_deleted ? "true" : "false");
    out += line(row);
  }
  return out;
}

// One row per stage of a capacity search: its rate, students, each step's p50 and p95, verdict.
std::string stages_csv(const CapacitySummary& c) {
  std::vector<std::string> header{"stage", "rate_per_min", "start_s", "end_s", "arrived", "population"};
  for (const auto& m : journey_metrics()) {
    header.push_back(std::string(m.name) + "_p50_s");
    header.push_back(std::string(m.name) + "_p95_s");
  }
  for (const char* h : {"failed", "failure_rate_pct", "later_cells_failed", "answers_429", "hub_cpu_peak_pct", "verdict"}) header.push_back(h);
  std::string out = line(header);
  for (const auto& st : c.stages) {
    std::vector<std::string> row{std::to_string(st.number), number(st.rate_per_min), number(st.start_s), number(st.end_s),
                                 std::to_string(st.arrived), std::to_string(st.population)};
    for (const auto& m : journey_metrics()) {
      const StepStats* step = nullptr;
      for (const auto& s : st.steps) {
        if (s.name == m.name) step = &s;
      }
      row.push_back(step && step->seconds.count ? number(step->seconds.p50) : "");
      row.push_back(step && step->seconds.count ? number(step->seconds.p95) : "");
    }
    row.push_back(std::to_string(st.failed));
    row.push_back(number(st.failure_rate_pct));
    row.push_back(std::to_string(st.later_cells_failed));
    row.push_back(std::to_string(st.answers_429));
    row.push_back(st.hub_cpu_peak_pct ? number(*st.hub_cpu_peak_pct) : "");
    row.push_back(st.verdict);
    out += line(row);
  }
  return out;
}

} // namespace

std::string csv_field(std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void write_csv(const Summary& summary, const StressResult* stress, const std::vector<RequestRecord>& records,
               const std::string& dir, const JourneyResult* journey, const ActivityResult* activity) {
  const fs::path base(dir.empty() ? "." : dir);
  std::error_code ec;
  fs::create_directories(base, ec);
  if (ec || !fs::is_directory(base)) {
    throw std::runtime_error("cannot create directory " + base.string() + (ec ? ": " + ec.message() : ""));
  }
  if (stress) write_file(base / "users.csv", users_csv(*stress));
  if (journey) write_file(base / "journeys.csv", journeys_csv(*journey));
  if (summary.capacity) write_file(base / "stages.csv", stages_csv(*summary.capacity));
  if (activity) write_file(base / "users.csv", activity_users_csv(*activity));
  write_file(base / "requests.csv", requests_csv(records));
  write_file(base / "api.csv", api_csv(summary));
}

} // namespace hubstress
