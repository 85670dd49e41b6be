#include "hubstress/report/report.hpp"
#include "hubstress/report/thresholds.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

namespace hubstress {

namespace {

using report_detail::errors_by_status;
using report_detail::seconds;

std::string esc(std::string_view s) { return html_escape(s); }

// ---- charts: inline SVG, drawn here, no script ----

struct Point {
  double x = 0, y = 0;
};

constexpr double kWidth = 640, kHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 32, kBottom = 48;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
constexpr std::size_t kTicks = 5;
constexpr std::size_t kMaxPoints = 2000;  // more would only make the file bigger, not the chart clearer

// The smallest 1, 2 or 5 times a power of ten that is >= v: an axis end people can read.
double nice_ceiling(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (const double step : {1.0, 2.0, 5.0, 10.0}) {
    if (v <= step * magnitude * (1 + 1e-9)) return step * magnitude;
  }
  return 10 * magnitude;
}

std::string num(double v) { return fmt::format("{:.1f}", v); }
std::string tick(double v) { return fmt::format("{:g}", std::round(v * 1e6) / 1e6); }

// Keeps at most kMaxPoints, evenly spread, always the first and the last.
std::vector<Point> thin(std::vector<Point> points) {
  if (points.size() <= kMaxPoints) return points;
  std::vector<Point> out;
  const double stride = static_cast<double>(points.size() - 1) / static_cast<double>(kMaxPoints - 1);
  for (std::size_t i = 0; i < kMaxPoints; ++i) out.push_back(points[static_cast<std::size_t>(std::round(static_cast<double>(i) * stride))]);
  return out;
}

// The frame every chart shares: title, y grid with ticks, axes and their labels.
std::string frame_open(const std::string& id, const std::string& title, const std::string& y_label, double y_max) {
  std::string s = fmt::format(
      "<svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">\n"
      "<title>{}</title>\n<text class=\"chart-title\" x=\"{}\" y=\"18\">{}</text>\n",
      id, kWidth, kHeight, kWidth, kHeight, esc(title), esc(title), num(kLeft), esc(title));
  for (std::size_t i = 0; i <= kTicks; ++i) {
    const double v = y_max * static_cast<double>(i) / kTicks;
    const double y = kTop + kPlotH - kPlotH * static_cast<double>(i) / kTicks;
    s += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>"
                     "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                     num(kLeft), num(y), num(kLeft + kPlotW), num(y), num(kLeft - 6), num(y + 4), tick(v));
  }
  s += fmt::format("<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
                   "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\"/>\n",
                   num(kLeft), num(kTop), num(kTop + kPlotH), num(kLeft + kPlotW));
  s += fmt::format("<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   num(kTop + kPlotH / 2), esc(y_label));
  return s;
}

std::string x_label(const std::string& label) {
  return fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(kLeft + kPlotW / 2),
                     num(kHeight - 8), esc(label));
}

// Bars over named categories.
std::string bar_chart(const std::string& id, const std::string& title, const std::string& xl, const std::string& yl,
                      const std::vector<std::string>& labels, const std::vector<std::size_t>& counts) {
  std::size_t peak = 0;
  for (auto c : counts) peak = std::max(peak, c);
  const double y_max = std::max(nice_ceiling(static_cast<double>(peak)), 5.0);  // counts: whole-number ticks
  std::string s = frame_open(id, title, yl, y_max);
  const double slot = kPlotW / static_cast<double>(std::max<std::size_t>(counts.size(), 1));
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double h = static_cast<double>(counts[i]) / y_max * kPlotH;
    const double x = kLeft + slot * static_cast<double>(i);
    const std::string label = i < labels.size() ? labels[i] : "";
    s += fmt::format("<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {}</title></rect>"
                     "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     num(x + slot * 0.1), num(kTop + kPlotH - h), num(slot * 0.8), num(h), esc(label), counts[i],
                     num(x + slot / 2), num(kTop + kPlotH + 16), esc(label));
  }
  return s + x_label(xl) + "</svg>\n";
}

// ---- the dashboard: every chart over time shares one axis, seconds since the run started ----

struct TimeSeries {
  std::string name;
  std::vector<Point> points;  // in time order
  double gap_s = 1e300;       // no line between two points further apart than this (seconds without data)
  bool step = false;          // a count that jumps at each point
  std::string colour;         // empty: the palette's next
};
TimeSeries series(std::string name, double gap_s = 1e300, bool step = false, std::string colour = {}) {
  return TimeSeries{std::move(name), {}, gap_s, step, std::move(colour)};
}

std::string no_data(const std::string& what);

struct TimeAxis {
  double x_max = 1;                     // seconds: the run's duration, rounded up to a whole tick
  double tick = 1;                      // seconds between two ticks
  std::vector<PhaseTime> phases;        // drawn as bands
};

TimeAxis time_axis(const Summary& s) {
  TimeAxis a;
  const double end = std::max(s.duration_s, 1.0);
  const double raw = end / 10;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    a.tick = m * magnitude;
    if (a.tick >= raw) break;
  }
  a.x_max = std::ceil(end / a.tick - 1e-9) * a.tick;
  double next = 0;  // a phase without its start (an older report) follows the one before it
  for (auto p : s.phases) {
    if (p.start_s < 0) p.start_s = next;
    next = p.start_s + p.seconds;
    a.phases.push_back(p);
  }
  return a;
}

