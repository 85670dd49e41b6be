// The engine's HTTP side against loopback servers: per-user cookie jars, redirects, a form POST
// with JupyterHub 4.x's XSRF rules, event streams delivered as they arrive, a timeout on each
// kind of await, and a Ctrl-C that ends every flow mid-await and lets each one clean up.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/engine/ws.hpp"

#include "../support/engine_testing.hpp"
#include "../support/loopback_http.hpp"
#include "../support/ws_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <string>

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

namespace engine = hubstress::engine;
using hubstress::testing::Gate;
using hubstress::testing::LoopbackHttp;
using hubstress::testing::run_flow;
using hubstress::testing::WsServer;
using namespace std::chrono_literals;

namespace {

engine::ClientOptions at(const LoopbackHttp& server, std::string token = {}) {
  engine::ClientOptions options;
  options.base_url = server.url();
  options.token = std::move(token);
  return options;
}

std::string cookie_header_of(const httplib::Request& req) { return req.get_header_value("Cookie"); }

// This machine's name when it resolves to 127.0.0.1 (Debian's /etc/hosts makes it so), else "".
std::string host_name_of_loopback() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* found = nullptr;
  if (getaddrinfo(name, nullptr, &hints, &found) != 0 || found == nullptr) return "";
  char address[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, address, sizeof address);
  freeaddrinfo(found);
  return std::string(address) == "127.0.0.1" ? name : "";
}

} // namespace

TEST(EngineHttp, EachUserKeepsItsOwnCookiesAndNeverSeesAnothers) {
  LoopbackHttp server([](httplib::Server& s) {
    s.Get("/login", [](const httplib::Request& req, httplib::Response& res) {
      const std::string user = req.get_param_value("user");
      res.set_header("Set-Cookie", "session=" + user + "; Path=/; HttpOnly");
      res.set_content("hello " + user, "text/plain");
    });
    s.Get("/user/([a-z]+)/login", [](const httplib::Request& req, httplib::Response& res) {
      // the user's own server sets a cookie on its own path, as jupyterhub-singleuser does
      const std::string user = req.matches[1];
      res.set_header("Set-Cookie", "server-" + user + "=yes; Path=/user/" + user + "/");
      res.set_content("ok", "text/plain");
    });
    s.Get(".*/whoami", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(cookie_header_of(req), "text/plain");
    });
  });
  engine::Loop loop;
  engine::Client alice(loop, at(server));
  engine::Client bob(loop, at(server));
  std::string alice_sees, bob_sees, alice_server_sees, alice_elsewhere_sees;
  run_flow(loop, [&]() -> engine::Task<void> {
    CO_ASSERT_TRUE((co_await alice.send(engine::Request::get("/login?user=alice"))).ok());
    CO_ASSERT_TRUE((co_await bob.send(engine::Request::get("/login?user=bob"))).ok());
    CO_ASSERT_TRUE((co_await alice.send(engine::Request::get("/user/alice/login"))).ok());
    alice_sees = (co_await alice.send(engine::Request::get("/whoami"))).body;
    bob_sees = (co_await bob.send(engine::Request::get("/whoami"))).body;
    alice_server_sees = (co_await alice.send(engine::Request::get("/user/alice/whoami"))).body;
    alice_elsewhere_sees = (co_await alice.send(engine::Request::get("/user/bob/whoami"))).body;
  });
  EXPECT_EQ(alice_sees, "session=alice");
  EXPECT_EQ(bob_sees, "session=bob");
  EXPECT_NE(alice_server_sees.find("server-alice=yes"), std::string::npos) << alice_server_sees;
  EXPECT_NE(alice_server_sees.find("session=alice"), std::string::npos) << alice_server_sees;
  EXPECT_EQ(alice_elsewhere_sees, "session=alice"); // the server's cookie stays on its path
  EXPECT_EQ(alice.cookies().size(), 2u);
  ASSERT_EQ(bob.cookies().size(), 1u);
  EXPECT_EQ(bob.cookies()[0].value, "bob");
  EXPECT_EQ(alice.cookie("session", "/anything"), "alice");
  EXPECT_EQ(bob.cookie("server-alice", "/user/alice/"), std::nullopt);
}

