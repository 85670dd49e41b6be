#pragma once
// The SVG primitives every chart of the HTML report draws with (html_charts.cpp: the charts over
// time; html_bars.cpp: bars and the capacity charts). Private to src/report.
#include "html_parts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace hubstress::html_detail::svg {

struct Point {
  double x = 0, y = 0;
};

constexpr double kWidth = 640, kHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 32, kBottom = 48;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
constexpr std::size_t kTicks = 5;
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                    "#bcbd22", "#17becf", "#393b79", "#637939"};
constexpr std::size_t kMaxPoints = 2000;  // more would only make the file bigger, not the chart clearer

// The smallest 1, 2 or 5 times a power of ten that is >= v: an axis end people can read.
inline double nice_ceiling(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (const double step : {1.0, 2.0, 5.0, 10.0}) {
    if (v <= step * magnitude * (1 + 1e-9)) return step * magnitude;
  }
  return 10 * magnitude;
}

inline std::string num(double v) { return fmt::format("{:.1f}", v); }
inline std::string tick(double v) { return fmt::format("{:g}", std::round(v * 1e6) / 1e6); }

// Keeps at most kMaxPoints, evenly spread, always the first and the last.
inline std::vector<Point> thin(std::vector<Point> points) {
  if (points.size() <= kMaxPoints) return points;
  std::vector<Point> out;
  const double stride = static_cast<double>(points.size() - 1) / static_cast<double>(kMaxPoints - 1);
  for (std::size_t i = 0; i < kMaxPoints; ++i) out.push_back(points[static_cast<std::size_t>(std::round(static_cast<double>(i) * stride))]);
  return out;
}

// The frame every chart shares: title, y grid with ticks, axes and their labels; `width` in SVG units.
inline std::string frame_open(const std::string& id, const std::string& title, const std::string& y_label, double y_max, double width = kWidth) {
  const double plot_w = width - kLeft - kRight;
  std::string s = fmt::format(
      "<svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">\n"
      "<title>{}</title>\n<text class=\"chart-title\" x=\"{}\" y=\"18\">{}</text>\n",
      id, width, kHeight, width, kHeight, esc(title), esc(title), num(kLeft), esc(title));
  for (std::size_t i = 0; i <= kTicks; ++i) {
    const double v = y_max * static_cast<double>(i) / kTicks;
    const double y = kTop + kPlotH - kPlotH * static_cast<double>(i) / kTicks;
    s += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>"
                     "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                     num(kLeft), num(y), num(kLeft + plot_w), num(y), num(kLeft - 6), num(y + 4), tick(v));
  }
  s += fmt::format("<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>"
                   "<line class=\"axis\" x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\"/>\n",
                   num(kLeft), num(kTop), num(kTop + kPlotH), num(kLeft + plot_w));
  s += fmt::format("<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   num(kTop + kPlotH / 2), esc(y_label));
  return s;
}

inline std::string x_label(const std::string& label, double width = kWidth) {
  return fmt::format("<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(kLeft + (width - kLeft - kRight) / 2),
                     num(kHeight - 8), esc(label));
}

inline std::string value_text(double v) { return std::fabs(v) >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v); }

} // namespace hubstress::html_detail::svg
