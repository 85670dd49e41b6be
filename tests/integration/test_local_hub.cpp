// The hub launcher the other integration tests stand on: ports that cannot be taken from under it,
// and nothing left behind when a start fails.
#include "local_hub.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <string>

using hubstress::testing::LocalHub;

TEST(LocalHubLauncher, PortsAreOutsideTheEphemeralRange) {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  ASSERT_TRUE(range >> low >> high);
  LocalHub hub;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(hub.endpoint(), m, std::regex("http://127\\.0\\.0\\.1:([0-9]+)/hub/api"))) << hub.endpoint();
  const int port = std::stoi(m[1].str());
  // the proxy, the hub and the proxy's API: port, port + 1, port + 2
  EXPECT_TRUE(port + 2 < low || port > high) << "port " << port << " inside the ephemeral range " << low << "-" << high;
  EXPECT_GE(port, 10000);
  EXPECT_LE(port + 2, 65535);
  EXPECT_TRUE(hub.user_names().empty());  // it is ours: our token works
}

TEST(LocalHubLauncher, AHubThatDoesNotStartLeavesNoFolder) {
  std::string message;
  try {
    LocalHub hub("no-such-spawner");  // the test config refuses it, so the hub exits at once
    ADD_FAILURE() << "a hub with an unknown spawner started";
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(message, m, std::regex("start '(/tmp/hst-hub-[^']+)'"))) << message;
  EXPECT_FALSE(std::filesystem::exists(m[1].str())) << m[1].str() << " was left behind";
}

// The flavour asked for is the hub that answers: a 5.2 run of the suite that quietly started
// Debian 12's 3.0 would test nothing new.
TEST(LocalHubLauncher, TheHubIsTheFlavourAskedFor) {
  LocalHub hub;
  hubstress::Session session(hub.options());
  const std::string version = session.hub_version();
  EXPECT_EQ(version.rfind(hub.hub() + ".", 0), 0u) << "asked for " << hub.hub() << ", the hub says " << version;
}
