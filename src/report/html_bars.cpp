// Bar charts of the HTML report, and the capacity search's charts against the arrival rate.
#include "html_svg.hpp"

#include "common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace hubstress::html_detail {

using namespace svg;

std::string grouped_bar_chart(const std::string& id, const std::string& title, const std::string& xl, const std::string& yl,
                              const std::string& unit, const std::vector<std::string>& labels, const std::vector<BarSeries>& series,
                              double min_y_max) {
  constexpr double kMinSlot = 110;  // room for a label like "time_to_first_result" under its group
  double peak = 0;
  for (const auto& sr : series) {
    for (const auto& v : sr.values) peak = std::max(peak, v.value_or(0));
  }
  const double y_max = std::max(nice_ceiling(peak), min_y_max);
  const double width = series.size() > 1 ? std::max(kWidth, kLeft + kRight + kMinSlot * static_cast<double>(labels.size())) : kWidth;
  const double slot = (width - kLeft - kRight) / static_cast<double>(std::max<std::size_t>(labels.size(), 1));
  const double bar_w = slot * 0.8 / static_cast<double>(std::max<std::size_t>(series.size(), 1));
  std::string s = frame_open(id, title, yl, y_max, width);
  const std::string suffix = unit.empty() ? "" : " " + unit;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double x = kLeft + slot * static_cast<double>(i);
    for (std::size_t k = 0; k < series.size(); ++k) {
      const auto& sr = series[k];
      if (i >= sr.values.size() || !sr.values[i]) continue;  // no value: no bar
      const double h = *sr.values[i] / y_max * kPlotH;
      const std::string name = sr.name.empty() ? esc(labels[i]) : esc(sr.name + " " + labels[i]);
      const std::string style = sr.colour.empty() ? "" : " style=\"fill:" + sr.colour + "\"";
      s += fmt::format("<rect class=\"bar\"{} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {}{}</title></rect>", style,
                       num(x + slot * 0.1 + bar_w * static_cast<double>(k)), num(kTop + kPlotH - h), num(bar_w), num(h), name,
                       value_text(*sr.values[i]), esc(suffix));
    }
    s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(x + slot / 2),
                     num(kTop + kPlotH + 16), esc(labels[i]));
  }
  // The legend on the title's line, right of it (13 px bold is about 7.5 units a character).
  const double legend_x = std::max(kLeft + 7.5 * static_cast<double>(title.size()) + 24, width - kRight - 100 * static_cast<double>(series.size()));
  for (std::size_t k = 0; k < series.size() && series.size() > 1; ++k) {
    const double lx = legend_x + 100 * static_cast<double>(k);
    s += fmt::format("<rect x=\"{}\" y=\"9\" width=\"10\" height=\"10\" style=\"fill:{}\"/><text class=\"tick\" x=\"{}\" y=\"18\">{}</text>\n",
                     num(lx), series[k].colour.empty() ? kPalette[k % std::size(kPalette)] : series[k].colour, num(lx + 14),
                     esc(series[k].name));
  }
  return s + x_label(xl, width) + "</svg>\n";
}

// Bars over named categories.
std::string bar_chart(const std::string& id, const std::string& title, const std::string& xl, const std::string& yl,
                      const std::vector<std::string>& labels, const std::vector<std::size_t>& counts) {
  BarSeries only;
  for (const auto c : counts) only.values.emplace_back(static_cast<double>(c));
  return grouped_bar_chart(id, title, xl, yl, "", labels, {only}, 5.0);  // counts: whole-number ticks
}

