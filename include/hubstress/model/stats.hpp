#pragma once
// Statistics as pure functions: one written definition of each percentile.
#include <cstddef>
#include <string>
#include <vector>

namespace hubstress {

// Nearest-rank percentile: the smallest value v such that at least p% of the values are <= v.
// p in [0, 100]; p = 0 gives the minimum. Empty input gives 0.
double percentile(std::vector<double> values, double p);

struct Distribution {
  std::size_t count = 0;  // number of values
  double min = 0, mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;  // same unit as the values
};
Distribution summarize(const std::vector<double>& values);

// The distribution-free 95 % confidence interval of the p-th percentile of n values, as ranks of
// the sorted values (1 = smallest): the population's percentile lies between the lower-th and the
// upper-th value with at least 95 % (binomial: K ~ Bin(n, p/100) of the values fall below it; past
// 2000 values, its normal approximation). lower 0 means unbounded below, upper n + 1 unbounded
// above: too few values to bound that side (p95 of 12 values has no upper bound).
struct RankInterval {
  std::size_t lower = 0, upper = 0;
};
RankInterval percentile_rank_interval(std::size_t n, double p);

// Wilson score interval of a proportion k/n at about 95 % (z = 1.96), in percent; {0, 100} when n is 0.
struct PercentInterval {
  double low = 0, high = 100;
};
PercentInterval proportion_interval(std::size_t k, std::size_t n);

// "n=12 min=0.101 avg=0.250 p50=0.200 p95=0.700 max=0.900 s"
std::string format_distribution(const Distribution& d, const std::string& unit = "s");

} // namespace hubstress
