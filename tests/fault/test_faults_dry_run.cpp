// Fault tests: --dry-run sends nothing to the hub.
#include "hubstress/hub/session.hpp"
#include "hubstress/hub/users.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hs = hubstress;
using namespace hubstress::testing::fault;

// --- dry-run ---

TEST_F(Faults, DryRunSendsNothing) {
  for (int i = 1; i <= 3; ++i) hub->add_user("hub-stress-test-" + std::to_string(i), ServerState::running);
  auto opts = options();
  opts.dry_run = true;
  hs::Session session(opts);

  EXPECT_EQ(session.hub_version(), "dry-run");
  EXPECT_TRUE(hs::find_existing_stress_test_users(session).empty());
  const auto created = hs::create_users(3, 2, session, {"hub-stress-test-3"});
  const std::vector<std::vector<std::string>> expected{{"hub-stress-test-4", "hub-stress-test-5"}, {"hub-stress-test-6"}};
  EXPECT_EQ(created, expected);
  EXPECT_TRUE(hs::delete_users({"hub-stress-test-1", "hub-stress-test-2"}, session, 10, 5.0));
  EXPECT_NO_THROW(hs::purge_users(opts));

  EXPECT_EQ(hub->request_count(), 0u) << "dry-run sent requests to the hub";
  EXPECT_EQ(hub->user_names().size(), 3u);
  EXPECT_NE(log_text().find("[dry-run] would send POST"), std::string::npos) << log_text();
}
