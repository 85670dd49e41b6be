#include "hubstress/report/report.hpp"
#include "hubstress/report/thresholds.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace hubstress {

namespace {

using report_detail::errors_by_status;
using report_detail::seconds;

// Text from the hub may hold newlines or terminal escape sequences: print it as one inert line.
std::string printable(std::string_view text, std::size_t max_chars = 200) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (out.size() > max_chars) {
    std::size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
    out = out.substr(0, cut) + "...";
  }
  return out;
}

// Display width of UTF-8 text, one column per code point.
std::size_t width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Columns padded to their widest cell; the first and any column marked `left` align left.
class TextTable {
public:
  TextTable(std::vector<std::string> header, std::vector<bool> left) : header_(std::move(header)), left_(std::move(left)) {
    left_.resize(header_.size(), false);
    if (!left_.empty()) left_[0] = true;
  }
  // Rows are indented under the header: the indent is part of their first cell, so columns still line up.
  void row(std::vector<std::string> cells) {
    cells.resize(header_.size());
    cells[0] = "  " + cells[0];
    rows_.push_back(std::move(cells));
  }
  std::string render() const {
    std::vector<std::size_t> w(header_.size(), 0);
    auto measure = [&](const std::vector<std::string>& r) {
      for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], width(r[i]));
    };
    measure(header_);
    for (const auto& r : rows_) measure(r);
    std::string out;
    auto line = [&](const std::vector<std::string>& r) {
      std::string l;
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string pad(w[i] - width(r[i]), ' ');
        if (i > 0) l += "  ";
        l += left_[i] ? r[i] + pad : pad + r[i];
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    };
    line(header_);
    for (const auto& r : rows_) line(r);
    return out;
  }

private:
  std::vector<std::string> header_;
  std::vector<bool> left_;
  std::vector<std::vector<std::string>> rows_;
};

std::vector<std::string> distribution_cells(const Distribution& d) {
  if (d.count == 0) return {"-", "-", "-", "-", "-", "-"};
  return {seconds(d.min), seconds(d.p50), seconds(d.p90), seconds(d.p95), seconds(d.p99), seconds(d.max)};
}

std::vector<std::string> api_row(const ApiStats& a) {
  std::vector<std::string> r{a.kind, std::to_string(a.count), std::to_string(a.errors), std::to_string(a.retries)};
  for (auto& c : distribution_cells(a.latency_s)) r.push_back(std::move(c));
  r.push_back(errors_by_status(a));
  return r;
}

void verdict(std::string& out, const Summary& s) {
  if (s.verdict.result.empty()) return;
  out += "Verdict: " + printable(s.verdict.result) + "\n";
  for (const auto& w : s.verdict.why) out += "  - " + printable(w) + "\n";
}

void header(std::string& out, const Summary& s) {
  out += fmt::format("hub-stress-test {}", printable(s.command));
  if (!s.hub_version.empty() || !s.endpoint.empty()) {
    out += fmt::format(": JupyterHub {} at {}", s.hub_version.empty() ? "(unknown version)" : printable(s.hub_version),
                       printable(s.endpoint));
  }
  out += "\n";
  out += fmt::format("Started {}, took {} s\n", s.started_at.empty() ? "(unknown)" : printable(s.started_at), seconds(s.duration_s));
  if (s.users) {
    out += fmt::format("Users: {} requested, {} created by this run", s.users->requested, s.users->created);
    if (s.users->started) out += fmt::format(", {} servers started, {} ready", *s.users->started, s.users->ready.value_or(0));
    out += "\n";
  }
  if (!s.run.command_line.empty()) out += "Command: " + printable(s.run.command_line, 400) + "\n";
  out += fmt::format("Run {}status {}{} (hub-stress-test {})\n", s.run.run_id.empty() ? "" : printable(s.run.run_id) + ", ",
                     printable(s.run.status), s.run.error.empty() ? "" : ": " + printable(s.run.error), printable(s.run.tool_version));
}