TEST(EngineHttp, ARedirectChainIsFollowedOnlyWhenAsked) {
  std::atomic<int> r2_hits{0};
  LoopbackHttp server([&](httplib::Server& s) {
    s.Get("/r1", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Set-Cookie", "hop=1; Path=/");
      res.set_redirect("/r2", 302);
    });
    s.Get("/r2", [&](const httplib::Request&, httplib::Response& res) {
      ++r2_hits;
      res.set_redirect("/r3", 303);
    });
    s.Get("/r3", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("end with " + cookie_header_of(req), "text/plain");
    });
  });
  engine::Loop loop;
  engine::Client user(loop, at(server));
  engine::Answer followed, not_followed;
  run_flow(loop, [&]() -> engine::Task<void> {
    engine::Request stay = engine::Request::get("/r1");
    not_followed = co_await user.send(stay);
    engine::Request go = engine::Request::get("/r1");
    go.follow_redirects = true;
    followed = co_await user.send(go);
  });
  EXPECT_EQ(not_followed.status, 302);
  EXPECT_EQ(not_followed.location, server.url("/r2"));
  EXPECT_EQ(not_followed.redirects, 0);
  EXPECT_EQ(followed.status, 200);
  EXPECT_EQ(followed.redirects, 2);
  EXPECT_EQ(followed.url, server.url("/r3"));
  EXPECT_EQ(followed.body, "end with hop=1"); // the cookie set on the way was kept and sent
  EXPECT_EQ(r2_hits.load(), 1);               // only the followed request went past /r1
}

// JupyterHub 4.x: GET /hub/login sets _xsrf; the login POST needs the same value as a form field
// (and, as any cookie-authenticated non-GET, as X-XSRFToken); the user's server has its own.
TEST(EngineHttp, AFormLoginCarriesTheXsrfCookieFieldAndHeader) {
  const std::string hub_xsrf = "2|1a2b|3c4d|1700000000";
  const std::string server_xsrf = "2|9f9f|8e8e|1700000001";
  std::atomic<int> refused{0};
  std::string seen_username, seen_password, seen_kernel_header; // written by the server thread, read after
  std::mutex mu;
  LoopbackHttp server([&](httplib::Server& s) {
    s.Get("/hub/login", [&](const httplib::Request&, httplib::Response& res) {
      res.set_header("Set-Cookie", "_xsrf=" + hub_xsrf + "; Path=/hub/");
      res.set_content("<form><input type=hidden name=_xsrf value=\"" + hub_xsrf + "\"></form>", "text/html");
    });
    s.Post("/hub/login", [&](const httplib::Request& req, httplib::Response& res) {
      const bool form = req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0;
      const bool cookie = cookie_header_of(req).find("_xsrf=" + hub_xsrf) != std::string::npos;
      if (!form || !cookie || req.get_param_value("_xsrf") != hub_xsrf || req.get_header_value("X-XSRFToken") != hub_xsrf) {
        ++refused;
        res.status = 403;
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        seen_username = req.get_param_value("username");
        seen_password = req.get_param_value("password");
      }
      res.set_header("Set-Cookie", "jupyterhub-session-id=s1; Path=/hub/; HttpOnly");
      res.set_redirect("/hub/spawn", 302);
    });
    s.Get("/user/alice/tree", [&](const httplib::Request&, httplib::Response& res) {
      res.set_header("Set-Cookie", "_xsrf=" + server_xsrf + "; Path=/user/alice/");
      res.set_content("tree", "text/html");
    });
    s.Post("/user/alice/api/kernels", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      seen_kernel_header = req.get_header_value("X-XSRFToken");
      res.status = 201;
      res.set_content(R"({"id": "k1"})", "application/json");
    });
  });
  engine::Loop loop;
  engine::Client student(loop, at(server));
  engine::Answer without_xsrf, login, kernel;
  run_flow(loop, [&]() -> engine::Task<void> {
    CO_ASSERT_TRUE((co_await student.send(engine::Request::get("/hub/login"))).ok());
    auto form = engine::Request::post_form("/hub/login?next=%2Fhub%2Fspawn",
                                           {{"username", "student 1"}, {"password", "p&ss=word"}});
    auto bare = form;
    bare.xsrf = false;
    without_xsrf = co_await student.send(bare);
    login = co_await student.send(form);
    CO_ASSERT_TRUE((co_await student.send(engine::Request::get("/user/alice/tree"))).ok());
    kernel = co_await student.send(engine::Request::post_json("/user/alice/api/kernels", "{}"));
  });
  EXPECT_EQ(without_xsrf.status, 403); // the server does check: the test can fail
  EXPECT_EQ(refused.load(), 1);
  EXPECT_EQ(login.status, 302);
  EXPECT_EQ(login.location, server.url("/hub/spawn"));
  EXPECT_EQ(student.cookie("jupyterhub-session-id", "/hub/home"), "s1");
  EXPECT_EQ(kernel.status, 201);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen_username, "student 1");
  EXPECT_EQ(seen_password, "p&ss=word");
  EXPECT_EQ(seen_kernel_header, server_xsrf); // the user's server's _xsrf, not the hub's
}

