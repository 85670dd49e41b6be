#pragma once
// Retry policy of the session: which answers are retried and how long to wait. Pure functions.
#include <optional>
#include <string_view>

namespace hubstress {

enum class Outcome;

struct RetryPolicy {
  int max_retries = 4;          // retries after the first attempt (5 attempts in all)
  double base_delay_s = 0.5;    // back-off before retry k (0-based) is base * 2^k, plus jitter
  double max_delay_s = 30.0;    // no single wait is longer, Retry-After included
  double jitter_fraction = 0.5; // up to this fraction of the back-off is added at random
};

// True for the answers SPEC §1 retries: 429, 502, 503, 504 and transport failures.
bool is_retryable(Outcome outcome, int status);

// Seconds to wait before retry number `retry` (0 = first retry); `jitter01` is a number in [0, 1).
// A Retry-After from the hub wins when it asks for longer than the back-off.
double retry_delay(const RetryPolicy& policy, int retry, double jitter01,
                   std::optional<double> retry_after_s);

// Parses a Retry-After header value in seconds ("30"); HTTP dates are not used by JupyterHub.
std::optional<double> parse_retry_after(std::string_view value);

} // namespace hubstress