void shards(std::string& out, const Summary& s) {
  if (s.run.shard) {
    const ShardInfo& sh = *s.run.shard;
    out += fmt::format("Shard {}/{} of a test of {} users", sh.index, sh.count, sh.total_count);
    if (!sh.start_at.empty()) {
      out += fmt::format("; --start-at {}, {}", printable(sh.start_at),
                         sh.start_late_s > 0 ? fmt::format("began {} s late", seconds(sh.start_late_s)) : std::string("began on time"));
    }
    out += "\n";
  }
  if (s.shards.empty() && s.missing_shards.empty()) return;
  out += fmt::format("\nShards: {} of {} merged\n", s.shards.size(), s.shards.size() + s.missing_shards.size());
  TextTable t({"Shard", "run", "status", "users", "started +s", "took s", "late s", "error"}, {false, true, true, false, false, false, false, true});
  for (const auto& r : s.shards) {
    t.row({std::to_string(r.shard.index), printable(r.run_id), printable(r.status), std::to_string(r.users_created), seconds(r.offset_s),
           seconds(r.duration_s), seconds(r.shard.start_late_s), printable(r.error, 120)});
  }
  for (int i : s.missing_shards) t.row({std::to_string(i), "", "no report", "", "", "", "", ""});
  out += t.render();
}

void phases(std::string& out, const Summary& s) {
  if (s.phases.empty()) return;
  TextTable t({"Phase", "seconds"}, {});
  for (const auto& p : s.phases) t.row({printable(p.name), seconds(p.seconds)});
  out += "\n" + t.render();
}

void api(std::string& out, const Summary& s) {
  if (s.api.empty()) return;
  TextTable t({"API call", "count", "errors", "retries", "min", "p50", "p90", "p95", "p99", "max", "errors by status"},
              {true, false, false, false, false, false, false, false, false, false, true});
  for (const auto& a : s.api) t.row(api_row(a));
  t.row(api_row(s.api_all));
  out += "\n" + t.render();
  out += "(latency: seconds of the last attempt, answered requests only)\n";
}

void failures(std::string& out, const std::vector<FailureGroup>& groups, const char* what) {
  if (groups.empty()) return;
  out += fmt::format("Failures by reason ({}: reason, e.g. users)\n", what);
  const std::size_t w = std::to_string(groups.front().count).size();  // most frequent first
  for (const auto& g : groups) {
    std::string examples;
    for (const auto& u : g.examples) examples += (examples.empty() ? "" : ", ") + printable(u, 80);
    out += fmt::format("  {:>{}}: {} (e.g. {})\n", g.count, w, printable(g.reason), examples);
  }
}

void spawn(std::string& out, const SpawnSummary& sp) {
  out += fmt::format("\nServers: {} started, {} ready ({:.1f} %), {} failed, {} timed out, {} unfinished", sp.servers,
                     sp.ready, sp.ready_rate_pct, sp.failed, sp.timed_out, sp.unfinished);
  out += sp.ready_per_min > 0 ? fmt::format("; {:.1f} ready a minute\n", sp.ready_per_min) : std::string("\n");
  TextTable d({"Spawn to ready", "count", "min", "p50", "p90", "p95", "p99", "max", "avg"}, {});
  std::vector<std::string> row{"seconds", std::to_string(sp.ready_s.count)};
  for (auto& c : distribution_cells(sp.ready_s)) row.push_back(std::move(c));
  row.push_back(sp.ready_s.count ? seconds(sp.ready_s.mean) : "-");
  d.row(std::move(row));
  out += d.render();

  if (sp.histogram.total() > 0) {
    const std::size_t peak = *std::max_element(sp.histogram.counts.begin(), sp.histogram.counts.end());
    TextTable h({"Spawn to ready", "servers", ""}, {true, false, true});
    for (std::size_t i = 0; i < sp.histogram.counts.size(); ++i) {
      const std::size_t n = sp.histogram.counts[i];
      const std::size_t bar = peak ? (n * 40 + peak - 1) / peak : 0;
      h.row({report_detail::bucket_label(sp.histogram, i), std::to_string(n), std::string(bar, '#')});
    }
    out += h.render();
  }

  failures(out, sp.failures, "servers");
}

