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

// "n=12 min=0.101 avg=0.250 p50=0.200 p95=0.700 max=0.900 s"
std::string format_distribution(const Distribution& d, const std::string& unit = "s");

} // namespace hubstress