TEST(EngineHttp, TheTokenNeverAppearsInWhatTheEngineHandsBack) {
  const std::string token = "engine-secret-token-42";
  LoopbackHttp server([](httplib::Server& s) {
    s.Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 403;
      res.set_header("X-Echo", req.get_header_value("Authorization"));
      res.set_content("you sent " + req.get_header_value("Authorization"), "text/plain");
    });
  });
  engine::Loop loop;
  engine::Client admin(loop, at(server, token));
  engine::Answer answer;
  run_flow(loop, [&]() -> engine::Task<void> { answer = co_await admin.send(engine::Request::get("/echo")); });
  EXPECT_EQ(answer.status, 403);
  EXPECT_EQ(answer.body, "you sent token ***"); // it was sent, and is redacted on the way back
  EXPECT_EQ(answer.header("x-echo"), "token ***");
  EXPECT_EQ(answer.describe().find(token), std::string::npos);
}

TEST(EngineHttp, AnEventStreamDeliversEachEventAsItArrives) {
  Gate second_allowed;
  std::atomic<bool> second_sent{false};
  LoopbackHttp server([&](httplib::Server& s) {
    s.Get("/hub/api/users/alice/server/progress", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream", [&](size_t, httplib::DataSink& sink) {
        const std::string first = "data: {\"progress\": 50, \"message\": \"pending\"}\n\n";
        sink.write(first.data(), first.size());
        second_allowed.wait(); // until the test has received the first event
        second_sent = true;
        const std::string second = ": keep-alive\n\nevent: progress\ndata: {\"progress\": 100, \"ready\": true}\n\n";
        sink.write(second.data(), second.size());
        sink.done();
        return true;
      });
    });
  });
  engine::Loop loop;
  engine::Client user(loop, at(server, "tok"));
  engine::EventStream::Next first, second, end;
  bool second_sent_before_first_arrived = true;
  long status = 0;
  std::string content_type;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto stream = co_await user.open_stream(engine::Request::get("/hub/api/users/alice/server/progress"));
    status = stream.head().status;
    content_type = stream.head().header("content-type");
    CO_ASSERT_TRUE(stream.ok());
    first = co_await stream.next(10s);
    second_sent_before_first_arrived = second_sent.load();
    second_allowed.open();
    second = co_await stream.next(10s);
    end = co_await stream.next(10s);
  });
  second_allowed.open();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(content_type, "text/event-stream");
  ASSERT_TRUE(first) << first.reason;
  EXPECT_EQ(first.event.data, "{\"progress\": 50, \"message\": \"pending\"}");
  EXPECT_FALSE(second_sent_before_first_arrived); // delivered on arrival, not at the end of the stream
  ASSERT_TRUE(second) << second.reason;
  EXPECT_EQ(second.event.type, "progress");
  EXPECT_EQ(second.event.data, "{\"progress\": 100, \"ready\": true}");
  EXPECT_LE(first.event.arrived, second.event.arrived);
  EXPECT_EQ(end.errc, engine::Errc::closed);
}

