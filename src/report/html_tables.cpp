// The tables of the HTML report.
#include "html_parts.hpp"

#include "hubstress/report/thresholds.hpp"

#include "common.hpp"

#include <fmt/format.h>

namespace hubstress::html_detail {

using report_detail::errors_by_status;
using report_detail::seconds;

// ---- tables ----

std::string cell(const std::string& text, bool numeric) {
  return numeric ? "<td class=\"n\">" + esc(text) + "</td>" : "<td>" + esc(text) + "</td>";
}

std::string header_row(const std::vector<std::string>& names) {
  std::string s = "<tr>";
  for (const auto& n : names) s += "<th>" + esc(n) + "</th>";
  return s + "</tr>\n";
}

namespace {

std::string distribution_cells(const Distribution& d) {
  std::string s;
  for (const double v : {d.min, d.p50, d.p90, d.p95, d.p99, d.max}) s += cell(d.count ? seconds(v) : "-", true);
  return s;
}

} // namespace

std::string api_table(const Summary& s) {
  std::string t = "<table>\n" + header_row({"API call", "count", "errors", "retries", "min s", "p50 s", "p90 s", "p95 s", "p99 s",
                                            "max s", "errors by status"});
  auto row = [&](const ApiStats& a, bool total) {
    t += std::string(total ? "<tr class=\"total\">" : "<tr>") + cell(a.kind) + cell(std::to_string(a.count), true) +
         cell(std::to_string(a.errors), true) + cell(std::to_string(a.retries), true) + distribution_cells(a.latency_s) +
         cell(errors_by_status(a)) + "</tr>\n";
  };
  for (const auto& a : s.api) row(a, false);
  row(s.api_all, true);
  return t + "</table>\n<p class=\"note\">Latency: seconds of the last attempt, answered requests only.</p>\n";
}

// A merged report: every shard and what became of it.
std::string shards_section(const Summary& s) {
  if (s.shards.empty() && s.missing_shards.empty()) return "";
  std::string t = fmt::format("<h2>Shards</h2>\n<p>{} of {} shards merged; every figure of this report is of the whole test.</p>\n<table id=\"shards\">\n",
                              s.shards.size(), s.shards.size() + s.missing_shards.size()) +
                  header_row({"shard", "run", "status", "users", "started, s after the first", "took s", "late s", "error"});
  for (const auto& r : s.shards) {
    t += "<tr>" + cell(std::to_string(r.shard.index), true) + cell(r.run_id) + cell(r.status) + cell(std::to_string(r.users_created), true) +
         cell(seconds(r.offset_s), true) + cell(seconds(r.duration_s), true) + cell(seconds(r.shard.start_late_s), true) + cell(r.error) + "</tr>\n";
  }
  for (int i : s.missing_shards) t += "<tr class=\"missing\">" + cell(std::to_string(i), true) + cell("") + cell("no report") + "<td></td><td></td><td></td><td></td><td></td></tr>\n";
  return t + "</table>\n";
}

namespace {

std::string failures_table(const std::vector<FailureGroup>& groups, const char* what) {
  if (groups.empty()) return "";
  std::string s = "<h3>Failures by reason</h3>\n<table>\n" + header_row({what, "reason", "e.g. users"});
  for (const auto& g : groups) {
    std::string examples;
    for (const auto& u : g.examples) examples += (examples.empty() ? "" : ", ") + u;
    s += "<tr>" + cell(std::to_string(g.count), true) + cell(g.reason) + cell(examples) + "</tr>\n";
  }
  return s + "</table>\n";
}

} // namespace

std::string spawn_section(const SpawnSummary& sp) {
  std::string s = "<h2>Servers</h2>\n";
  s += fmt::format("<p>{} started, <b>{} ready</b> ({:.1f} %), {} failed, {} timed out, {} unfinished{}.</p>\n", sp.servers, sp.ready,
                   sp.ready_rate_pct, sp.failed, sp.timed_out, sp.unfinished,
                   sp.ready_per_min > 0 ? fmt::format("; {:.1f} ready a minute", sp.ready_per_min) : std::string());
  s += "<table>\n" + header_row({"spawn to ready", "count", "min s", "p50 s", "p90 s", "p95 s", "p99 s", "max s", "avg s"});
  s += "<tr>" + cell("seconds") + cell(std::to_string(sp.ready_s.count), true) + distribution_cells(sp.ready_s) +
       cell(sp.ready_s.count ? seconds(sp.ready_s.mean) : "-", true) + "</tr>\n</table>\n";

  if (sp.histogram.total() > 0) {
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < sp.histogram.counts.size(); ++i) labels.push_back(report_detail::bucket_label(sp.histogram, i));
    s += bar_chart("chart-spawn-hist", "Spawn-to-ready time", "seconds from start request to ready", "servers", labels,
                   sp.histogram.counts);
  } else {
    s += no_data("No spawn-to-ready times to show in a histogram.");
  }

