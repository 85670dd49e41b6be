// Fault tests: retries and back-off. 429 with Retry-After, 503 storms, which statuses are retried,
// and the version probe that is not retried with back-off.
#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/client.hpp"
#include "hubstress/hub/session.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

namespace hs = hubstress;
using nlohmann::json;
using namespace hubstress::testing::fault;

// --- 429 with Retry-After ---

TEST_F(Faults, RetryAfterIsHonouredThenTheRequestSucceeds) {
  hub->on("POST", "/hub/api/users/{}/server", [](const Call& c, httplib::Response& res) {
    if (c.hit <= 2) {
      res.set_header("Retry-After", "1");
      return reply_error(res, 429, "Too many users trying to log in right now. Try again in 1 seconds.");
    }
    res.status = 201;
  });
  hs::RetryPolicy policy = fast_policy();
  policy.max_delay_s = 5.0;  // let the 1 s Retry-After through uncapped
  hs::Session session(options(policy));

  const hs::Response r = session.call(session.request("POST", "/users/hub-stress-test-1/server", "/users/{name}/server", "{}"));

  EXPECT_EQ(r.outcome, hs::Outcome::ok);
  EXPECT_EQ(r.status, 201);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.retries, 2);
  EXPECT_EQ(session.retries(), 2);
  ASSERT_EQ(session.records().size(), 1u);
  EXPECT_EQ(session.records()[0].retries, 2);
  EXPECT_EQ(session.records()[0].status, 201);
  const auto posts = hub->seen("POST", "/hub/api/users/hub-stress-test-1/server");
  ASSERT_EQ(posts.size(), 3u);
  EXPECT_GE(seconds_between(posts[0].at, posts[1].at), 0.9) << "the retry did not wait for Retry-After";
  EXPECT_GE(seconds_between(posts[1].at, posts[2].at), 0.9) << "the retry did not wait for Retry-After";
  EXPECT_GE(r.total_s, 1.8);
  EXPECT_NE(log_text().find("429"), std::string::npos) << "retries are logged";
}

TEST_F(Faults, MaxDelayCapsAHugeRetryAfter) {
  hub->on("POST", "/hub/api/users/{}/server", [](const Call&, httplib::Response& res) {
    res.set_header("Retry-After", "3600");
    reply_error(res, 429, "Too many users trying to log in right now.");
  });
  hs::RetryPolicy policy = fast_policy(2);
  policy.max_delay_s = 0.2;
  hs::Session session(options(policy));

  const auto start = Clock::now();
  const hs::Response r = session.call(session.request("POST", "/users/hub-stress-test-1/server", "/users/{name}/server", "{}"));
  const double took = seconds_between(start, Clock::now());

  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retries, 2);
  ASSERT_TRUE(r.retry_after_s.has_value());
  EXPECT_DOUBLE_EQ(*r.retry_after_s, 3600.0);
  EXPECT_EQ(hub->seen("POST").size(), 3u);
  EXPECT_LT(took, 30.0) << "a 3600 s Retry-After must be capped by max_delay_s";
}

// --- 503 storm, and which statuses are retried ---

TEST_F(Faults, A503StormStopsAtMaxRetries) {
  hub->on("GET", "/hub/api/users/{}", [](const Call&, httplib::Response& res) { reply_error(res, 503, "Service Unavailable"); });
  hub->on("POST", "/hub/api/users/{}/server", [](const Call&, httplib::Response& res) { reply_error(res, 503, "Service Unavailable"); });
  const int max_retries = 3;
  hs::Session session(options(fast_policy(max_retries)));

  const hs::Response get = session.call(session.request("GET", "/users/hub-stress-test-1", "/users/{name}"));
  EXPECT_EQ(get.outcome, hs::Outcome::ok);
  EXPECT_EQ(get.status, 503);
  EXPECT_FALSE(get.ok());
  EXPECT_EQ(get.retries, max_retries);
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/*").size(), static_cast<std::size_t>(max_retries + 1));

  // POST is retried too (SPEC §1: every method)
  const hs::Response post = session.call(session.request("POST", "/users/hub-stress-test-1/server", "/users/{name}/server", "{}"));
  EXPECT_EQ(post.status, 503);
  EXPECT_EQ(post.retries, max_retries);
  EXPECT_EQ(hub->seen("POST").size(), static_cast<std::size_t>(max_retries + 1));
  EXPECT_EQ(session.retries(), 2 * max_retries);
}

TEST_F(Faults, OnlyTheDocumentedStatusesAreRetried) {
  hub->on("GET", "/hub/api/users/{}", [](const Call& c, httplib::Response& res) {
    const std::string& name = c.args[0];
    if (name == "s502" && c.hit == 1) return reply_error(res, 502, "Bad Gateway");
    if (name == "s504" && c.hit <= 2) return reply_error(res, 504, "Gateway Timeout");
    if (name == "s500") return reply_error(res, 500, "Internal Server Error");
    if (name == "s400") return reply_error(res, 400, "Bad Request");
    reply_json(res, 200, {{"name", name}, {"servers", json::object()}});
  });
  hs::Session session(options());

  EXPECT_EQ(session.call(session.request("GET", "/users/s502", "/users/{name}")).status, 200);
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/s502").size(), 2u);
  hub->on("GET", "/hub/api/users/s504", [](const Call& c, httplib::Response& res) {
    if (c.hit <= 2) return reply_error(res, 504, "Gateway Timeout");
    reply_json(res, 200, {{"name", "s504"}});
  });
  const hs::Response r504 = session.call(session.request("GET", "/users/s504", "/users/{name}"));
  EXPECT_EQ(r504.status, 200);
  EXPECT_EQ(r504.retries, 2);

  const hs::Response r500 = session.call(session.request("GET", "/users/s500", "/users/{name}"));
  EXPECT_EQ(r500.status, 500);
  EXPECT_EQ(r500.retries, 0);
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/s500").size(), 1u);

  const hs::Response r400 = session.call(session.request("GET", "/users/s400", "/users/{name}"));
  EXPECT_EQ(r400.status, 400);
  EXPECT_EQ(r400.retries, 0);
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/s400").size(), 1u);
}

// --- the version probe (issue 13) ---

TEST_F(Faults, TheVersionProbeTriesTwiceWithoutBackOff) {
  // README: an unreachable hub is reported within seconds. The probe is not retried with back-off:
  // one try, and one more a second later for a hub that is restarting.
  RawServer raw({RawServer::Act::drop});
  auto opts = options(fast_policy(3));
  opts.endpoint = raw.endpoint();
  hs::Session session(opts);
  EXPECT_THROW(session.hub_version(), hs::HubError);
  EXPECT_EQ(raw.accepted(), 2);
  EXPECT_EQ(session.retries(), 0);
}
