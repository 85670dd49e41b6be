#pragma once
// A RequestRecord in one line, for the tests of everything built from records.
#include "hubstress/hub/session.hpp"
#include "hubstress/report/summary.hpp"

#include <string>

inline hubstress::RequestRecord make_record(std::string method, std::string route, long status, double latency_s,
                                            double start_s = 0, int retries = 0,
                                            hubstress::Outcome outcome = hubstress::Outcome::ok) {
  hubstress::RequestRecord r;
  r.kind = hubstress::classify_request(method, route);
  r.method = std::move(method);
  r.route = std::move(route);
  r.status = status;
  r.outcome = outcome;
  r.start_s = start_s;
  r.latency_s = latency_s;
  r.total_s = latency_s;
  r.retries = retries;
  return r;
}
