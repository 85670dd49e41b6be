#include "hubstress/model/stats.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace hubstress {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double clamped = std::clamp(p, 0.0, 100.0);
  const auto rank = static_cast<std::size_t>(std::ceil(clamped / 100.0 * static_cast<double>(values.size())));
  return values[rank == 0 ? 0 : rank - 1];
}

Distribution summarize(const std::vector<double>& values) {
  Distribution d;
  d.count = values.size();
  if (values.empty()) return d;
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  d.min = sorted.front();
  d.max = sorted.back();
  d.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(sorted.size());
  d.p50 = percentile(sorted, 50);
  d.p90 = percentile(sorted, 90);
  d.p95 = percentile(sorted, 95);
  d.p99 = percentile(sorted, 99);
  return d;
}

std::string format_distribution(const Distribution& d, const std::string& unit) {
  if (d.count == 0) return "n=0";
  return fmt::format("n={} min={:.3f} avg={:.3f} p50={:.3f} p95={:.3f} max={:.3f} {}", d.count, d.min, d.mean, d.p50,
                     d.p95, d.max, unit);
}

} // namespace hubstress
