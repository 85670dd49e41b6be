#include "hubstress/model/stats.hpp"

#include <gtest/gtest.h>

using namespace hubstress;

TEST(Percentile, NearestRank) {
  const std::vector<double> v{15, 20, 35, 40, 50};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 15);
  EXPECT_DOUBLE_EQ(percentile(v, 5), 15);
  EXPECT_DOUBLE_EQ(percentile(v, 30), 20);
  EXPECT_DOUBLE_EQ(percentile(v, 40), 20);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 35);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 50);
}

TEST(Percentile, UnsortedInputAndEmpty) {
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2}, 50), 2);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0);
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7);
}

TEST(Percentile, HundredValues) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  EXPECT_DOUBLE_EQ(percentile(v, 95), 95);
  EXPECT_DOUBLE_EQ(percentile(v, 99), 99);
  EXPECT_DOUBLE_EQ(percentile(v, 99.5), 100);
}

TEST(Summarize, AllFields) {
  const Distribution d = summarize({4, 1, 3, 2});
  EXPECT_EQ(d.count, 4u);
  EXPECT_DOUBLE_EQ(d.min, 1);
  EXPECT_DOUBLE_EQ(d.max, 4);
  EXPECT_DOUBLE_EQ(d.mean, 2.5);
  EXPECT_DOUBLE_EQ(d.p50, 2);
  EXPECT_DOUBLE_EQ(d.p95, 4);
  EXPECT_EQ(summarize({}).count, 0u);
  EXPECT_EQ(format_distribution(summarize({})), "n=0");
}

// The README's definition: the smallest value that at least p % of the values do not exceed, i.e. the
// value at rank ceil(p/100 * n) (1-based) of the sorted values. The expectations below are worked out
// by hand from that definition, on ranks whose fraction is below .5 where rounding would differ.
TEST(Percentile, RankIsRoundedUpEvenBelowOneHalf) {
  std::vector<double> v;
  for (int i = 1; i <= 7; ++i) v.push_back(i * 10);  // 10 .. 70
  // p90 of 7: 6.3 -> rank 7 (6 values, 85.7 %, are not enough)
  EXPECT_DOUBLE_EQ(percentile(v, 90), 70);
  // p40 of 7: 2.8 -> rank 3; p30: 2.1 -> rank 3; p10: 0.7 -> rank 1
  EXPECT_DOUBLE_EQ(percentile(v, 40), 30);
  EXPECT_DOUBLE_EQ(percentile(v, 30), 30);
  EXPECT_DOUBLE_EQ(percentile(v, 10), 10);
  // p15 of 7: 1.05 -> rank 2
  EXPECT_DOUBLE_EQ(percentile(v, 15), 20);
}

TEST(Summarize, P90AndP99RoundUp) {
  // 17 values 1..17, shuffled: p50 8.5 -> 9; p90 15.3 -> 16; p95 16.15 -> 17; p99 16.83 -> 17
  const std::vector<double> seventeen{5, 17, 1, 9, 13, 2, 16, 8, 3, 12, 15, 4, 11, 6, 14, 10, 7};
  const Distribution a = summarize(seventeen);
  EXPECT_EQ(a.count, 17u);
  EXPECT_DOUBLE_EQ(a.p50, 9);
  EXPECT_DOUBLE_EQ(a.p90, 16);
  EXPECT_DOUBLE_EQ(a.p95, 17);
  EXPECT_DOUBLE_EQ(a.p99, 17);
  EXPECT_DOUBLE_EQ(a.mean, 9);

  // 60 values 0.1..6.0: p50 30 -> 3.0; p90 54 -> 5.4; p95 57 -> 5.7; p99 59.4 -> rank 60 = 6.0
  std::vector<double> sixty;
  for (int i = 60; i >= 1; --i) sixty.push_back(i / 10.0);
  const Distribution b = summarize(sixty);
  EXPECT_DOUBLE_EQ(b.min, 0.1);
  EXPECT_DOUBLE_EQ(b.p50, 3.0);
  EXPECT_DOUBLE_EQ(b.p90, 5.4);
  EXPECT_DOUBLE_EQ(b.p95, 5.7);
  EXPECT_DOUBLE_EQ(b.p99, 6.0);
  EXPECT_DOUBLE_EQ(b.max, 6.0);
}
