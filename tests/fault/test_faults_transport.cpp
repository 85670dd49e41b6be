// Fault tests: transport failures. Connections dropped without an answer, a truncated response, a
// refused connection, an answer slower than the timeout, and a TLS handshake that cannot succeed.
#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/client.hpp"
#include "hubstress/hub/session.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace hs = hubstress;
using nlohmann::json;
using namespace hubstress::testing::fault;

// --- connections dropped without an answer ---

TEST_F(Faults, DroppedConnectionsAreRetriedUntilTheServerRecovers) {
  RawServer raw({RawServer::Act::drop, RawServer::Act::drop, RawServer::Act::answer});
  auto opts = options();
  opts.endpoint = raw.endpoint();
  hs::Session session(opts);

  const hs::Response r = session.call(session.request("GET", "/users/hub-stress-test-1", "/users/{name}"));

  EXPECT_EQ(r.outcome, hs::Outcome::ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.retries, 2);
  EXPECT_EQ(session.retries(), 2);
  EXPECT_EQ(raw.accepted(), 3);
  EXPECT_EQ(json::parse(r.body)["name"], "hub-stress-test-1");
}

TEST_F(Faults, AServerThatAlwaysDropsEndsInTransportFailure) {
  RawServer raw({RawServer::Act::drop});
  auto opts = options(fast_policy(2));
  opts.endpoint = raw.endpoint();
  hs::Session session(opts);

  const hs::Response r = session.call(session.request("GET", "/users/hub-stress-test-1", "/users/{name}"));

  EXPECT_EQ(r.outcome, hs::Outcome::transport_failed);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.answered());
  EXPECT_EQ(r.retries, 2);
  EXPECT_EQ(raw.accepted(), 3);
  EXPECT_FALSE(r.error.empty());
  EXPECT_TRUE(one_line(r.describe())) << r.describe();
  EXPECT_EQ(r.describe().rfind("transport failure", 0), 0u) << r.describe();
}

TEST_F(Faults, ATruncatedResponseIsATransportFailureNotHalfABody) {
  RawServer raw({RawServer::Act::truncate, RawServer::Act::answer});
  auto opts = options();
  opts.endpoint = raw.endpoint();
  hs::Session session(opts);

  const hs::Response r = session.call(session.request("GET", "/users/hub-stress-test-1", "/users/{name}"));

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.retries, 1);
  EXPECT_EQ(raw.accepted(), 2);
  EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded()) << "the body of the cut attempt leaked in: " << r.body;
}

TEST_F(Faults, ARefusedConnectionIsBoundedAndReportedInOneLine) {
  auto opts = options(fast_policy(2));
  opts.endpoint = "http://127.0.0.1:" + std::to_string(closed_loopback_port()) + "/hub/api";
  hs::Session session(opts);

  const hs::Response r = session.call(session.request("GET", "/users/hub-stress-test-1", "/users/{name}"));
  EXPECT_EQ(r.outcome, hs::Outcome::connect_failed);
  EXPECT_EQ(r.retries, 2);

  const auto start = Clock::now();
  try {
    session.hub_version();
    ADD_FAILURE() << "hub_version() of an unreachable hub must throw";
  } catch (const hs::HubError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot reach the hub"), std::string::npos) << what;
    EXPECT_TRUE(one_line(what)) << what;
    EXPECT_EQ(what.find(kToken), std::string::npos);
  }
  EXPECT_LT(seconds_between(start, Clock::now()), 30.0) << "an unreachable hub must be reported at once";
}

// --- an answer slower than the timeout ---

TEST_F(Faults, ASlowAnswerTimesOutIsRetriedAndBounded) {
  hub->on("GET", "/hub/api/users/{}", [](const Call&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    reply_json(res, 200, {{"name", "late"}});
  });
  hs::Session session(options(fast_policy(2)));
  hs::Request req = session.request("GET", "/users/hub-stress-test-1", "/users/{name}");
  req.timeout = std::chrono::milliseconds(200);

  const auto start = Clock::now();
  const hs::Response r = session.call(req);
  const double took = seconds_between(start, Clock::now());

  EXPECT_EQ(r.outcome, hs::Outcome::timeout);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.retries, 2);
  EXPECT_LT(r.elapsed_s, 1.4) << "the last attempt must end at its timeout, not at the slow answer";
  EXPECT_LT(took, 15.0);
  EXPECT_TRUE(one_line(r.describe()));
  EXPECT_EQ(r.describe().rfind("timeout", 0), 0u) << r.describe();
  // every attempt reached the hub: a slow test server (under TSan it accepts 300 ms late) logs the
  // last ones after the client gave up on them, so it is given time to, and then no more came
  for (int i = 0; i < 100 && hub->seen("GET", "/hub/api/users/*").size() < 3u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/*").size(), 3u);
}

TEST_F(Faults, ASlowFirstAnswerThenAFastOneSucceeds) {
  // the fast answer has a second to come (a test server under TSan accepts 300 ms late)
  hub->on("GET", "/hub/api/users/{}", [](const Call& c, httplib::Response& res) {
    if (c.hit == 1) std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    reply_json(res, 200, {{"name", c.args[0]}, {"hit", c.hit}});
  });
  hs::Session session(options());
  hs::Request req = session.request("GET", "/users/hub-stress-test-1", "/users/{name}");
  req.timeout = std::chrono::milliseconds(1000);

  const hs::Response r = session.call(req);

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.retries, 1);
  EXPECT_EQ(json::parse(r.body)["hit"], 2);
}

// --- TLS ---

TEST_F(Faults, ATlsFailureIsOneClearLineAndNotRetried) {
  // https:// to a server that speaks plain HTTP: the TLS handshake cannot succeed
  auto o = options();
  o.endpoint = "https" + hub->endpoint().substr(4);
  hs::Session session(o);
  try {
    session.hub_version();
    ADD_FAILURE() << "expected HubError";
  } catch (const hs::HubError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(one_line(what)) << what;
    EXPECT_NE(what.find("cannot reach the hub"), std::string::npos) << what;
    EXPECT_NE(what.find("TLS"), std::string::npos) << what;
  }
  EXPECT_EQ(session.retries(), 0);
}
