#include "hubstress/hub/client.hpp"
#include "hubstress/hub/retry.hpp"

#include <gtest/gtest.h>

using namespace hubstress;

TEST(Retryable, StatusesFromTheSpec) {
  for (int status : {429, 502, 503, 504}) EXPECT_TRUE(is_retryable(Outcome::ok, status)) << status;
  for (int status : {200, 201, 204, 400, 403, 404, 409, 500}) EXPECT_FALSE(is_retryable(Outcome::ok, status)) << status;
}

TEST(Retryable, TransportFailures) {
  EXPECT_TRUE(is_retryable(Outcome::connect_failed, 0));
  EXPECT_TRUE(is_retryable(Outcome::timeout, 0));
  EXPECT_TRUE(is_retryable(Outcome::transport_failed, 0));
  EXPECT_FALSE(is_retryable(Outcome::dns_failed, 0));
  EXPECT_FALSE(is_retryable(Outcome::tls_failed, 0));
}

TEST(RetryDelay, DoublesFromHalfASecond) {
  RetryPolicy p;
  EXPECT_DOUBLE_EQ(retry_delay(p, 0, 0.0, std::nullopt), 0.5);
  EXPECT_DOUBLE_EQ(retry_delay(p, 1, 0.0, std::nullopt), 1.0);
  EXPECT_DOUBLE_EQ(retry_delay(p, 3, 0.0, std::nullopt), 4.0);
}

TEST(RetryDelay, JitterAddsUpToItsFraction) {
  RetryPolicy p;
  EXPECT_DOUBLE_EQ(retry_delay(p, 0, 1.0, std::nullopt), 0.75);
  EXPECT_DOUBLE_EQ(retry_delay(p, 1, 0.5, std::nullopt), 1.25);
}

TEST(RetryDelay, RetryAfterWinsWhenLongerAndIsCapped) {
  RetryPolicy p;
  EXPECT_DOUBLE_EQ(retry_delay(p, 0, 0.0, 3.0), 3.0);
  EXPECT_DOUBLE_EQ(retry_delay(p, 3, 0.0, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(retry_delay(p, 0, 0.0, 59.0), p.max_delay_s);
  EXPECT_DOUBLE_EQ(retry_delay(p, 20, 0.0, std::nullopt), p.max_delay_s);
}

TEST(ParseRetryAfter, Seconds) {
  EXPECT_EQ(parse_retry_after(" 30\r\n"), 30.0);
  EXPECT_EQ(parse_retry_after("0"), 0.0);
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(parse_retry_after("").has_value());
  EXPECT_FALSE(parse_retry_after("-5").has_value());
}

// README: "at most 4 retries", back-off "from 0.5 s", "honouring Retry-After (capped at 30 s)".
// Literal figures from the README, not the policy's own fields.
TEST(RetryPolicyDefaults, AsTheReadmeSays) {
  const RetryPolicy p;
  EXPECT_EQ(p.max_retries, 4);
  EXPECT_DOUBLE_EQ(retry_delay(p, 0, 0.0, std::nullopt), 0.5);
  EXPECT_DOUBLE_EQ(retry_delay(p, 0, 0.0, 29.0), 29.0);
  EXPECT_DOUBLE_EQ(retry_delay(p, 0, 0.0, 45.0), 30.0);
  EXPECT_DOUBLE_EQ(retry_delay(p, 6, 0.0, std::nullopt), 30.0);  // 0.5 * 2^6 = 32 s, capped
  EXPECT_DOUBLE_EQ(retry_delay(p, 5, 0.0, std::nullopt), 16.0);  // under the cap: not capped
}
