// Fault tests: create_users under faults. Creates whose answer was lost (timeout, 502, 503, 504): their
// names are unsure, never claimed (issue 22 item 1); names the hub already had; a failed batch.
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

namespace {

// create_users with hooks that collect what it reports: the names it created, and the unsure ones.
struct Reported {
  std::vector<std::string> ours, unsure;
  hs::CreateHooks hooks() {
    hs::CreateHooks h;
    h.after_batch = [this](const std::vector<std::string>&, const std::vector<std::string>& o, const std::vector<std::string>& u) {
      ours.insert(ours.end(), o.begin(), o.end());
      unsure.insert(unsure.end(), u.begin(), u.end());
    };
    return h;
  }
};

void reply_created(FaultHub& hub, const std::vector<std::string>& names, httplib::Response& res) {
  const auto made = hub.create(names);
  if (made.empty()) return reply_error(res, 409, "All users already exist");
  json reply = json::array();
  for (const auto& n : made) reply.push_back({{"name", n}, {"servers", json::object()}});
  reply_json(res, 201, reply);
}

} // namespace

TEST_F(Faults, ACreateThatTimedOutButWorkedLeavesItsNamesUnsureAndTakesNewOnes) {
  hub->add_user("hub-stress-test-7");
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto names = json::parse(c.req.body)["usernames"].get<std::vector<std::string>>();
    if (c.hit == 1) {
      // created server-side, but the answer comes after the client's 2 s timeout (batch_size 2)
      hub->create(names);
      std::this_thread::sleep_for(std::chrono::milliseconds(2600));
    }
    reply_created(*hub, names, res);
  });
  auto opts = options();
  opts.timeout_s = 0.5;  // create_users uses max(batch_size s, this)
  hs::Session session(opts);
  Reported reported;
  const auto hooks = reported.hooks();

  std::vector<std::vector<std::string>> created;
  ASSERT_NO_THROW(created = hs::create_users(2, 2, session, {"hub-stress-test-7", "alice"}, hs::kDefaultPrefix, &hooks));

  // the retry's 409 says the names exist, not who made them: another run may have, meanwhile
  EXPECT_EQ(as_set(reported.unsure), (std::set<std::string>{"hub-stress-test-8", "hub-stress-test-9"}));
  EXPECT_EQ(as_set(reported.ours), (std::set<std::string>{"hub-stress-test-10", "hub-stress-test-11"}));
  const std::vector<std::vector<std::string>> expected{{}, {"hub-stress-test-10", "hub-stress-test-11"}};
  EXPECT_EQ(created, expected);
  const auto posts = hub->seen("POST", "/hub/api/users");
  ASSERT_EQ(posts.size(), 3u) << "the timed-out POST was retried once, then new names";
  EXPECT_EQ(json::parse(posts[1].body)["usernames"], json::parse(posts[0].body)["usernames"]);
  EXPECT_TRUE(hub->seen("DELETE").empty()) << "an unsure name is never deleted by the run";
  EXPECT_TRUE(hub->has_user("hub-stress-test-8"));
  EXPECT_TRUE(hub->has_user("hub-stress-test-9"));
  EXPECT_NE(log_text().find("does not claim them"), std::string::npos) << log_text();
}

TEST_F(Faults, NamesAnotherRunMadeWhileTheAnswerToOurCreateWasLostAreNotClaimed) {
  // issue 22 item 1: a proxy answers 504 without forwarding; meanwhile another run (same prefix)
  // makes the same names and keeps them; the retry gets 409
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto names = json::parse(c.req.body)["usernames"].get<std::vector<std::string>>();
    if (c.hit == 1) {
      hub->create(names);  // the other run's create, not ours
      return reply_error(res, 504, "Gateway Timeout");
    }
    reply_created(*hub, names, res);
  });
  hs::Session session(options());
  Reported reported;
  const auto hooks = reported.hooks();

  const auto created = hs::create_users(2, 2, session, {}, hs::kDefaultPrefix, &hooks);

  EXPECT_EQ(reported.ours, (std::vector<std::string>{"hub-stress-test-3", "hub-stress-test-4"}));
  EXPECT_EQ(as_set(reported.unsure), (std::set<std::string>{"hub-stress-test-1", "hub-stress-test-2"}));
  const std::vector<std::vector<std::string>> expected{{}, {"hub-stress-test-3", "hub-stress-test-4"}};
  EXPECT_EQ(created, expected);
  EXPECT_TRUE(hub->seen("DELETE").empty());
  EXPECT_TRUE(hub->has_user("hub-stress-test-1"));
  EXPECT_TRUE(hub->has_user("hub-stress-test-2"));
}

