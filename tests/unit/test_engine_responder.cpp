// A client with a responder: every request, stream and WebSocket is answered in the process, on a
// later turn of the loop, and nothing leaves it (the base URL is the discard port: a request that
// went out would fail to connect).
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/ws.hpp"

#include "../support/engine_testing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace engine = hubstress::engine;
using hubstress::testing::run_flow;
using namespace std::chrono_literals;

namespace {

engine::ClientOptions answered_by(engine::Responder responder, std::string token = {}) {
  engine::ClientOptions o;
  o.base_url = "http://127.0.0.1:9";
  o.token = std::move(token);
  o.responder = std::move(responder);
  return o;
}

} // namespace

TEST(EngineResponder, ARequestIsAnsweredInTheProcessWithTheTokenHidden) {
  engine::Loop loop;
  std::vector<std::string> asked;
  engine::Responder hub;
  hub.http = [&](const engine::Request& r) {
    asked.push_back(r.method + " " + r.url);
    engine::Answer a;
    a.status = 201;
    a.body = "made with secret-token-1234";
    a.headers = "Content-Type: text/plain\r\nretry-after:  7 \r\n";
    return a;
  };
  engine::Client client(loop, answered_by(hub, "secret-token-1234"));
  engine::Answer answer;
  run_flow(loop, [&]() -> engine::Task<void> {
    engine::Request r = engine::Request::post_json("/hub/api/users", "{}");
    answer = co_await client.send(std::move(r));
  });
  EXPECT_EQ(asked, (std::vector<std::string>{"POST /hub/api/users"}));
  EXPECT_TRUE(answer.ok()) << answer.describe();
  EXPECT_EQ(answer.status, 201);
  EXPECT_EQ(answer.body, "made with ***");
  EXPECT_EQ(answer.header("Retry-After"), "7");
  EXPECT_EQ(answer.url, "http://127.0.0.1:9/hub/api/users");
  EXPECT_LE(answer.sent, answer.finished);
}

TEST(EngineResponder, AStopBeforeTheAnswerCancelsItAndTheResponderIsNeverAsked) {
  engine::Loop loop;
  int asked = 0;
  engine::Responder hub;
  hub.http = [&](const engine::Request&) {
    ++asked;
    return engine::Answer{};
  };
  engine::Client client(loop, answered_by(hub));
  std::stop_source stop;
  engine::Answer answer;
  run_flow(loop, [&]() -> engine::Task<void> {
    stop.request_stop();
    engine::Request r = engine::Request::get("/x");
    answer = co_await client.send(std::move(r), stop.get_token());
  });
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(answer.errc, engine::Errc::cancelled);
}

TEST(EngineResponder, AStreamHandsOverTheEventsOfItsBodyOneByOneThenEnds) {
  engine::Loop loop;
  engine::Responder hub;
  hub.http = [](const engine::Request&) {
    engine::Answer a;
    a.status = 200;
    a.body = "data: one\n\nevent: progress\ndata: two\n\n";
    return a;
  };
  engine::Client client(loop, answered_by(hub));
  std::vector<std::string> seen;
  engine::Errc last = engine::Errc::ok;
  run_flow(loop, [&]() -> engine::Task<void> {
    engine::Request r = engine::Request::get("/progress");
    engine::EventStream stream = co_await client.open_stream(std::move(r));
    CO_ASSERT_TRUE(stream.ok());
    for (;;) {
      auto next = co_await stream.next(1s);
      if (!next) {
        last = next.errc;
        break;
      }
      seen.push_back(next.event.type + ":" + next.event.data);
    }
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"message:one", "progress:two"}));
  EXPECT_EQ(last, engine::Errc::closed);
}

TEST(EngineResponder, AWebSocketTalksToTheResponderAndEndsWhenClosed) {
  engine::Loop loop;
  std::vector<std::string> urls;
  engine::Responder hub;
  hub.ws = [&](const std::string& url, const std::string& text) {
    urls.push_back(url);
    return std::vector<std::string>{text + " 1", text + " 2"};
  };
  engine::Client client(loop, answered_by(hub));
  std::vector<std::string> got;
  engine::Errc quiet = engine::Errc::ok, after_close = engine::Errc::ok;
  int status = 0;
  run_flow(loop, [&]() -> engine::Task<void> {
    engine::WebSocket ws = co_await engine::WebSocket::connect(client, "/user/a/api/kernels/k/channels", 5s);
    CO_ASSERT_TRUE(ws);
    status = ws.status();
    const engine::Result sent = co_await ws.send("hello", 1s);
    CO_ASSERT_TRUE(sent);
    for (int i = 0; i < 2; ++i) got.push_back((co_await ws.receive(1s)).text);
    quiet = (co_await ws.receive(10ms)).errc;  // nothing more was said
    co_await ws.close(1s);
    after_close = (co_await ws.receive(1s)).errc;
  });
  EXPECT_EQ(status, 101);
  EXPECT_EQ(got, (std::vector<std::string>{"hello 1", "hello 2"}));
  EXPECT_EQ(urls, (std::vector<std::string>{"ws://127.0.0.1:9/user/a/api/kernels/k/channels"}));
  EXPECT_EQ(quiet, engine::Errc::timeout);
  EXPECT_EQ(after_close, engine::Errc::closed);
}

TEST(EngineResponder, WithoutAWebSocketStandInAWebSocketFailsToOpenAndNothingGoesOut) {
  engine::Loop loop;
  engine::Responder hub;
  hub.http = [](const engine::Request&) { return engine::Answer{}; };
  engine::Client client(loop, answered_by(hub));
  engine::Result opened;
  run_flow(loop, [&]() -> engine::Task<void> {
    engine::WebSocket ws = co_await engine::WebSocket::connect(client, "/user/a/api/kernels/k/channels", 5s);
    opened = ws.opened();
  });
  EXPECT_EQ(opened.errc, engine::Errc::connect_failed);
  EXPECT_NE(opened.reason.find("responder"), std::string::npos) << opened.reason;
}

TEST(EngineResponder, AStreamStoppedBeforeItsAnswerSaysCancelledNotEnded) {
  engine::Loop loop;
  engine::Responder hub;
  hub.http = [](const engine::Request&) {
    engine::Answer a;
    a.status = 200;
    a.body = "data: one\n\n";
    return a;
  };
  engine::Client client(loop, answered_by(hub));
  std::stop_source stop;
  engine::Errc head = engine::Errc::ok, next = engine::Errc::ok;
  run_flow(loop, [&]() -> engine::Task<void> {
    stop.request_stop();
    engine::Request r = engine::Request::get("/progress");
    engine::EventStream stream = co_await client.open_stream(std::move(r), stop.get_token());
    head = stream.head().errc;
    next = (co_await stream.next(1s)).errc;
  });
  EXPECT_EQ(head, engine::Errc::cancelled);
  EXPECT_EQ(next, engine::Errc::cancelled);
}