void journey(std::string& out, const JourneySummary& j) {
  const std::string rate = j.ramp_up_s > 0 ? fmt::format(", {:.1f}/min", j.rate_per_min) : ", all at once";
  out += fmt::format("\nStudents: {} arrived over {} s ({}{}, --auth {}), {} completed, {} failed ({:.1f} %)", j.students,
                     seconds(j.ramp_up_s), j.arrival, rate, j.auth, j.completed, j.failed, j.failure_rate_pct);
  if (j.interrupted > 0) {
    out += fmt::format(", {} interrupted", j.interrupted);
    if (j.never_arrived > 0) out += fmt::format(" ({} before they arrived)", j.never_arrived);
  }
  out += fmt::format("; late starts {}", j.late_starts);
  if (j.late_starts > 0) out += fmt::format(" (latest {} s)", seconds(j.max_late_s));
  out += "\n";
  TextTable t({"Step", "count", "failed", "min", "p50", "p90", "p95", "p99", "max", "avg"}, {});
  for (const auto& step : j.steps) {
    if (step.seconds.count == 0 && step.failed == 0) continue;  // login without --auth form, cell with --cells 1
    std::vector<std::string> r{step.name, std::to_string(step.seconds.count), std::to_string(step.failed)};
    for (auto& c : distribution_cells(step.seconds)) r.push_back(std::move(c));
    r.push_back(step.seconds.count ? seconds(step.seconds.mean) : "-");
    t.row(std::move(r));
  }
  out += t.render();
  out += "(seconds; count: students that completed the step, cell: every further cell; failed: journeys that ended there)\n";
  failures(out, j.failures, "students");
}

// "1.2/3.4": a step's p50 and p95 over a stage's students ("-" without any).
std::string p50_p95(const StageSummary& st, std::string_view step) {
  for (const auto& s : st.steps) {
    if (s.name == step) return s.seconds.count ? fmt::format("{:.1f}/{:.1f}", s.seconds.p50, s.seconds.p95) : "-";
  }
  return "-";
}

void capacity(std::string& out, const CapacitySummary& c) {
  out += fmt::format("\nCapacity: stages of {:g} s; each judged by {}", c.stage_s, c.thresholds.empty() ? "no threshold" : "");
  for (std::size_t i = 0; i < c.thresholds.size(); ++i) out += (i ? ", " : "") + printable(c.thresholds[i]);
  out += c.stay_s >= 0 ? fmt::format("; students leave {:g} s after their first result\n", c.stay_s) : "; students stay to the end\n";
  TextTable t({"Stage", "rate", "arrived", "on hub", "spawn", "ready", "open", "kernel", "1st result", "to result", "failed", "429",
               "hub CPU", "verdict"},
              {});
  for (const auto& st : c.stages) {
    if (st.verdict == to_string(StageVerdict::pending) && st.arrived == 0) continue;
    t.row({std::to_string(st.number), format_rate(st.rate_per_min), std::to_string(st.arrived), std::to_string(st.population),
           p50_p95(st, "spawn"), p50_p95(st, "ready"), p50_p95(st, "open"), p50_p95(st, "kernel"), p50_p95(st, "first_result"),
           p50_p95(st, kTimeToFirstResult), std::to_string(st.failed), std::to_string(st.answers_429),
           st.hub_cpu_peak_pct ? fmt::format("{:.0f} %", *st.hub_cpu_peak_pct) : "-", st.verdict});
  }
  out += t.render();
  out += "(steps: p50/p95 seconds over the stage's students; to result: from arrival to the first cell's result; on hub: students "
         "present at the stage's end; failed: before the first result)\n";
  out += "Capacity: " + printable(c.line, 600) + "\n";
}