TEST_F(Faults, EveryCreateAnswered504LeavesTheOtherRunsUsersAloneAndThrows) {
  // the proxy answers every create 504 and forwards none; another run made the names meanwhile
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    if (c.hit == 1) hub->create({"hub-stress-test-1", "hub-stress-test-2"});
    reply_error(res, 504, "Gateway Timeout");
  });
  hs::Session session(options());
  Reported reported;
  const auto hooks = reported.hooks();

  EXPECT_THROW(hs::create_users(3, 3, session, {}, hs::kDefaultPrefix, &hooks), hs::HubError);

  EXPECT_TRUE(reported.ours.empty());
  EXPECT_EQ(as_set(reported.unsure), (std::set<std::string>{"hub-stress-test-1", "hub-stress-test-2"}))
      << "the names that exist are unsure; -3, which the hub does not have, is not";
  EXPECT_TRUE(hub->seen("DELETE").empty()) << "never deleted as 'the failed batch that the hub may have created'";
  EXPECT_TRUE(hub->has_user("hub-stress-test-1"));
  EXPECT_TRUE(hub->has_user("hub-stress-test-2"));
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

TEST_F(Faults, AFailedBatchLeavesWhatItMayHaveMadeUnsureAndThrows) {
  // batch 1 (-1, -2) works; batch 2 (-3, -4): the hub creates -3, then fails with a 500; whether -3
  // is this run's or another's that took the name meanwhile, nothing says: it is left, unsure
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto names = json::parse(c.req.body)["usernames"].get<std::vector<std::string>>();
    if (c.hit == 1) return reply_created(*hub, names, res);
    hub->create({names.front()});
    res.status = 500;
    res.set_content("<html><title>500: Internal Server Error</title>\n<body>database is locked</body></html>", "text/html");
  });
  hs::Session session(options());
  Reported reported;
  const auto hooks = reported.hooks();

  try {
    hs::create_users(4, 2, session, {}, hs::kDefaultPrefix, &hooks);
    ADD_FAILURE() << "a failed batch must throw";
  } catch (const hs::HubError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("500"), std::string::npos) << what;
    EXPECT_TRUE(one_line(what)) << what;
  }

  EXPECT_EQ(hub->seen("POST", "/hub/api/users").size(), 2u) << "a 500 is not retried";
  EXPECT_EQ(reported.ours, (std::vector<std::string>{"hub-stress-test-1", "hub-stress-test-2"}));
  EXPECT_EQ(reported.unsure, std::vector<std::string>{"hub-stress-test-3"}) << "-4 was never created (404)";
  EXPECT_TRUE(hub->seen("DELETE").empty());
  EXPECT_TRUE(hub->has_user("hub-stress-test-3"));
  EXPECT_NE(log_text().find("Failed to create users hub-stress-test-3, hub-stress-test-4"), std::string::npos) << log_text();
  EXPECT_NE(log_text().find("seconds to create_users"), std::string::npos) << "timed also when it fails";
}

// --- issue 13 ---

TEST_F(Faults, ACreateAnswered502AfterTheHubMadeTheUsersLeavesThemUnsure) {
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto names = json::parse(c.req.body)["usernames"].get<std::vector<std::string>>();
    if (c.hit == 1) {
      hub->create(names);
      return reply_error(res, 502, "Bad Gateway");  // the proxy lost the hub's answer
    }
    reply_created(*hub, names, res);
  });
  hs::Session session(options());
  Reported reported;
  const auto hooks = reported.hooks();

  const auto created = hs::create_users(2, 2, session, {}, hs::kDefaultPrefix, &hooks);

  const std::vector<std::vector<std::string>> expected{{}, {"hub-stress-test-3", "hub-stress-test-4"}};
  EXPECT_EQ(created, expected);
  EXPECT_EQ(as_set(reported.unsure), (std::set<std::string>{"hub-stress-test-1", "hub-stress-test-2"}));
  EXPECT_EQ(hub->seen("POST", "/hub/api/users").size(), 3u);
  EXPECT_TRUE(hub->seen("DELETE").empty());
}

TEST_F(Faults, ANameMissingFromA201AfterA503IsUnsureAndTheListedOnesAreOurs) {
  // the first attempt made -1 and then failed; the retry makes -2 and lists only -2
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    const auto names = json::parse(c.req.body)["usernames"].get<std::vector<std::string>>();
    if (c.hit == 1) {
      hub->create({names.front()});
      return reply_error(res, 503, "Service Unavailable");
    }
    reply_created(*hub, names, res);
  });
  hs::Session session(options());
  Reported reported;
  const auto hooks = reported.hooks();

  const auto created = hs::create_users(2, 2, session, {}, hs::kDefaultPrefix, &hooks);

  const std::vector<std::vector<std::string>> expected{{"hub-stress-test-2"}, {"hub-stress-test-3"}};
  EXPECT_EQ(created, expected) << "the 201 lists -2: that one is proved this run's";
  EXPECT_EQ(reported.unsure, std::vector<std::string>{"hub-stress-test-1"});
  EXPECT_TRUE(hub->seen("DELETE").empty());
}
