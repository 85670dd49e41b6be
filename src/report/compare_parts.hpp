#pragma once
// What compare.cpp (reading and judging) and compare_render.cpp (terminal and HTML) share.
#include "hubstress/report/compare.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string>

namespace hubstress::compare_detail {

// A value as compare shows it in its unit: seconds to the millisecond, percent and MB to 0.1.
inline std::string value(const std::optional<double>& v, const std::string& unit) {
  if (!v) return "-";
  if (std::isinf(*v)) return "no bound";  // an end of an interval that too few values cannot bound
  if (unit.empty() || unit == "/min") return fmt::format("{:g}", *v);
  if (unit == "%" || unit == "MB") return fmt::format("{:.1f}", *v);
  return fmt::format("{:.3f}", *v);
}

// "+12.5 %", "0.0 %", "+3" (from 0), "=".
inline std::string change(const CompareRow& r) {
  if (r.a && r.b && value(r.a, r.unit) == value(r.b, r.unit)) return "=";  // equal as shown
  const auto c = r.change_pct();
  if (c) return std::fabs(*c) < 0.05 ? "0.0 %" : fmt::format("{:+.1f} %", *c);
  if (r.a && r.b) return *r.a == *r.b ? "=" : fmt::format("{:+g}", *r.b - *r.a);
  return "";
}

inline std::string metric_with_unit(const CompareRow& r) { return r.unit.empty() ? r.metric : r.metric + " (" + r.unit + ")"; }

// "12", "12 / 6": the sample sizes behind a row, when it has them.
inline std::string samples(const CompareRow& r) {
  if (!r.n_a && !r.n_b) return "";
  auto n = [](const std::optional<std::size_t>& x) { return x ? std::to_string(*x) : std::string("-"); };
  return r.n_a == r.n_b ? n(r.n_a) : n(r.n_a) + " / " + n(r.n_b);
}

} // namespace hubstress::compare_detail