  s += failures_table(sp.failures, "servers");
  return s;
}

std::string journey_section(const JourneySummary& j) {
  std::string s = "<h2>Students</h2>\n";
  s += fmt::format("<p>{} students arrived over {} s ({}, auth {}): <b>{} completed</b>, {} failed ({:.1f} %); {} late starts",
                   j.students, seconds(j.ramp_up_s), esc(j.arrival), esc(j.auth), j.completed, j.failed, j.failure_rate_pct,
                   j.late_starts);
  if (j.late_starts > 0) s += fmt::format(" (latest {} s)", seconds(j.max_late_s));
  if (j.interrupted > 0) {
    s += fmt::format("; {} interrupted{}, not counted as failures", j.interrupted,
                     j.never_arrived > 0 ? fmt::format(" ({} before they arrived)", j.never_arrived) : std::string());
  }
  s += ".</p>\n<table>\n" + header_row({"step", "count", "failed", "min s", "p50 s", "p90 s", "p95 s", "p99 s", "max s", "avg s"});
  for (const auto& step : j.steps) {
    if (step.seconds.count == 0 && step.failed == 0) continue;
    s += std::string(step.name == kTimeToFirstResult ? "<tr class=\"total\">" : "<tr>") + cell(step.name) +
         cell(std::to_string(step.seconds.count), true) + cell(std::to_string(step.failed), true) + distribution_cells(step.seconds) +
         cell(step.seconds.count ? seconds(step.seconds.mean) : "-", true) + "</tr>\n";
  }
  s += "</table>\n<p class=\"note\">count: students that completed the step (cell: every further cell); failed: journeys "
       "that ended at that step.</p>\n";
  if (j.time_to_first_result.total() > 0) {
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < j.time_to_first_result.counts.size(); ++i) {
      labels.push_back(report_detail::bucket_label(j.time_to_first_result, i));
    }
    s += bar_chart("chart-ttfr", "Time to first result", "seconds from arrival to the first cell's result", "students", labels,
                   j.time_to_first_result.counts);
  } else {
    s += no_data("No student got a first result: no histogram.");
  }
  return s + failures_table(j.failures, "students");
}

std::string capacity_section(const CapacitySummary& c) {
  std::string s = "<h2 id=\"capacity\">Capacity</h2>\n<p><b>" + esc(c.line) + "</b></p>\n";
  std::string judged;
  for (const auto& t : c.thresholds) judged += (judged.empty() ? "" : ", ") + t;
  s += fmt::format("<p class=\"note\">Stages of {:g} s, each judged on the students who arrived in it by {}; {}.</p>\n", c.stage_s,
                   esc(judged.empty() ? "no threshold" : judged),
                   c.stay_s >= 0 ? fmt::format("each student left {:g} s after its first result", c.stay_s)
                                 : std::string("students stayed, a cell every --think, to the end"));
  s += "<table>\n" + header_row({"stage", "rate", "arrived", "on hub", "spawn p50/p95 s", "ready p50/p95 s", "open p50/p95 s",
                                 "kernel p50/p95 s", "1st result p50/p95 s", "to result p50/p95 s", "failed", "429", "hub CPU",
                                 "verdict"});
  for (const auto& st : c.stages) {
    if (st.verdict == to_string(StageVerdict::pending) && st.arrived == 0) continue;
    auto pair = [&](std::string_view step) {
      for (const auto& x : st.steps) {
        if (x.name == step && x.seconds.count) return fmt::format("{:.1f} / {:.1f}", x.seconds.p50, x.seconds.p95);
      }
      return std::string("-");
    };
    const char* tone = st.verdict == "held" ? "<tr class=\"good\">" : st.verdict == "failed" ? "<tr class=\"bad\">" : "<tr>";
    s += tone + cell(std::to_string(st.number)) + cell(format_rate(st.rate_per_min), true) + cell(std::to_string(st.arrived), true) +
         cell(std::to_string(st.population), true) + cell(pair("spawn"), true) + cell(pair("ready"), true) + cell(pair("open"), true) +
         cell(pair("kernel"), true) + cell(pair("first_result"), true) + cell(pair(kTimeToFirstResult), true) +
         cell(std::to_string(st.failed), true) + cell(std::to_string(st.answers_429), true) +
         cell(st.hub_cpu_peak_pct ? fmt::format("{:.0f} %", *st.hub_cpu_peak_pct) : "-", true) + cell(st.verdict) + "</tr>\n";
  }
  s += "</table>\n<p class=\"note\">on hub: students present at the stage's end (its own and earlier stages' who stayed); "
       "failed: before the first result; hub CPU: the highest during the stage's arrivals, percent of one core.</p>\n";
  return s + capacity_charts(c);
}