constexpr double kTW = 1000, kTH = 260, kTL = 64, kTR = 16, kTT = 36, kTB = 44;
constexpr double kTPW = kTW - kTL - kTR, kTPH = kTH - kTT - kTB;
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                    "#bcbd22", "#17becf", "#393b79", "#637939"};

std::string value_text(double v) { return std::fabs(v) >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v); }

// A chart over the run's time axis: the phases as bands, a legend, a tooltip on every point.
std::string time_chart(const std::string& id, const std::string& title, const std::string& y_label, const std::string& unit,
                       const TimeAxis& axis, const std::vector<TimeSeries>& series, double min_y_max = 0,
                       std::optional<double> reference = std::nullopt, const std::string& reference_label = "") {
  double y_max = 0;
  std::size_t points = 0;
  for (const auto& sr : series) {
    for (const auto& p : sr.points) y_max = std::max(y_max, p.y);
    points += sr.points.size();
  }
  if (reference) y_max = std::max(y_max, *reference * 1.1);
  y_max = std::max(nice_ceiling(y_max), min_y_max);
  auto px = [&](double x) { return kTL + std::clamp(x / axis.x_max, 0.0, 1.0) * kTPW; };
  auto py = [&](double y) { return kTT + kTPH - std::clamp(y / y_max, 0.0, 1.0) * kTPH; };
  std::string s = fmt::format("<svg id=\"{}\" class=\"chart timechart\" data-x-max=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
                              "aria-label=\"{}\">\n<title>{}</title>\n",
                              id, tick(axis.x_max), kTW, kTH, esc(title), esc(title));
  for (std::size_t i = 0; i < axis.phases.size(); ++i) {
    const auto& ph = axis.phases[i];
    const double x0 = px(ph.start_s), x1 = px(ph.start_s + ph.seconds);
    s += fmt::format("<rect class=\"band{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {} s from {} s</title></rect>"
                     "<text class=\"band-label\" x=\"{}\" y=\"{}\">{}</text>\n",
                     i % 2, num(x0), num(kTT), num(std::max(x1 - x0, 0.5)), num(kTPH), esc(ph.name), seconds(ph.seconds),
                     seconds(ph.start_s), num(x0 + 3), num(kTT + 11), x1 - x0 > 30 ? esc(ph.name) : "");
  }
  s += fmt::format("<text class=\"chart-title\" x=\"{}\" y=\"18\">{}</text>\n", num(kTL), esc(title));
  for (std::size_t i = 0; i <= kTicks; ++i) {
    const double v = y_max * static_cast<double>(i) / kTicks;
    const double y = py(v);
    s += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"tick\" x=\"{}\" y=\"{}\" "
                     "text-anchor=\"end\">{}</text>\n",
                     num(kTL), num(y), num(kTL + kTPW), num(y), num(kTL - 6), num(y + 4), tick(v));
  }
  for (double t = 0; t <= axis.x_max + 1e-9; t += axis.tick) {
    s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(px(t)), num(kTT + kTPH + 16), tick(t));
  }
  s += fmt::format("\n<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/><line class=\"axis\" x1=\"{0}\" y1=\"{2}\" "
                   "x2=\"{3}\" y2=\"{2}\"/>\n",
                   num(kTL), num(kTT), num(kTT + kTPH), num(kTL + kTPW));
  s += fmt::format("<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n"
                   "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds since the run started</text>\n",
                   num(kTT + kTPH / 2), esc(y_label), num(kTL + kTPW / 2), num(kTH - 6));
  if (reference) {
    s += fmt::format("<line class=\"reference\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"tick\" x=\"{}\" y=\"{}\" "
                     "text-anchor=\"end\">{}</text>\n",
                     num(kTL), num(py(*reference)), num(kTL + kTPW), num(py(*reference)), num(kTL + kTPW - 4), num(py(*reference) - 4),
                     esc(reference_label));
  }
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& sr = series[k];
    const std::string colour = sr.colour.empty() ? kPalette[k % std::size(kPalette)] : sr.colour;
    std::string coords;
    auto flush = [&] {
      if (!coords.empty()) s += fmt::format("<polyline class=\"data\" style=\"stroke:{}\" points=\"{}\"/>\n", colour, coords);
      coords.clear();
    };
    double last_x = -1e300, last_y = 0;
    for (const auto& p : thin(sr.points)) {
      if (p.x - last_x > sr.gap_s) flush();  // seconds without data: no line across them
      if (sr.step && !coords.empty()) coords += " " + num(px(p.x)) + "," + num(py(last_y));
      coords += (coords.empty() ? "" : " ") + num(px(p.x)) + "," + num(py(p.y));
      last_x = p.x;
      last_y = p.y;
    }
    flush();
    if (points <= 600) {
      for (const auto& p : sr.points) {
        s += fmt::format("<circle class=\"dot\" style=\"fill:{}\" cx=\"{}\" cy=\"{}\" r=\"2.2\"><title>{} at {} s: {}{}</title></circle>",
                         colour, num(px(p.x)), num(py(p.y)), esc(sr.name), value_text(p.x), value_text(p.y),
                         unit.empty() ? "" : " " + esc(unit));
      }
      s += "\n";
    }
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" style=\"fill:{}\"/><text class=\"tick\" x=\"{}\" y=\"{}\">{}</text>\n",
                     num(kTL + kTPW - 150), num(kTT + 4 + 14 * static_cast<double>(k)), colour, num(kTL + kTPW - 136),
                     num(kTT + 13 + 14 * static_cast<double>(k)), esc(sr.name));
  }
  return s + "</svg>\n";
}

