// The engine's WebSocket client against a Beast server on loopback: echo with the user's
// cookies and token on the upgrade, ping/pong, clean closes from either side, a refused upgrade,
// and a server that drops the connection in the middle of a message.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/engine/ws.hpp"

#include "../support/engine_testing.hpp"
#include "../support/loopback_http.hpp"
#include "../support/ws_server.hpp"

#include <gtest/gtest.h>

namespace engine = hubstress::engine;
using hubstress::testing::LoopbackHttp;
using hubstress::testing::run_flow;
using hubstress::testing::WsServer;
using namespace std::chrono_literals;

TEST(EngineWebSocket, EchoesJsonWithTheUsersCookiesAndTokenOnTheUpgrade) {
  LoopbackHttp hub([](httplib::Server& s) {
    s.Get("/hub/login", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Set-Cookie", "jupyterhub-user-alice=c00k1e; Path=/user/alice/");
      res.set_content("ok", "text/plain");
    });
  });
  WsServer kernel;
  engine::Loop loop;
  engine::ClientOptions options;
  options.base_url = hub.url();
  options.token = "ws-token-7";
  engine::Client alice(loop, options);
  const std::string execute = R"({"header": {"msg_id": "m1", "msg_type": "comm_info_request"}, "content": {}})";
  engine::Result opened, sent, pinged, closed;
  int status = 0;
  engine::WsMessage echo, after_close;
  run_flow(loop, [&]() -> engine::Task<void> {
    CO_ASSERT_TRUE((co_await alice.send(engine::Request::get("/hub/login"))).ok());
    // the cookie is for 127.0.0.1 on /user/alice/: sent to the WebSocket on another port too
    auto socket = co_await engine::WebSocket::connect(alice, kernel.url("/user/alice/api/kernels/k1/channels?session_id=s"),
                                                      5s);
    opened = socket.opened();
    status = socket.status();
    CO_ASSERT_TRUE(socket);
    sent = co_await socket.send(execute, 5s);
    echo = co_await socket.receive(5s);
    pinged = co_await socket.ping(5s);
    closed = co_await socket.close(5s);
    after_close = co_await socket.receive(1s);
  });
  EXPECT_TRUE(opened) << opened.reason;
  EXPECT_EQ(status, 101);
  EXPECT_TRUE(sent) << sent.reason;
  ASSERT_TRUE(echo) << echo.reason;
  EXPECT_EQ(echo.text, execute);
  EXPECT_FALSE(echo.binary);
  EXPECT_NE(echo.arrived, engine::Clock::time_point{});
  EXPECT_TRUE(pinged) << pinged.reason;
  EXPECT_TRUE(closed) << closed.reason;
  EXPECT_EQ(after_close.errc, engine::Errc::closed);
  ASSERT_EQ(kernel.cookies_seen().size(), 1u);
  EXPECT_EQ(kernel.cookies_seen()[0], "jupyterhub-user-alice=c00k1e");
  EXPECT_EQ(kernel.authorizations_seen()[0], "token ws-token-7");
}

TEST(EngineWebSocket, AServerThatDropsTheConnectionMidMessageIsAnErrorValue) {
  WsServer server;
  engine::Loop loop;
  engine::WsMessage broken;
  engine::Result send_after;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto socket = co_await engine::WebSocket::connect(server.url(), 5s);
    CO_ASSERT_TRUE(socket);
    CO_ASSERT_TRUE(co_await socket.send("drop-mid-message", 5s));
    broken = co_await socket.receive(10s);
    send_after = co_await socket.send("anyone there?", 5s);
  });
  EXPECT_EQ(broken.errc, engine::Errc::transport_failed) << broken.reason;
  EXPECT_NE(broken.reason.find("connection broken"), std::string::npos) << broken.reason;
  EXPECT_TRUE(broken.text.empty()); // the fragment that came is not handed out as a message
  EXPECT_FALSE(send_after);
}

TEST(EngineWebSocket, AServerThatClosesCleanlySaysWhy) {
  WsServer server;
  engine::Loop loop;
  engine::WsMessage closed;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto socket = co_await engine::WebSocket::connect(server.url(), 5s);
    CO_ASSERT_TRUE(socket);
    CO_ASSERT_TRUE(co_await socket.send("close-please", 5s));
    closed = co_await socket.receive(10s);
  });
  EXPECT_EQ(closed.errc, engine::Errc::closed) << closed.reason;
  EXPECT_NE(closed.reason.find("code 1000: bye"), std::string::npos) << closed.reason;
}

TEST(EngineWebSocket, ARefusedUpgradeOrNoServerIsAnErrorValue) {
  WsServer server;
  engine::Loop loop;
  engine::Result refused, unreachable, not_ws;
  int refused_status = 0;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto socket = co_await engine::WebSocket::connect(server.url("/not-a-socket"), 5s);
    refused = socket.opened();
    refused_status = socket.status();
    auto nothing = co_await engine::WebSocket::connect("ws://127.0.0.1:1/ws", 5s);
    unreachable = nothing.opened();
    auto wrong = co_await engine::WebSocket::connect("http://127.0.0.1/ws", 5s);
    not_ws = wrong.opened();
  });
  EXPECT_EQ(refused.errc, engine::Errc::transport_failed);
  EXPECT_EQ(refused_status, 403);
  EXPECT_NE(refused.reason.find("HTTP 403"), std::string::npos) << refused.reason;
  EXPECT_EQ(unreachable.errc, engine::Errc::connect_failed) << unreachable.reason;
  EXPECT_EQ(not_ws.errc, engine::Errc::connect_failed);
}

// jupyter-server answers a kernel's upgrade only once the kernel is ready, which on a busy hub
// takes longer than Beast's suggested 30 s handshake timeout: the caller's timeout governs.
TEST(EngineWebSocket, AnUpgradeAnsweredLateOpensWithinTheCallersTimeoutAndNotAfterIt) {
  WsServer server;
  engine::Loop loop;
  engine::Result late, too_late;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto socket = co_await engine::WebSocket::connect(server.url("/ws-slow-upgrade?ms=31500"), 45s);
    late = socket.opened();
    auto other = co_await engine::WebSocket::connect(server.url("/ws-slow-upgrade?ms=5000"), 1s);
    too_late = other.opened();
  });
  EXPECT_TRUE(late) << late.reason;
  EXPECT_EQ(too_late.errc, engine::Errc::timeout) << too_late.reason;
  EXPECT_NE(too_late.reason.find("not connected within 1000 ms"), std::string::npos) << too_late.reason;
}
