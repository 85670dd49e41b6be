#include "hubstress/hub/retry.hpp"

#include "hubstress/hub/client.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace hubstress {

bool is_retryable(Outcome outcome, int status) {
  switch (outcome) {
  case Outcome::ok: return status == 429 || status == 502 || status == 503 || status == 504;
  case Outcome::timeout:
  case Outcome::connect_failed:
  case Outcome::transport_failed: return true;
  case Outcome::dns_failed:   // a name that does not resolve will not resolve in a second either
  case Outcome::tls_failed: return false;  // nor will a certificate fix itself
  case Outcome::interrupted:
  case Outcome::hub_down: return false;    // ended on purpose, not by the network
  }
  return false;
}

double retry_delay(const RetryPolicy& policy, int retry, double jitter01,
                   std::optional<double> retry_after_s) {
  const double backoff = policy.base_delay_s * std::pow(2.0, std::max(retry, 0));
  const double jittered = backoff * (1.0 + policy.jitter_fraction * std::clamp(jitter01, 0.0, 1.0));
  const double wanted = std::max(jittered, retry_after_s.value_or(0.0));
  return std::min(wanted, policy.max_delay_s);
}

std::optional<double> parse_retry_after(std::string_view value) {
  const auto first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return std::nullopt;
  }
  value.remove_prefix(first);
  const auto last = value.find_last_not_of(" \t\r\n");
  value = value.substr(0, last + 1);
  if (value.empty() || value.size() > 9 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stod(std::string(value));
}

} // namespace hubstress
