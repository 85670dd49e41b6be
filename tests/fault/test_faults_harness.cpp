// Fault tests: sanity of the harness itself. The fake hub (tests/support/fault_hub.hpp) answers like a
// hub through the real client, and the path patterns that the "nothing was sent to X" checks of the
// other test_faults_*.cpp files rely on match what they should.
#include "hubstress/hub/session.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hs = hubstress;
using namespace hubstress::testing::fault;

// --- sanity of the harness: the "nothing was sent to X" checks rely on these patterns ---

TEST(FaultHarness, PathPatterns) {
  std::vector<std::string> args;
  EXPECT_TRUE(path_matches("/hub/api/users/{}/server", "/hub/api/users/hub-stress-test-1/server", &args));
  EXPECT_EQ(args, std::vector<std::string>{"hub-stress-test-1"});
  EXPECT_FALSE(path_matches("/hub/api/users/{}", "/hub/api/users/a/server"));
  EXPECT_FALSE(path_matches("/hub/api/users/{}", "/hub/api/users/"));
  EXPECT_TRUE(path_matches("/hub/api/users/hub-stress-test-[12]*", "/hub/api/users/hub-stress-test-2/server"));
  EXPECT_TRUE(path_matches("/hub/api/users/hub-stress-test-[12]*", "/hub/api/users/hub-stress-test-1"));
  EXPECT_FALSE(path_matches("/hub/api/users/hub-stress-test-[12]*", "/hub/api/users/hub-stress-test-3"));
  EXPECT_TRUE(path_matches("/hub/api/users/alice*", "/hub/api/users/alice"));
  EXPECT_FALSE(path_matches("/hub/api/users", "/hub/api/users/alice"));
}

// --- sanity: the fake answers like a hub through the real client ---

TEST_F(Faults, FakeHubAnswersTheVersionProbe) {
  hs::Session session(options());
  EXPECT_EQ(session.hub_version(), "3.0.0");
  const auto probes = hub->seen("GET", "/hub/api/");
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(header(probes[0], "Authorization"), std::string("token ") + kToken);
}