void throttling(std::string& out, const Summary& s) {
  const Throttling& t = s.throttle;
  if (!s.spawn && !s.journey && t.answers_429 == 0) return;
  out += fmt::format("\n429 answers: {} ({} to start requests); {} s waited to re-send after a 429, summed over users",
                     t.answers_429, t.start_429, seconds(t.throttled_s));
  if (s.spawn) out += fmt::format("; narrowest spawn window {}", t.smallest_window);
  out += "\n";
}

void activity(std::string& out, const ActivitySummary& a) {
  out += fmt::format("\nActivity: {} users, {} workers; {:.1f} updates a second\n", a.users, a.workers, a.updates_per_s);
  TextTable t({"Request", "count", "errors", "min", "p50", "p90", "p95", "p99", "max", "avg"}, {});
  auto row = [&](const char* name, const Distribution& d, int errors) {
    std::vector<std::string> r{name, std::to_string(d.count), std::to_string(errors)};
    for (auto& c : distribution_cells(d)) r.push_back(std::move(c));
    r.push_back(d.count ? seconds(d.mean) : "-");
    t.row(std::move(r));
  };
  row("POST activity", a.post_s, a.post_errors);
  row("ping (GET user)", a.ping_s, a.ping_errors);
  out += t.render();
  out += "(seconds; count: 2xx answers, errors: the others)\n";
}

void hub(std::string& out, const HubSummary& h) {
  out += fmt::format("\nHub metrics: {} scrapes, {} restart{}", h.samples.size(), h.restarts, h.restarts == 1 ? "" : "s");
  if (h.peak_cpu_pct) out += fmt::format(", peak CPU {:.1f} % of a core", *h.peak_cpu_pct);
  if (h.peak_memory_bytes) out += ", peak memory " + report_detail::megabytes(*h.peak_memory_bytes);
  if (h.request_mean_s) out += fmt::format(", hub-side mean request {} s", seconds(*h.request_mean_s));
  if (h.spawn_mean_s) out += fmt::format(", hub-side mean spawn {} s", seconds(*h.spawn_mean_s));
  if (h.proxy_add_mean_s) out += fmt::format(", mean proxy route add {} s", seconds(*h.proxy_add_mean_s));
  if (h.event_loop_mean_s) out += fmt::format(", mean event-loop interval {} s", seconds(*h.event_loop_mean_s));
  out += "\n";
  std::string per_phase;
  for (const auto& p : h.phase_peaks) {
    if (p.cpu_pct) per_phase += fmt::format("{}{} {:.1f} %", per_phase.empty() ? "" : ", ", printable(p.phase), *p.cpu_pct);
  }
  if (!per_phase.empty()) out += "Hub peak CPU by phase: " + per_phase + "\n";
  if (h.restarts > 0) out += "WARNING: the hub restarted during the run (process_start_time_seconds changed)\n";
}

void thresholds(std::string& out, const Summary& s) {
  if (s.thresholds.empty()) return;
  out += "\nThresholds\n";
  for (const auto& r : s.thresholds) out += "  " + printable(format_threshold_result(r)) + "\n";
}

} // namespace

std::string render_terminal(const Summary& s) {
  std::string out;
  verdict(out, s);
  header(out, s);
  shards(out, s);
  phases(out, s);
  api(out, s);
  if (s.spawn) spawn(out, *s.spawn);
  throttling(out, s);
  if (s.activity) activity(out, *s.activity);
  if (s.journey) journey(out, *s.journey);
  if (s.hub) hub(out, *s.hub);
  thresholds(out, s);
  if (s.capacity) capacity(out, *s.capacity);
  if (!s.verdict.result.empty()) {  // again at the end: the last lines on screen once the run is over
    out += "\n";
    verdict(out, s);
  }
  return out;
}

} // namespace hubstress
