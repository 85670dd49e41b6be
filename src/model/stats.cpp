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

RankInterval percentile_rank_interval(std::size_t n, double p) {
  const double q = std::clamp(p / 100.0, 0.0, 1.0), tail = 0.025;
  RankInterval r{0, n + 1};
  if (n == 0) return r;
  const double nn = static_cast<double>(n);
  if (n > 2000) {  // the binomial sum would cost O(n) per percentile; the normal approximation is close here
    const double mean = nn * q, spread = 1.96 * std::sqrt(nn * q * (1 - q));
    const double lower = std::floor(mean - spread), upper = std::ceil(mean + spread) + 1;
    r.lower = lower < 1 ? 0 : static_cast<std::size_t>(lower);
    r.upper = upper > nn ? n + 1 : static_cast<std::size_t>(upper);
    return r;
  }
  // P(K <= k) for K ~ Bin(n, q), summed from log-probabilities so that large n does not overflow.
  double below = 0;  // P(K <= k - 1)
  for (std::size_t k = 0; k <= n; ++k) {
    const double kk = static_cast<double>(k);
    double pmf = 0;
    if (q <= 0) pmf = k == 0 ? 1 : 0;
    else if (q >= 1) pmf = k == n ? 1 : 0;
    else pmf = std::exp(std::lgamma(nn + 1) - std::lgamma(kk + 1) - std::lgamma(nn - kk + 1) + kk * std::log(q) + (nn - kk) * std::log1p(-q));
    // The value of rank k + 1 is below the percentile when K >= k + 1; lower is the highest rank
    // with P(K < lower) <= tail, upper the lowest with P(K >= upper) <= tail.
    if (below + pmf <= tail) r.lower = k + 1;
    below += pmf;
    if (1.0 - below <= tail && k + 1 <= n) {
      r.upper = k + 1;
      break;
    }
  }
  return r;
}

PercentInterval proportion_interval(std::size_t k, std::size_t n) {
  if (n == 0) return {};
  const double z = 1.96, nn = static_cast<double>(n), ph = static_cast<double>(std::min(k, n)) / nn;
  const double centre = (ph + z * z / (2 * nn)) / (1 + z * z / nn);
  const double half = z / (1 + z * z / nn) * std::sqrt(ph * (1 - ph) / nn + z * z / (4 * nn * nn));
  return {std::max(0.0, centre - half) * 100, std::min(1.0, centre + half) * 100};
}

std::string format_distribution(const Distribution& d, const std::string& unit) {
  if (d.count == 0) return "n=0";
  return fmt::format("n={} min={:.3f} avg={:.3f} p50={:.3f} p95={:.3f} max={:.3f} {}", d.count, d.min, d.mean, d.p50,
                     d.p95, d.max, unit);
}

} // namespace hubstress