// Requests and errors per second, and p95 latency per second, by kind of call; servers or students;
// the hub's CPU and memory: all on the run's time axis.
std::string dashboard(const Summary& s) {
  const TimeAxis axis = time_axis(s);
  std::string h = "<h2>Over time</h2>\n<p class=\"note\">Every chart below runs on one time axis, seconds since the run "
                  "started; the bands are the run's phases. Hover a point for its value.</p>\n";
  std::vector<TimeSeries> rate, latency;
  TimeSeries errors = series("errors (all kinds)", 1.5, false, "#c00");
  for (const auto& b : s.latency_over_time) {
    if (b.errors > 0) errors.points.push_back({static_cast<double>(b.t_s), static_cast<double>(b.errors)});
  }
  for (const auto& k : s.kinds_over_time) {
    TimeSeries r = series(k.kind, 1.5), l = series(k.kind, 1.5);
    for (const auto& b : k.seconds) {
      r.points.push_back({static_cast<double>(b.t_s), static_cast<double>(b.count)});
      if (b.count > b.errors || b.p95_s > 0) l.points.push_back({static_cast<double>(b.t_s), b.p95_s});
    }
    rate.push_back(std::move(r));
    if (!l.points.empty()) latency.push_back(std::move(l));
  }
  if (!errors.points.empty()) rate.push_back(std::move(errors));
  for (const auto& k : s.kinds_over_time) {  // and by kind, for the kinds that had any
    TimeSeries e = series(k.kind + " errors", 1.5);
    for (const auto& b : k.seconds) {
      if (b.errors > 0) e.points.push_back({static_cast<double>(b.t_s), static_cast<double>(b.errors)});
    }
    if (!e.points.empty()) rate.push_back(std::move(e));
  }
  h += rate.empty() ? no_data("No API requests recorded.")
                    : time_chart("chart-rate", "Requests and errors per second, by kind of call", "requests per second", "req/s",
                                 axis, rate, 5);
  h += latency.empty() ? no_data("No answered API requests to show latency for.")
                       : time_chart("chart-latency", "Latency p95 per second, by kind of call", "p95 latency, s", "s", axis, latency);
  if (s.spawn) {
    std::vector<TimeSeries> servers;
    double spawn_start = 0;  // without phases (a report built from records alone): from the start
    for (const auto& p : axis.phases) {
      if (p.name == "spawn") spawn_start = p.start_s;
    }
    TimeSeries ready = series("ready (this run)", 1e300, true);
    if (spawn_start >= 0) {
      for (const auto& p : s.spawn->ready_over_time) ready.points.push_back({spawn_start + p.t_s, static_cast<double>(p.ready)});
    }
    if (!ready.points.empty()) servers.push_back(std::move(ready));
    TimeSeries pending = series("pending (this run)", 1e300, true);
    for (const auto& p : s.spawn->pending_over_time) pending.points.push_back({spawn_start + p.t_s, static_cast<double>(p.ready)});
    if (!pending.points.empty()) servers.push_back(std::move(pending));
    if (s.hub) {
      TimeSeries running = series("running (the hub's count)");
      for (const auto& p : s.hub->series) {
        if (p.running_servers) running.points.push_back({p.t_s, *p.running_servers});
      }
      if (!running.points.empty()) servers.push_back(std::move(running));
    }
    h += servers.empty() ? no_data("No server became ready: nothing to plot over time.")
                         : time_chart("chart-ready", "Servers", "servers", "servers", axis, servers, 5);
  }
  if (s.journey) {
    double start = 0;
    for (const auto& p : axis.phases) {
      if (p.name == "journeys") start = p.start_s;
    }
    std::vector<TimeSeries> steps;
    for (std::size_t k = 0; k < s.journey->active_steps.size() && start >= 0; ++k) {
      TimeSeries sr = series(s.journey->active_steps[k]);
      bool any = false;
      for (const auto& p : s.journey->active_over_time) {
        sr.points.push_back({start + p.t_s, static_cast<double>(p.active[k])});
        any = any || p.active[k] > 0;
      }
      if (any) steps.push_back(std::move(sr));
    }
    h += steps.empty() ? no_data("No student completed a step: nothing to plot over time.")
                       : time_chart("chart-steps", "Students in each step, per second", "students", "students", axis, steps, 5);
  }
  if (s.hub) {
    TimeSeries cpu = series("hub CPU"), mem = series("hub resident memory");
    for (const auto& p : s.hub->series) {
      if (p.cpu_pct) cpu.points.push_back({p.t_s, *p.cpu_pct});
      if (p.memory_bytes) mem.points.push_back({p.t_s, *p.memory_bytes / 1e6});
    }
    h += cpu.points.empty() ? no_data("Hub CPU: needs two scrapes with process_cpu_seconds_total.")
                            : time_chart("chart-hub-cpu", "Hub CPU (its event loop runs on one core)", "% of one core", "%", axis,
                                         {cpu}, 0, 100.0, "one full core");
    h += mem.points.empty() ? no_data("Hub memory: no process_resident_memory_bytes in the scrapes.")
                            : time_chart("chart-hub-mem", "Hub resident memory", "MB", "MB", axis, {mem});
    TimeSeries loop = series("event-loop interval");
    for (const auto& p : s.hub->series) {
      if (p.event_loop_interval_s) loop.points.push_back({p.t_s, *p.event_loop_interval_s});
    }
    // exported from JupyterHub 5: a saturated hub's loop comes round late
    if (!loop.points.empty()) {
      h += time_chart("chart-hub-loop", "Hub event-loop interval (JupyterHub 5+: high means saturated)", "seconds", "s", axis, {loop});
    }
  }
  return h;
}

