// Fault tests: delete_users (stop, then delete) under faults. Servers that take a while to stop or
// never do, users already gone, and failed deletes.
#include "hubstress/hub/session.hpp"
#include "hubstress/hub/users.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <string>
#include <vector>

namespace hs = hubstress;
using namespace hubstress::testing::fault;

// --- delete_users under faults ---

TEST_F(Faults, DeleteWaitsForStoppingServersAnd404CountsAsDeleted) {
  hub->stop_polls = 2;  // two state=active listings still show a stopping server
  for (int i = 1; i <= 3; ++i) hub->add_user("hub-stress-test-" + std::to_string(i), ServerState::running);
  // -3 disappears (deleted by someone else) between its stop and its delete
  hub->on("DELETE", "/hub/api/users/hub-stress-test-3", [](const Call&, httplib::Response& res) {
    reply_error(res, 404, "No such user");
  });
  hs::Session session(options());
  const std::vector<std::string> names{"hub-stress-test-1", "hub-stress-test-2", "hub-stress-test-3"};

  EXPECT_TRUE(hs::delete_users(names, session, 2, 20.0));

  for (const auto& name : names) {
    const auto stops = hub->seen("DELETE", "/hub/api/users/" + name + "/server");
    const auto deletes = hub->seen("DELETE", "/hub/api/users/" + name);
    ASSERT_EQ(stops.size(), 1u) << name;
    ASSERT_EQ(deletes.size(), 1u) << name;
    Clock::time_point stopped;
    {
      std::lock_guard<std::mutex> lock(hub->mu);
      ASSERT_EQ(hub->stopped_at.count(name), 1u) << name << "'s server was never seen stopping";
      stopped = hub->stopped_at[name];
    }
    EXPECT_GT(deletes[0].at, stopped) << name << " was deleted while its server was still stopping";
  }
  EXPECT_GE(hub->seen("GET", "/hub/api/users").size(), 2u) << "delete_users polled the server states";
  for (const auto& poll : hub->seen("GET", "/hub/api/users")) {
    EXPECT_EQ(param(poll, "state"), "active");
  }
  EXPECT_FALSE(hub->has_user("hub-stress-test-1"));
  EXPECT_FALSE(hub->has_user("hub-stress-test-2"));
  EXPECT_NE(log_text().find("hub-stress-test-3 was already deleted"), std::string::npos) << log_text();
}

TEST_F(Faults, OneFailedDeleteMakesTheResultFalseButTheOthersAreDeleted) {
  for (int i = 1; i <= 4; ++i) hub->add_user("hub-stress-test-" + std::to_string(i), ServerState::running);
  hub->add_user("alice", ServerState::running);
  hub->on("DELETE", "/hub/api/users/hub-stress-test-2", [](const Call&, httplib::Response& res) {
    reply_error(res, 500, "a spawn is pending");
  });
  hs::Session session(options());
  const std::vector<std::string> names{"hub-stress-test-1", "hub-stress-test-2", "hub-stress-test-3", "hub-stress-test-4"};

  EXPECT_FALSE(hs::delete_users(names, session, 2, 20.0));

  EXPECT_FALSE(hub->has_user("hub-stress-test-1"));
  EXPECT_TRUE(hub->has_user("hub-stress-test-2"));
  EXPECT_FALSE(hub->has_user("hub-stress-test-3"));
  EXPECT_FALSE(hub->has_user("hub-stress-test-4"));
  EXPECT_TRUE(hub->has_user("alice"));
  EXPECT_TRUE(hub->seen("DELETE", "/hub/api/users/alice*").empty());
  EXPECT_EQ(hub->seen("DELETE", "/hub/api/users/hub-stress-test-2").size(), 1u) << "a 500 delete is not retried";
  const std::string log = log_text();
  EXPECT_NE(log.find("warning Failed to delete user hub-stress-test-2: HTTP 500"), std::string::npos) << log;
}

TEST_F(Faults, AServerThatNeverStopsIsBoundedByTheDeadlineAndNotDeleted) {
  hub->stop_polls = 1'000'000;  // stopping forever
  hub->add_user("hub-stress-test-1", ServerState::running);
  hub->add_user("hub-stress-test-2", ServerState::running);
  hub->on("DELETE", "/hub/api/users/hub-stress-test-2/server", [](const Call&, httplib::Response& res) { res.status = 204; });
  hs::Session session(options());

  const auto start = Clock::now();
  EXPECT_FALSE(hs::delete_users({"hub-stress-test-1", "hub-stress-test-2"}, session, 10, 1.5));
  EXPECT_LT(seconds_between(start, Clock::now()), 20.0) << "the stop deadline bounds the wait";

  EXPECT_TRUE(hub->seen("DELETE", "/hub/api/users/hub-stress-test-1").empty()) << "a server that did not stop: user not touched";
  EXPECT_TRUE(hub->has_user("hub-stress-test-1"));
  EXPECT_FALSE(hub->has_user("hub-stress-test-2"));
  EXPECT_NE(log_text().find("Server of user hub-stress-test-1 did not stop"), std::string::npos) << log_text();
}

TEST_F(Faults, AStop500ForAMissingUserOnAnOldHubCountsAsStopped) {
  // hubs before 5.5 answer 500 to stopping the server of a user that does not exist
  hub->add_user("hub-stress-test-1", ServerState::running);
  hub->on("DELETE", "/hub/api/users/hub-stress-test-9/server", [](const Call&, httplib::Response& res) {
    reply_error(res, 500, "Internal Server Error");
  });
  hs::Session session(options());

  EXPECT_TRUE(hs::delete_users({"hub-stress-test-1", "hub-stress-test-9"}, session, 10, 20.0));
  EXPECT_EQ(hub->seen("GET", "/hub/api/users/hub-stress-test-9").size(), 1u) << "looked the user up";
  EXPECT_FALSE(hub->has_user("hub-stress-test-1"));
}