TEST(EngineHttp, AStreamThatIsNotOneEndsWithItsAnswer) {
  LoopbackHttp server([](httplib::Server& s) {
    s.Get("/progress", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"message": "no such user"})", "application/json");
    });
  });
  engine::Loop loop;
  engine::Client user(loop, at(server));
  long status = 0;
  std::string body;
  engine::EventStream::Next next;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto stream = co_await user.open_stream(engine::Request::get("/progress"));
    status = stream.head().status;
    body = stream.head().body;
    next = co_await stream.next(5s);
  });
  EXPECT_EQ(status, 404);
  EXPECT_EQ(body, R"({"message": "no such user"})");
  EXPECT_EQ(next.errc, engine::Errc::closed);
}

TEST(EngineTimeouts, EachKindOfAwaitEndsWithTimeoutAndWhatItWaitsOnSurvives) {
  Gate release, event_allowed;
  LoopbackHttp server([&](httplib::Server& s) {
    s.Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
      release.wait();
      res.set_content("late", "text/plain");
    });
    s.Get("/quiet-stream", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream", [&](size_t, httplib::DataSink& sink) {
        sink.write(": opened\n\n", 10);
        event_allowed.wait();
        sink.write("data: late\n\n", 12);
        sink.done();
        return true;
      });
    });
  });
  WsServer ws_server;
  engine::Loop loop;
  engine::Client user(loop, at(server));
  engine::Answer http;
  engine::Result slept;
  engine::EventStream::Next quiet, late_event;
  engine::WsMessage silent, echoed;
  auto slept_for = 0ms;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto slow = engine::Request::get("/slow");
    slow.timeout = 200ms;
    http = co_await user.send(slow);

    const auto before = engine::Clock::now();
    slept = co_await engine::sleep(50ms);
    slept_for = std::chrono::duration_cast<std::chrono::milliseconds>(engine::Clock::now() - before);

    auto stream = co_await user.open_stream(engine::Request::get("/quiet-stream"));
    CO_ASSERT_TRUE(stream.ok());
    quiet = co_await stream.next(100ms);
    event_allowed.open();
    late_event = co_await stream.next(10s);

    auto socket = co_await engine::WebSocket::connect(user, ws_server.url(), 5s);
    CO_ASSERT_TRUE(socket);
    silent = co_await socket.receive(100ms);
    CO_ASSERT_TRUE(co_await socket.send("still here", 5s));
    echoed = co_await socket.receive(10s);
    co_await socket.close(5s);
  });
  release.open();
  event_allowed.open();
  EXPECT_EQ(http.errc, engine::Errc::timeout) << http.describe();
  EXPECT_TRUE(slept);
  EXPECT_GE(slept_for, 50ms);
  EXPECT_EQ(quiet.errc, engine::Errc::timeout);
  ASSERT_TRUE(late_event) << late_event.reason;
  EXPECT_EQ(late_event.event.data, "late");
  EXPECT_EQ(silent.errc, engine::Errc::timeout);
  ASSERT_TRUE(echoed) << echoed.reason;
  EXPECT_EQ(echoed.text, "still here");
}