std::string capacity_charts(const CapacitySummary& c) {
  struct Row {
    double rate, p50, p95, failed_pct;
    bool has_times;
  };
  std::vector<Row> rows;
  for (const auto& st : c.stages) {
    if (st.verdict == to_string(StageVerdict::pending) || st.arrived == 0) continue;
    Row r{st.rate_per_min, 0, 0, st.failure_rate_pct, false};
    for (const auto& x : st.steps) {
      if (x.name == kTimeToFirstResult && x.seconds.count) r = {st.rate_per_min, x.seconds.p50, x.seconds.p95, st.failure_rate_pct, true};
    }
    rows.push_back(r);
  }
  if (rows.empty()) return no_data("No stage was judged: nothing to plot against the arrival rate.");
  double x_max = 0, y_max = 0;
  for (const auto& r : rows) {
    x_max = std::max(x_max, r.rate);
    y_max = std::max(y_max, r.p95);
  }
  x_max = nice_ceiling(x_max);
  auto px = [&](double x) { return kLeft + std::clamp(x / x_max, 0.0, 1.0) * kPlotW; };
  auto chart = [&](const std::string& id, const std::string& title, const std::string& y_label, double top,
                   const std::vector<std::pair<std::string, std::vector<Point>>>& lines) {
    std::string s = frame_open(id, title, y_label, top);
    for (std::size_t i = 0; i <= kTicks; ++i) {
      const double v = x_max * static_cast<double>(i) / kTicks;
      s += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(px(v)), num(kTop + kPlotH + 16),
                       tick(v));
    }
    if (c.held_rate_per_min) {
      s += fmt::format("<line class=\"reference\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/><text class=\"tick\" x=\"{3}\" "
                       "y=\"{4}\">held {5}</text>\n",
                       num(px(*c.held_rate_per_min)), num(kTop), num(kTop + kPlotH), num(px(*c.held_rate_per_min) + 4), num(kTop + 12),
                       esc(format_rate(*c.held_rate_per_min)));
    }
    for (std::size_t k = 0; k < lines.size(); ++k) {
      const std::string colour = kPalette[k % std::size(kPalette)];
      std::string coords;
      for (const auto& p : lines[k].second) {
        const double y = kTop + kPlotH - std::clamp(p.y / top, 0.0, 1.0) * kPlotH;
        coords += (coords.empty() ? "" : " ") + num(px(p.x)) + "," + num(y);
        s += fmt::format("<circle class=\"dot\" style=\"fill:{}\" cx=\"{}\" cy=\"{}\" r=\"3\"><title>{} at {}: {}</title></circle>", colour,
                         num(px(p.x)), num(y), esc(lines[k].first), esc(format_rate(p.x)), value_text(p.y));
      }
      s += fmt::format("<polyline class=\"data\" style=\"stroke:{}\" points=\"{}\"/>\n", colour, coords);
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" style=\"fill:{}\"/><text class=\"tick\" x=\"{}\" y=\"{}\">{}</text>\n",
                       num(kLeft + 8), num(kTop + 4 + 14 * static_cast<double>(k)), colour, num(kLeft + 22),
                       num(kTop + 13 + 14 * static_cast<double>(k)), esc(lines[k].first));
    }
    return s + x_label("arrival rate, students per minute") + "</svg>\n";
  };
  std::vector<Point> p50, p95, failed;
  for (const auto& r : rows) {
    if (r.has_times) p50.push_back({r.rate, r.p50}), p95.push_back({r.rate, r.p95});
    failed.push_back({r.rate, r.failed_pct});
  }
  double f_max = 0;
  for (const auto& p : failed) f_max = std::max(f_max, p.y);
  std::string h = p95.empty() ? no_data("No student of a judged stage got a first result.")
                              : chart("chart-capacity-ttfr", "Time to first result against the arrival rate", "seconds",
                                      nice_ceiling(y_max), {{"p50", p50}, {"p95", p95}});
  h += chart("chart-capacity-failures", "Students failed before their first result", "% of the stage's students",
             std::max(nice_ceiling(f_max), 5.0), {{"failure rate", failed}});
  return h;
}

std::string no_data(const std::string& what) { return "<p class=\"note\">" + esc(what) + "</p>\n"; }

} // namespace hubstress::html_detail
