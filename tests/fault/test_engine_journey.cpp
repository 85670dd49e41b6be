// A student's journey (SPEC §6) written as one coroutine that reads as straight-line code, run
// against a fake hub on loopback: form login with XSRF, spawn, the progress stream up to the
// ready event (its arrival time is the spawn's ready time), the server's status through the
// "proxy" with 503s retried, a kernel, execute_request over the kernel's WebSocket, teardown.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/engine/ws.hpp"

#include "../support/engine_testing.hpp"
#include "../support/loopback_http.hpp"
#include "../support/ws_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>

namespace engine = hubstress::engine;
using hubstress::testing::LoopbackHttp;
using hubstress::testing::run_flow;
using hubstress::testing::WsServer;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Journey {
  std::string failed;                      // empty when every step worked
  engine::Clock::time_point spawn_requested{};
  engine::Clock::time_point ready{};       // when the progress stream's ready event arrived
  int status_attempts = 0;
  std::string output;                      // what the code printed
  std::string reply_status;                // execute_reply's content.status
  bool kernel_deleted = false;
};

Journey failed(Journey j, std::string why) {
  j.failed = std::move(why);
  return j;
}

std::string execute_request(const std::string& msg_id, const std::string& code) {
  return json{{"header", {{"msg_id", msg_id}, {"username", "alice"}, {"session", "s1"},
                          {"msg_type", "execute_request"}, {"version", "5.3"}, {"date", "2026-01-01T00:00:00Z"}}},
              {"parent_header", json::object()},
              {"metadata", json::object()},
              {"content", {{"code", code}, {"silent", false}, {"store_history", true},
                           {"user_expressions", json::object()}, {"allow_stdin", false}, {"stop_on_error", true}}},
              {"channel", "shell"}}
      .dump();
}

// The flow itself: every step is one await, with its own timeout, all under one stop token.
engine::Task<Journey> student_journey(engine::Client& user, std::string kernel_ws_base, std::stop_token stop) {
  Journey j;
  co_await user.send(engine::Request::get("/hub/login"), stop);
  // (built before the await: GCC 12 cannot keep a braced list of string literals across one)
  const auto form = engine::Request::post_form("/hub/login?next=%2Fhub%2F", {{"username", "alice"}, {"password", "any"}});
  auto login = co_await user.send(form, stop);
  if (login.status != 302) co_return failed(std::move(j), "login: " + login.describe());

  j.spawn_requested = engine::Clock::now();
  auto spawn = co_await user.send(engine::Request::post_json("/hub/api/users/alice/server", "{}"), stop);
  if (spawn.status != 201 && spawn.status != 202) co_return failed(std::move(j), "spawn: " + spawn.describe());
  auto progress = co_await user.open_stream(engine::Request::get("/hub/api/users/alice/server/progress"), stop);
  while (j.ready == engine::Clock::time_point{}) {
    auto next = co_await progress.next(60s, stop);
    if (!next) co_return failed(std::move(j), std::string("progress: ") + engine::to_string(next.errc));
    const auto event = json::parse(next.event.data, nullptr, false);
    if (event.value("failed", false)) co_return failed(std::move(j), "spawn failed: " + event.value("message", ""));
    if (event.value("ready", false)) j.ready = next.event.arrived;
  }

  for (;;) { // right after ready the proxy may not have the route yet: 503, retried
    ++j.status_attempts;
    auto status = co_await user.send(engine::Request::get("/user/alice/api/status"), stop);
    if (status.ok()) break;
    if (status.status != 503 || j.status_attempts == 20) co_return failed(std::move(j), "status: " + status.describe());
    co_await engine::sleep(20ms, stop);
  }

  auto kernel = co_await user.send(engine::Request::post_json("/user/alice/api/kernels", R"({"name": "python3"})"), stop);
  if (kernel.status != 201) co_return failed(std::move(j), "kernel: " + kernel.describe());
  const std::string id = json::parse(kernel.body).value("id", "");
  auto channels = co_await engine::WebSocket::connect(
      user, kernel_ws_base + "/user/alice/api/kernels/" + id + "/channels?session_id=s1", 10s, stop);
  if (!channels) co_return failed(std::move(j), "channels: " + channels.opened().reason);
  if (!co_await channels.send(execute_request("run-1", "print('hello')"), 5s, stop)) co_return failed(std::move(j), "send: not sent");
  while (j.reply_status.empty()) {
    auto message = co_await channels.receive(30s, stop);
    if (!message) co_return failed(std::move(j), "execute: " + message.reason);
    const auto reply = json::parse(message.text, nullptr, false);
    if (reply.value(json::json_pointer("/parent_header/msg_id"), std::string()) != "run-1") continue;
    const std::string type = reply.value(json::json_pointer("/header/msg_type"), std::string());
    if (type == "stream") j.output += reply["content"].value("text", "");
    if (type == "execute_reply") j.reply_status = reply["content"].value("status", "");
  }
  co_await channels.close(5s, stop);
  j.kernel_deleted = (co_await user.send(engine::Request::del("/user/alice/api/kernels/" + id), stop)).status == 204;
  co_return j;
}

} // namespace

