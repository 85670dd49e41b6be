// libFuzzer target: everything that reads what a hub sends. The input becomes the body (and the
// first byte the status) of every answer a session gets, and the user-management functions and
// parsers run on it. They may fail with HubError/AuthError/invalid_argument; they must not crash,
// hang, or read out of bounds.
#include "hubstress/engine/sse.hpp"
#include "hubstress/hub/errors.hpp"
#include "hubstress/model/hub_metrics.hpp"
#include "hubstress/log.hpp"
#include "hubstress/scenarios/stress.hpp"
#include "hubstress/hub/users.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>

using namespace hubstress;

namespace {

const int kStatuses[] = {200, 201, 202, 204, 400, 403, 404, 409, 429, 500, 503};

void quiet_logs() {
  static bool done = false;
  if (done) return;
  spdlog::drop(kLoggerName);
  spdlog::register_logger(std::make_shared<spdlog::logger>(kLoggerName, std::make_shared<spdlog::sinks::null_sink_mt>()));
  done = true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  quiet_logs();
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int status = kStatuses[data[0] % std::size(kStatuses)];

  engine::SseParser progress;  // a progress stream, as the spawn phase reads it
  for (const auto& event : progress.feed(body)) progress_verdict(event.data);
  parse_prometheus(body);
  const auto parsed = nlohmann::json::parse(body, nullptr, false);
  try {
    parse_user_page(parsed);
  } catch (const HubError&) {
  }

  SessionOptions o;
  o.endpoint = "http://127.0.0.1:9/hub/api";
  o.token = "fuzz-token";
  o.retry.max_retries = 1;
  o.retry.base_delay_s = 0;
  o.retry.max_delay_s = 0;
  o.stand_in.http = [&](const engine::Request& req) {
    engine::Answer r;
    if (req.method == "DELETE") {
      r.status = 204;  // stops and deletes succeed: waiting out a stop deadline would only slow the fuzzer
      return r;
    }
    r.status = status;
    r.body = body;
    return r;
  };
  Session session(o);
  try {
    find_existing_stress_test_users(session);
  } catch (const HubError&) {
  }
  try {
    create_users(3, 2, session, {"hub-stress-test-7"});
  } catch (const HubError&) {
  }
  try {
    delete_users({"hub-stress-test-1", "hub-stress-test-2"}, session, 2, 0.0);
  } catch (const HubError&) {
  }
  try {
    SpawnStats stats;
    start_servers(session, {"hub-stress-test-1", "hub-stress-test-2"}, 2, "", 0.05, stats);
  } catch (const HubError&) {
  }
  return 0;
}