// Ctrl-C in the middle: a request, a sleep, a stream and a WebSocket are each waiting. Every
// await ends with `cancelled`, and each flow's clean-up runs, talking to the servers with the
// clean-up token (as deleting a student's kernel or user would).
TEST(EngineCancel, CtrlCEndsEveryFlowMidAwaitAndEachCleansUp) {
  Gate request_arrived, never;
  std::atomic<int> cleanup_requests{0};
  LoopbackHttp server([&](httplib::Server& s) {
    s.Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
      request_arrived.open();
      never.wait(10s);
      res.status = 200;
    });
    s.Get("/stream", [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/event-stream", [&](size_t, httplib::DataSink& sink) {
        sink.write(": open\n\n", 8);
        never.wait(10s);
        sink.done();
        return true;
      });
    });
    s.Delete("/cleanup", [&](const httplib::Request&, httplib::Response& res) {
      ++cleanup_requests;
      res.status = 204;
    });
  });
  WsServer ws_server;
  engine::Loop loop;
  engine::Interrupt interrupt;
  loop.on_signals({SIGINT, SIGTERM}, [&](int) { interrupt.raise(); });
  engine::Client user(loop, at(server));
  int waiting = 0;
  std::vector<engine::Errc> ended;
  int cleaned_up = 0;

  auto clean_up = [&]() -> engine::Task<void> {
    const auto answer = co_await user.send(engine::Request::del("/cleanup"), interrupt.cleanup.get_token());
    EXPECT_EQ(answer.status, 204) << answer.describe();
    ++cleaned_up;
  };
  auto request_flow = [&]() -> engine::Task<void> {
    ++waiting;
    auto answer = co_await user.send(engine::Request::get("/slow"), interrupt.work.get_token());
    ended.push_back(answer.errc);
    co_await clean_up();
  };
  auto sleep_flow = [&]() -> engine::Task<void> {
    ++waiting;
    auto slept = co_await engine::sleep(1h, interrupt.work.get_token());
    ended.push_back(slept.errc);
    co_await clean_up();
  };
  auto stream_flow = [&]() -> engine::Task<void> {
    auto stream = co_await user.open_stream(engine::Request::get("/stream"), interrupt.work.get_token());
    ++waiting;
    auto next = co_await stream.next(1h, interrupt.work.get_token());
    ended.push_back(next.errc);
    co_await clean_up();
  };
  auto websocket_flow = [&]() -> engine::Task<void> {
    auto socket = co_await engine::WebSocket::connect(user, ws_server.url(), 5s, interrupt.work.get_token());
    ++waiting;
    auto message = co_await socket.receive(1h, interrupt.work.get_token());
    ended.push_back(message.errc);
    const auto closed = co_await socket.close(5s, interrupt.cleanup.get_token()); // a clean close after Ctrl-C
    EXPECT_TRUE(closed) << closed.reason;
    co_await clean_up();
  };
  auto press_ctrl_c = [&]() -> engine::Task<void> {
    for (int i = 0; i < 1000 && (waiting < 4 || !request_arrived.is_open()); ++i) co_await engine::sleep(5ms);
    EXPECT_EQ(waiting, 4);
    std::raise(SIGINT);
  };
  loop.spawn(request_flow());
  loop.spawn(sleep_flow());
  loop.spawn(stream_flow());
  loop.spawn(websocket_flow());
  loop.spawn(press_ctrl_c());
  loop.run();
  never.open();
  ASSERT_EQ(ended.size(), 4u);
  for (auto errc : ended) EXPECT_EQ(errc, engine::Errc::cancelled) << engine::to_string(errc);
  EXPECT_EQ(cleaned_up, 4);
  EXPECT_EQ(cleanup_requests.load(), 4);
}

// A hub named by a host name: libcurl resolves it in a thread that answers through a socketpair,
// which libcurl watches and then closes without its close-socket callback; the number is free
// again at once, and a connection's socket takes it. Every request is answered.
TEST(EngineHttp, AHostNameGoesThroughLibcurlsResolverAndEveryRequestIsAnswered) {
  const std::string name = host_name_of_loopback();
  if (name.empty()) GTEST_SKIP() << "this machine's name does not resolve to 127.0.0.1";
  LoopbackHttp server([](httplib::Server& s) {
    s.Get("/hello", [](const httplib::Request&, httplib::Response& res) { res.set_content("hello", "text/plain"); });
  });
  engine::Loop loop;
  engine::ClientOptions options;
  options.base_url = "http://" + name + ":" + std::to_string(server.port());
  engine::Client client(loop, options);
  constexpr int kFlows = 12; // fewer than the test server's 16 threads (each holds a kept-alive connection)
  constexpr int kEach = 3;
  int answered = 0;
  std::string failure;
  for (int i = 0; i < kFlows; ++i) {
    loop.spawn([](engine::Client& c, int& answered, std::string& failure) -> engine::Task<void> {
      for (int r = 0; r < kEach; ++r) {
        const engine::Answer answer = co_await c.send(engine::Request::get("/hello"));
        if (answer.ok() && answer.body == "hello") ++answered;
        else if (failure.empty()) failure = answer.reason;
      }
    }(client, answered, failure));
  }
  loop.run();
  EXPECT_EQ(answered, kFlows * kEach) << failure;
}