TEST(EngineJourney, AStudentFlowReadsAsStraightLineCode) {
  const std::string hub_xsrf = "2|aa|bb|1";
  const std::string server_xsrf = "2|cc|dd|2";
  std::atomic<int> status_calls{0};
  std::atomic<bool> unauthorised{false};
  auto has = [](const httplib::Request& req, const std::string& cookie) {
    return req.get_header_value("Cookie").find(cookie) != std::string::npos;
  };
  LoopbackHttp hub([&](httplib::Server& s) {
    s.Get("/hub/login", [&](const httplib::Request&, httplib::Response& res) {
      res.set_header("Set-Cookie", "_xsrf=" + hub_xsrf + "; Path=/hub/");
      res.set_content("<form></form>", "text/html");
    });
    s.Post("/hub/login", [&](const httplib::Request& req, httplib::Response& res) {
      if (req.get_param_value("_xsrf") != hub_xsrf) return void(res.status = 403);
      res.set_header("Set-Cookie", "jupyterhub-session-id=sess; Path=/hub/");
      res.set_redirect("/hub/", 302);
    });
    s.Post("/hub/api/users/alice/server", [&](const httplib::Request& req, httplib::Response& res) {
      if (!has(req, "jupyterhub-session-id=sess") || req.get_header_value("X-XSRFToken") != hub_xsrf) {
        unauthorised = true;
        return void(res.status = 403);
      }
      res.status = 202;
    });
    s.Get("/hub/api/users/alice/server/progress", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream", [](size_t, httplib::DataSink& sink) {
        const std::string events = "data: {\"progress\": 50, \"message\": \"starting\"}\n\n"
                                   "data: {\"progress\": 100, \"ready\": true, \"url\": \"/user/alice/\"}\n\n";
        sink.write(events.data(), events.size());
        sink.done();
        return true;
      });
    });
    s.Get("/user/alice/api/status", [&](const httplib::Request&, httplib::Response& res) {
      if (++status_calls <= 2) return void(res.status = 503); // the proxy has no route yet
      res.set_header("Set-Cookie", "_xsrf=" + server_xsrf + "; Path=/user/alice/");
      res.set_content(R"({"started": "2026-01-01T00:00:00Z"})", "application/json");
    });
    s.Post("/user/alice/api/kernels", [&](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("X-XSRFToken") != server_xsrf) return void(res.status = 403);
      res.status = 201;
      res.set_content(R"({"id": "k-42", "name": "python3"})", "application/json");
    });
    s.Delete("/user/alice/api/kernels/k-42", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  });
  WsServer kernel;
  engine::Loop loop;
  engine::ClientOptions options;
  options.base_url = hub.url();
  engine::Client alice(loop, options);
  Journey journey;
  std::string kernel_base = kernel.url("");
  run_flow(loop, [&]() -> engine::Task<void> { journey = co_await student_journey(alice, kernel_base, std::stop_token()); });
  EXPECT_EQ(journey.failed, "");
  EXPECT_FALSE(unauthorised.load());
  EXPECT_GE(journey.ready, journey.spawn_requested);
  EXPECT_EQ(journey.status_attempts, 3);
  EXPECT_EQ(journey.output, "hello\n");
  EXPECT_EQ(journey.reply_status, "ok");
  EXPECT_TRUE(journey.kernel_deleted);
  EXPECT_EQ(kernel.connections(), 1);
}
