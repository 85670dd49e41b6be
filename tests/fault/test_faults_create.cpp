// Fault tests: create_users under faults. Creates that worked although their answer was lost (timeout,
// 502, 503), names the hub already had, and a failed batch that is cleaned up.
#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/hub/users.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hs = hubstress;
using nlohmann::json;
using namespace hubstress::testing::fault;

// --- create_users under faults ---

TEST_F(Faults, ACreateThatTimedOutButWorkedCountsAsCreatedAfterA409) {
  hub->add_user("hub-stress-test-7");
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const json body = json::parse(c.req.body);
    const auto names = body["usernames"].get<std::vector<std::string>>();
    const auto made = hub->create(names);
    if (c.hit == 1) {
      // created server-side, but the answer comes after the client's 2 s timeout (batch_size 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(2600));
    }
    if (made.empty()) return reply_error(res, 409, "All 2 users already exist");
    json reply = json::array();
    for (const auto& n : made) reply.push_back({{"name", n}, {"servers", json::object()}});
    reply_json(res, 201, reply);
  });
  auto opts = options();
  opts.timeout_s = 0.5;  // create_users uses max(batch_size s, this)
  hs::Session session(opts);

  std::vector<std::vector<std::string>> created;
  ASSERT_NO_THROW(created = hs::create_users(2, 2, session, {"hub-stress-test-7", "alice"}));

  const std::vector<std::vector<std::string>> expected{{"hub-stress-test-8", "hub-stress-test-9"}};
  EXPECT_EQ(created, expected);
  const auto posts = hub->seen("POST", "/hub/api/users");
  ASSERT_EQ(posts.size(), 2u) << "the timed-out POST was retried once";
  EXPECT_EQ(json::parse(posts[1].body)["usernames"], json::parse(posts[0].body)["usernames"]);
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/hub-stress-test-[89]").size(), 2u) << "checked which names exist";
  EXPECT_TRUE(hub->seen("DELETE").empty());
  EXPECT_TRUE(hub->has_user("hub-stress-test-8"));
  EXPECT_TRUE(hub->has_user("hub-stress-test-9"));
}

TEST_F(Faults, ANameTheHubAlreadyHadIsNotCountedAsCreatedAndIsReplaced) {
  // someone else made hub-stress-test-2 between our listing and our POST: the hub skips it silently;
  // the run still ends with its 3 users, the third one past the highest on the hub
  hub->add_user("hub-stress-test-2");
  hs::Session session(options());

  const auto created = hs::create_users(3, 3, session, {});

  const std::vector<std::vector<std::string>> expected{{"hub-stress-test-1", "hub-stress-test-3"}, {"hub-stress-test-4"}};
  EXPECT_EQ(created, expected);
  EXPECT_EQ(hub->seen("POST", "/hub/api/users").size(), 2u);
  EXPECT_NE(log_text().find("hub-stress-test-2"), std::string::npos) << "the skipped name is logged";
}

TEST_F(Faults, AFailedBatchIsCleanedUpAndThrows) {
  // batch 1 (-1, -2) works; batch 2 (-3, -4): the hub creates -3, then fails with a 500
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto names = json::parse(c.req.body)["usernames"].get<std::vector<std::string>>();
    if (c.hit == 1) {
      const auto made = hub->create(names);
      json reply = json::array();
      for (const auto& n : made) reply.push_back({{"name", n}, {"servers", json::object()}});
      return reply_json(res, 201, reply);
    }
    hub->create({names.front()});
    res.status = 500;
    res.set_content("<html><title>500: Internal Server Error</title>\n<body>database is locked</body></html>", "text/html");
  });
  hs::Session session(options());

  try {
    hs::create_users(4, 2, session, {});
    ADD_FAILURE() << "a failed batch must throw";
  } catch (const hs::HubError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("500"), std::string::npos) << what;
    EXPECT_TRUE(one_line(what)) << what;
  }

  EXPECT_EQ(hub->seen("POST", "/hub/api/users").size(), 2u) << "a 500 is not retried";
  EXPECT_EQ(hub->seen("DELETE", "/hub/api/users/hub-stress-test-3/server").size(), 1u);
  EXPECT_EQ(hub->seen("DELETE", "/hub/api/users/hub-stress-test-3").size(), 1u);
  EXPECT_FALSE(hub->has_user("hub-stress-test-3"));
  EXPECT_TRUE(hub->seen("DELETE", "/hub/api/users/hub-stress-test-4*").empty()) << "-4 was never created";
  EXPECT_TRUE(hub->seen("DELETE", "/hub/api/users/hub-stress-test-[12]*").empty()) << "other batches untouched";
  EXPECT_TRUE(hub->has_user("hub-stress-test-1"));
  EXPECT_TRUE(hub->has_user("hub-stress-test-2"));
  EXPECT_NE(log_text().find("Failed to create users hub-stress-test-3, hub-stress-test-4"), std::string::npos) << log_text();
  EXPECT_NE(log_text().find("seconds to create_users"), std::string::npos) << "timed also when it fails";
}

// --- issue 13 ---

TEST_F(Faults, ACreateAnswered502AfterTheHubMadeTheUsersCountsAsCreatedAfterA409) {
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto made = hub->create(json::parse(c.req.body)["usernames"].get<std::vector<std::string>>());
    if (c.hit == 1) return reply_error(res, 502, "Bad Gateway");  // the proxy lost the hub's answer
    if (made.empty()) return reply_error(res, 409, "All 2 users already exist");
    json reply = json::array();
    for (const auto& n : made) reply.push_back({{"name", n}, {"servers", json::object()}});
    reply_json(res, 201, reply);
  });
  hs::Session session(options());

  std::vector<std::vector<std::string>> created;
  ASSERT_NO_THROW(created = hs::create_users(2, 2, session, {}));

  const std::vector<std::vector<std::string>> expected{{"hub-stress-test-1", "hub-stress-test-2"}};
  EXPECT_EQ(created, expected);
  EXPECT_EQ(hub->seen("POST", "/hub/api/users").size(), 2u);
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/hub-stress-test-[12]").size(), 2u) << "checked which names exist";
  EXPECT_TRUE(hub->seen("DELETE").empty());
}

TEST_F(Faults, ANameMissingFromA201AfterA503IsLookedUpAndCounted) {
  // the first attempt made -1 and then failed; the retry makes -2 and lists only -2
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto names = json::parse(c.req.body)["usernames"].get<std::vector<std::string>>();
    if (c.hit == 1) {
      hub->create({names.front()});
      return reply_error(res, 503, "Service Unavailable");
    }
    json reply = json::array();
    for (const auto& n : hub->create(names)) reply.push_back({{"name", n}, {"servers", json::object()}});
    reply_json(res, 201, reply);
  });
  hs::Session session(options());

  const auto created = hs::create_users(2, 2, session, {});

  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(as_set(created[0]), (std::set<std::string>{"hub-stress-test-1", "hub-stress-test-2"}));
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/hub-stress-test-1").size(), 1u) << "the missing name was looked up";
}
