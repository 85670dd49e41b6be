// The charts of the HTML report over the run's time axis: inline SVG, drawn here, no script.
#include "html_svg.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace hubstress::html_detail {

using namespace svg;

namespace {

using report_detail::seconds;

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
    if (s.capacity && p.name == "journeys") {  // a capacity search: its stages are the bands
      for (const auto& st : s.capacity->stages) {
        if (st.verdict == to_string(StageVerdict::pending) && st.arrived == 0) continue;
        a.phases.push_back({fmt::format("stage {} {} {}", st.number, format_rate(st.rate_per_min), st.verdict), st.end_s - st.start_s, st.start_s});
      }
      continue;
    }
    a.phases.push_back(p);
  }
  return a;
}

constexpr double kTW = 1000, kTH = 260, kTL = 64, kTR = 16, kTT = 36, kTB = 44;
constexpr double kTLegend = 180;  // the legend's column, right of the plot
constexpr double kTPH = kTH - kTT - kTB;

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
  // the legend in a column of its own right of the plot, never over the data or the bands' labels
  const bool legend = series.size() > 1 || reference;
  const double plot_w = kTW - kTL - (legend ? kTLegend : kTR);
  const double height = std::max(kTH, kTT + 14.0 * static_cast<double>(series.size()) + 8);
  auto px = [&](double x) { return kTL + std::clamp(x / axis.x_max, 0.0, 1.0) * plot_w; };
  auto py = [&](double y) { return kTT + kTPH - std::clamp(y / y_max, 0.0, 1.0) * kTPH; };
  std::string s = fmt::format("<svg id=\"{}\" class=\"chart timechart\" data-x-max=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
                              "aria-label=\"{}\">\n<title>{}</title>\n",
                              id, tick(axis.x_max), kTW, height, esc(title), esc(title));
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
                     num(kTL), num(y), num(kTL + plot_w), num(y), num(kTL - 6), num(y + 4), tick(v));
  }
  for (double t = 0; t <= axis.x_max + 1e-9; t += axis.tick) {
    s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(px(t)), num(kTT + kTPH + 16), tick(t));
  }
  s += fmt::format("\n<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/><line class=\"axis\" x1=\"{0}\" y1=\"{2}\" "
                   "x2=\"{3}\" y2=\"{2}\"/>\n",
                   num(kTL), num(kTT), num(kTT + kTPH), num(kTL + plot_w));
  s += fmt::format("<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n"
                   "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds since the run started</text>\n",
                   num(kTT + kTPH / 2), esc(y_label), num(kTL + plot_w / 2), num(kTT + kTPH + kTB - 6));
  if (reference) {
    s += fmt::format("<line class=\"reference\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text class=\"tick\" x=\"{}\" y=\"{}\" "
                     "text-anchor=\"end\">{}</text>\n",
                     num(kTL), num(py(*reference)), num(kTL + plot_w), num(py(*reference)), num(kTL + plot_w - 4), num(py(*reference) - 4),
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
    if (legend) {
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" style=\"fill:{}\"/><text class=\"tick\" x=\"{}\" y=\"{}\">{}</text>\n",
                       num(kTL + plot_w + 12), num(kTT + 4 + 14 * static_cast<double>(k)), colour, num(kTL + plot_w + 26),
                       num(kTT + 13 + 14 * static_cast<double>(k)), esc(sr.name));
    }
  }
  return s + "</svg>\n";
}

// Requests and errors per second, and p95 latency per second, by kind of call.
std::string request_charts(const Summary& s, const TimeAxis& axis) {
  std::string h;
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
  return h;
}

// Servers ready and pending (this run's), and running (the hub's count).
std::string servers_chart(const Summary& s, const TimeAxis& axis) {
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
  return servers.empty() ? no_data("No server became ready: nothing to plot over time.")
                         : time_chart("chart-ready", "Servers", "servers", "servers", axis, servers, 5);
}

// Students in each step of their journey, per second.
std::string students_chart(const Summary& s, const TimeAxis& axis) {
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
    if (sr.name == "ready") sr.name = "ready (includes spawn)";
    if (any) steps.push_back(std::move(sr));
  }
  // spawn lies within ready: drawn after it, so that it is not hidden under it
  const auto spawn = std::find_if(steps.begin(), steps.end(), [](const TimeSeries& t) { return t.name == "spawn"; });
  const auto ready = std::find_if(steps.begin(), steps.end(), [](const TimeSeries& t) { return t.name.rfind("ready", 0) == 0; });
  if (spawn != steps.end() && ready != steps.end() && spawn < ready) std::rotate(spawn, spawn + 1, ready + 1);
  return steps.empty() ? no_data("No student completed a step: nothing to plot over time.")
                       : time_chart("chart-steps", "Students in each step, per second", "students", "students", axis, steps, 5) +
                             "<p class=\"note\">A student is in one step at a time, but for spawn: ready runs from the start "
                             "request to the ready event, so a student whose start request is not answered yet is in both.</p>\n";
}

// The hub's CPU, memory and event-loop interval, from its /hub/metrics.
std::string hub_charts(const Summary& s, const TimeAxis& axis) {
  std::string h;
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
  return h;
}

} // namespace

std::string dashboard(const Summary& s) {
  const TimeAxis axis = time_axis(s);
  std::string h = "<h2>Over time</h2>\n<p class=\"note\">Every chart below runs on one time axis, seconds since the run "
                  "started; the bands are the run's phases. Hover a point for its value.</p>\n";
  h += request_charts(s, axis);
  if (s.spawn) h += servers_chart(s, axis);
  if (s.journey) h += students_chart(s, axis);
  if (s.hub) h += hub_charts(s, axis);
  return h;
}

} // namespace hubstress::html_detail
