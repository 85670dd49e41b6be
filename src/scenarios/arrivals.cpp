// The parts of a journey that are plain data: its metrics, its arrivals, its counts, and the cell
// a student sends.
#include "hubstress/scenarios/journey.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

namespace hubstress {

using nlohmann::json;

const std::vector<JourneyMetric>& journey_metrics() {
  static const std::vector<JourneyMetric> metrics{
      {"login", "form login: GET /hub/login, then the POST answered with its redirect (--auth form only)"},
      {"spawn", "the server's start request answered (POST /hub/api/users/NAME/server, or GET /hub/spawn)"},
      {"ready", "from the start request to the ready event of the spawn's progress stream"},
      {"open", "from ready to the first 200 of the user's server through the proxy (503s and redirects retried)"},
      {"kernel", "POST /user/NAME/api/kernels answered 201, its WebSocket connected and kernel_info_reply came"},
      {"first_result", "the first cell: execute_request sent until its output and execute_reply arrived"},
      {"cell", "each further cell, --think apart"},
      {"time_to_first_result", "from the student's scheduled arrival to the first cell's result"},
  };
  return metrics;
}

const char* to_string(Arrival arrival) { return arrival == Arrival::poisson ? "poisson" : "uniform"; }
const char* to_string(JourneyAuth auth) { return auth == JourneyAuth::token ? "token" : "form"; }

std::vector<double> arrival_offsets(int count, double ramp_up_s, Arrival arrival, std::uint64_t seed, const ArrivalPlace& place) {
  std::vector<double> out(static_cast<std::size_t>(std::max(count, 0)), 0.0);
  if (ramp_up_s <= 0 || out.empty()) return out;
  if (arrival == Arrival::uniform) {
    const double total = place.total > 0 ? static_cast<double>(place.total) : static_cast<double>(out.size());
    const double stride = place.total > 0 ? static_cast<double>(place.count) : 1.0;
    const double first = place.total > 0 ? static_cast<double>(place.index) : 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = ramp_up_s * (first + stride * static_cast<double>(i)) / total;
    return out;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> when(0.0, ramp_up_s);
  for (auto& t : out) t = when(rng);
  std::sort(out.begin(), out.end());
  return out;
}

int JourneyResult::completed() const {
  return static_cast<int>(std::count_if(students.begin(), students.end(), [](const StudentRecord& s) { return s.ok(); }));
}
int JourneyResult::failed() const { return static_cast<int>(students.size()) - completed(); }
int JourneyResult::late_starts() const {
  return static_cast<int>(
      std::count_if(students.begin(), students.end(), [](const StudentRecord& s) { return s.late_s > kLateStart; }));
}

std::string execute_request(const std::string& msg_id, const std::string& session, const std::string& user,
                            const std::string& code) {
  return json{{"header",
               {{"msg_id", msg_id},
                {"username", user},
                {"session", session},
                {"msg_type", "execute_request"},
                {"version", "5.3"},
                {"date", iso8601_utc_now()}}},
              {"parent_header", json::object()},
              {"metadata", json::object()},
              {"content",
               {{"code", code},
                {"silent", false},
                {"store_history", true},
                {"user_expressions", json::object()},
                {"allow_stdin", false},
                {"stop_on_error", true}}},
              {"channel", "shell"}}
      .dump();
}

} // namespace hubstress