std::string throttle_section(const Summary& s) {
  const Throttling& t = s.throttle;
  if (!s.spawn && !s.journey && t.answers_429 == 0) return {};
  std::string out = "<h2>Throttling</h2>\n<table>\n";
  out += "<tr>" + cell("requests answered 429") + cell(std::to_string(t.answers_429), true) + "</tr>\n";
  out += "<tr>" + cell("of them, start requests") + cell(std::to_string(t.start_429), true) + "</tr>\n";
  out += "<tr>" + cell("seconds waited to re-send after a 429, summed over users") + cell(seconds(t.throttled_s), true) + "</tr>\n";
  if (s.spawn) out += "<tr>" + cell("narrowest spawn window") + cell(std::to_string(t.smallest_window), true) + "</tr>\n";
  return out + "</table>\n";
}

std::string activity_section(const ActivitySummary& a) {
  std::string s = fmt::format("<h2>Activity</h2>\n<p>{} users, {} workers; {:.1f} updates a second.</p>\n<table>\n", a.users, a.workers,
                              a.updates_per_s);
  s += header_row({"request", "2xx", "errors", "min s", "p50 s", "p90 s", "p95 s", "p99 s", "max s", "avg s"});
  auto row = [&](const char* name, const Distribution& d, int errors) {
    s += "<tr>" + cell(name) + cell(std::to_string(d.count), true) + cell(std::to_string(errors), true) + distribution_cells(d) +
         cell(d.count ? seconds(d.mean) : "-", true) + "</tr>\n";
  };
  row("POST activity", a.post_s, a.post_errors);
  row("ping (GET user)", a.ping_s, a.ping_errors);
  return s + "</table>\n";
}

std::string hub_section(const HubSummary& h) {
  std::string s = "<h2>Hub</h2>\n<table>\n";
  auto row = [&](const std::string& name, const std::string& value) { s += "<tr>" + cell(name) + cell(value, true) + "</tr>\n"; };
  row("/hub/metrics scrapes", std::to_string(h.samples.size()));
  row("hub restarts seen", std::to_string(h.restarts));
  if (h.peak_cpu_pct) row("peak CPU, % of one core", fmt::format("{:.1f}", *h.peak_cpu_pct));
  if (h.peak_memory_bytes) row("peak resident memory", report_detail::megabytes(*h.peak_memory_bytes));
  if (h.request_mean_s) row("hub-side mean request, s", seconds(*h.request_mean_s));
  if (h.spawn_mean_s) row("hub-side mean spawn, s", seconds(*h.spawn_mean_s));
  if (h.proxy_add_mean_s) row("hub-side mean proxy route add, s", seconds(*h.proxy_add_mean_s));
  if (h.event_loop_mean_s) row("hub's mean event-loop interval, s", seconds(*h.event_loop_mean_s));
  s += "</table>\n";
  if (!h.phase_peaks.empty()) {
    s += "<table>\n" + header_row({"phase", "peak CPU, % of one core", "peak memory"});
    for (const auto& p : h.phase_peaks) {
      s += "<tr>" + cell(p.phase) + cell(p.cpu_pct ? fmt::format("{:.1f}", *p.cpu_pct) : "-", true) +
           cell(p.memory_bytes ? report_detail::megabytes(*p.memory_bytes) : "-", true) + "</tr>\n";
    }
    s += "</table>\n";
  }
  if (h.restarts > 0) s += "<p class=\"bad\">The hub restarted during the run (process_start_time_seconds changed).</p>\n";
  return s;
}

std::string thresholds_section(const Summary& s) {
  if (s.thresholds.empty()) return {};
  std::string out = "<h2>Thresholds</h2>\n<table>\n" + header_row({"", "threshold", "actual"});
  for (const auto& r : s.thresholds) {
    const std::string actual = !r.has_data ? "no data" : r.unit.empty() ? fmt::format("{}", r.actual) : fmt::format("{:.3f} {}", r.actual, r.unit);
    out += fmt::format("<tr class=\"{}\">", r.passed ? "good" : "bad") + cell(r.passed ? "PASS" : "FAIL") + cell(r.text) +
           cell(actual, true) + "</tr>\n";
  }
  return out + "</table>\n";
}

} // namespace hubstress::html_detail
