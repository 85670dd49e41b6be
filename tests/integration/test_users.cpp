// The five user-management functions against a real JupyterHub (Debian's 3.0).
#include "local_hub.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/users.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace hubstress;
using hubstress::testing::LocalHub;

namespace {

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::vector<std::string> flatten(const std::vector<std::vector<std::string>>& batches) {
  std::vector<std::string> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

std::vector<std::string> numbered(int from, int to) {
  std::vector<std::string> names;
  for (int i = from; i <= to; ++i) names.push_back("hub-stress-test-" + std::to_string(i));
  return names;
}

} // namespace

TEST(RealHubUsers, CreatesExactly15InBatchesOf10) {
  LocalHub hub;
  Session session(hub.options());
  const auto batches = create_users(15, 10, session);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].size(), 10u);
  EXPECT_EQ(batches[1].size(), 5u);
  EXPECT_EQ(as_set(hub.user_names()), as_set(numbered(1, 15)));
  EXPECT_EQ(hub.requests_logged("201 POST /hub/api/users ("), 2);
}

TEST(RealHubUsers, NumberingContinuesAfterTheHighestExistingDespiteGaps) {
  LocalHub hub;
  // made (and so listed) highest first: the highest N counts, not the last one listed
  hub.create({"hub-stress-test-10", "hub-stress-test-3", "hub-stress-test-admin", "alice"});
  Session session(hub.options());
  const auto existing = find_existing_stress_test_users(session);
  EXPECT_EQ(as_set(existing), (std::set<std::string>{"hub-stress-test-3", "hub-stress-test-10"}));
  const auto created = flatten(create_users(3, 10, session, existing));
  EXPECT_EQ(created, numbered(11, 13));
  EXPECT_EQ(hub.user_names().size(), 7u);
}

TEST(RealHubUsers, DeleteUsersStopsRunningServersFirst) {
  LocalHub hub;
  const auto names = numbered(1, 4);
  hub.create(names);
  for (const auto& n : names) hub.start_server(n);
  for (const auto& n : names) hub.wait_ready(n);
  ASSERT_EQ(hub.active_server_users().size(), 4u);
  Session session(hub.options());
  EXPECT_TRUE(delete_users(names, session, 2));
  EXPECT_TRUE(hub.user_names().empty());
  EXPECT_TRUE(hub.active_server_users().empty());
}

TEST(RealHubUsers, AlreadyDeletedCountsAsSuccessAndUnstoppedUsersAreUntouched) {
  LocalHub hub;
  hub.create({"hub-stress-test-1", "hub-stress-test-2"});
  Session session(hub.options());
  EXPECT_TRUE(delete_users_after_stopping_servers({{"hub-stress-test-1", true}, {"hub-stress-test-404", true}}, session));
  EXPECT_FALSE(delete_users_after_stopping_servers({{"hub-stress-test-2", false}}, session));
  EXPECT_EQ(hub.user_names(), std::vector<std::string>{"hub-stress-test-2"});
  // delete_users on a user that does not exist: 500 (3.0) on stop, looked up, counted as stopped, 404 on delete
  EXPECT_TRUE(delete_users({"hub-stress-test-999"}, session));
}

TEST(RealHubUsers, FindExistingFollowsPaginationPastTwoHundred) {
  LocalHub hub;
  auto names = numbered(1, 230);
  hub.create(names);
  hub.create({"alice", "hub-stress-tester"});
  Session session(hub.options());
  EXPECT_EQ(as_set(find_existing_stress_test_users(session)), as_set(names));
  EXPECT_GE(hub.requests_logged("GET /hub/api/users?offset=200&limit=200"), 1);
}

TEST(RealHubUsers, BadTokenIsAnAuthError) {
  LocalHub hub;
  auto options = hub.options();
  options.token = "not-the-token";
  Session session(options);
  try {
    find_existing_stress_test_users(session);
    FAIL() << "expected AuthError";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid token or missing scopes"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("not-the-token"), std::string::npos);
  }
}