std::string no_data(const std::string& what) { return "<p class=\"note\">" + esc(what) + "</p>\n"; }

// ---- tables ----

std::string cell(const std::string& text, bool numeric = false) {
  return numeric ? "<td class=\"n\">" + esc(text) + "</td>" : "<td>" + esc(text) + "</td>";
}

std::string header_row(const std::vector<std::string>& names) {
  std::string s = "<tr>";
  for (const auto& n : names) s += "<th>" + esc(n) + "</th>";
  return s + "</tr>\n";
}

std::string distribution_cells(const Distribution& d) {
  std::string s;
  for (const double v : {d.min, d.p50, d.p90, d.p95, d.p99, d.max}) s += cell(d.count ? seconds(v) : "-", true);
  return s;
}

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

std::string spawn_section(const SpawnSummary& sp) {
  std::string s = "<h2>Servers</h2>\n";
  s += fmt::format("<p>{} started, <b>{} ready</b> ({:.1f} %), {} failed, {} timed out, {} unfinished.</p>\n", sp.servers, sp.ready,
                   sp.ready_rate_pct, sp.failed, sp.timed_out, sp.unfinished);
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
  std::string s = fmt::format("<h2>Activity</h2>\n<p>{} users, {} workers.</p>\n<table>\n", a.users, a.workers);
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

constexpr const char* kStyle = R"(body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0;display:block;max-width:100%;overflow-x:auto}th,td{padding:.2em .6em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold}
tr.good td:first-child{color:#176b1d;font-weight:bold}tr.bad td:first-child,.bad{color:#a11;font-weight:bold}
.note{color:#666;font-size:.9em}
svg.chart{display:block;margin:1em 0;background:#fff;max-width:640px}svg.timechart{width:100%;max-width:none;height:auto}
svg .band0{fill:#eef2f8}svg .band1{fill:#f8f9fb}svg .band-label{font-size:10px;fill:#667}
svg .reference{stroke:#a11;stroke-dasharray:6 4;stroke-width:1.5}svg .grid{stroke:#eee}svg .axis{stroke:#444}
svg .tick{font-size:10px;fill:#444}svg .axis-label{font-size:11px;fill:#222}svg .chart-title{font-size:13px;font-weight:bold;fill:#222}
svg .data{fill:none;stroke:#1f5fa8;stroke-width:2}svg .dot{fill:#1f5fa8}svg .bar{fill:#1f5fa8}
.verdict{border-left:.4em solid #888;padding:.4em .8em;margin:.8em 0;background:#f6f6f6}.verdict b{font-size:1.3em}
.verdict ul{margin:.3em 0 0 0}.verdict.pass{border-color:#176b1d;background:#eef7ee}.verdict.pass b{color:#176b1d}
.verdict.fail{border-color:#a11;background:#fbeeee}.verdict.fail b{color:#a11}.verdict.stopped{border-color:#b57800;background:#fbf5e8}
)";

} // namespace

std::string html_escape(std::string_view text) {
  const std::string valid = report_detail::valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (const char c : valid) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string render_html(const Summary& s) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + esc("hub-stress-test " + s.command + " " + s.started_at) + "</title>\n";
  h += std::string("<style>\n") + kStyle + "</style>\n</head>\n<body>\n";
  h += "<h1>" + esc("hub-stress-test " + s.command) + "</h1>\n";
  if (!s.verdict.result.empty()) {
    const char* tone = s.verdict.result == "PASS" ? "pass" : s.verdict.result == "FAIL" ? "fail" : "stopped";
    h += fmt::format("<div class=\"verdict {}\" id=\"verdict\"><b>{}</b><ul>\n", tone, esc(s.verdict.result));
    for (const auto& w : s.verdict.why) h += "<li>" + esc(w) + "</li>\n";
    h += "</ul></div>\n";
  }
  h += "<table>\n";
  h += "<tr>" + cell("hub") + cell(s.endpoint) + "</tr>\n";
  h += "<tr>" + cell("JupyterHub version") + cell(s.hub_version) + "</tr>\n";
  h += "<tr>" + cell("started") + cell(s.started_at) + "</tr>\n";
  h += "<tr>" + cell("duration") + cell(seconds(s.duration_s) + " s") + "</tr>\n";
  if (s.users) {
    std::string users = std::to_string(s.users->requested) + " requested, " + std::to_string(s.users->created) + " created by this run";
    if (s.users->started) users += fmt::format(", {} servers started, {} ready", *s.users->started, s.users->ready.value_or(0));
    h += "<tr>" + cell("users") + cell(users) + "</tr>\n";
  }
  h += "<tr>" + cell("status") + cell(s.run.status + (s.run.error.empty() ? "" : ": " + s.run.error)) + "</tr>\n";
  if (!s.run.command_line.empty()) h += "<tr>" + cell("command") + "<td><code>" + esc(s.run.command_line) + "</code></td></tr>\n";
  if (!s.run.run_id.empty()) h += "<tr>" + cell("run") + cell(s.run.run_id) + "</tr>\n";
  if (s.run.shard) {
    const ShardInfo& sh = *s.run.shard;
    std::string shard = fmt::format("{}/{} of a test of {} users", sh.index, sh.count, sh.total_count);
    if (!sh.start_at.empty()) {
      shard += "; --start-at " + sh.start_at + (sh.start_late_s > 0 ? ", began " + seconds(sh.start_late_s) + " s late" : ", began on time");
    }
    h += "<tr>" + cell("shard") + cell(shard) + "</tr>\n";
  }
  h += "<tr>" + cell("tool") + cell("hub-stress-test " + s.run.tool_version) + "</tr>\n";
  h += "</table>\n";
  h += thresholds_section(s);
  h += shards_section(s);
  h += dashboard(s);

  if (!s.phases.empty()) {
    h += "<h2>Phases</h2>\n<table>\n" + header_row({"phase", "seconds"});
    for (const auto& p : s.phases) h += "<tr>" + cell(p.name) + cell(seconds(p.seconds), true) + "</tr>\n";
    h += "</table>\n";
  }

  h += "<h2>API calls</h2>\n" + api_table(s);

  if (s.spawn) h += spawn_section(*s.spawn);
  h += throttle_section(s);
  if (s.activity) h += activity_section(*s.activity);
  if (s.journey) h += journey_section(*s.journey);
  if (s.hub) h += hub_section(*s.hub);
  h += fmt::format("<p class=\"note\">{} version {}; the same numbers are in the JSON report.</p>\n", kReportSchema,
                   kReportSchemaVersion);
  // Once the browser has laid the page out, each chart records the size of what it drew
  // (data-drawn="WxH" in px): automated checks read it from the rendered DOM. Inline, no network.
  h += "<script>document.querySelectorAll('svg.chart').forEach(function (svg) {"
       "var w = 0, h = 0; svg.querySelectorAll('.data, .bar').forEach(function (e) {"
       "var b = e.getBBox(); w = Math.max(w, b.width); h = Math.max(h, b.height); });"
       "svg.setAttribute('data-drawn', Math.round(w) + 'x' + Math.round(h)); });</script>\n";
  return h + "</body>\n</html>\n";
}

} // namespace hubstress
