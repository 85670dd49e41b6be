// Never leak, never touch a real user: signals and a hub that dies mid-run, with a real JupyterHub.
#include "local_hub.hpp"

#include "hubstress/hub/journal.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using hubstress::testing::BackgroundTool;
using hubstress::testing::LocalHub;
using hubstress::testing::run_tool;

namespace {

std::vector<std::string> tool_args(const LocalHub& hub, std::vector<std::string> rest) {
  std::vector<std::string> args{"-e", hub.endpoint(), "-t", hub.token()};
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

// Waits (bounded) until the hub has started spawning some of the run's servers.
void wait_for_spawns(LocalHub& hub, std::size_t at_least) {
  for (int i = 0; i < 600 && hub.active_server_users().size() < at_least; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(hub.active_server_users().size(), at_least) << "the run never got to spawning";
}

std::vector<std::string> stress_users(LocalHub& hub) {
  std::vector<std::string> names;
  for (const auto& n : hub.user_names()) {
    if (std::regex_match(n, std::regex("hub-stress-test-[0-9]+"))) names.push_back(n);
  }
  return names;
}

} // namespace

TEST(Resilience, SigintDuringSpawningRemovesEveryUserOfTheRun) {
  LocalHub hub;
  hub.create({"alice", "hub-stress-test-admin"});
  BackgroundTool tool(tool_args(hub, {"stress-test", "-c", "40", "-b", "4"}), hub.state_dir());
  wait_for_spawns(hub, 2);
  tool.signal(SIGINT);
  const int code = tool.wait();
  const std::string out = tool.output();
  EXPECT_EQ(code, 130) << out;
  EXPECT_NE(out.find("interrupted; every user of this run was removed"), std::string::npos) << out;
  EXPECT_EQ(out.find("Traceback"), std::string::npos);
  EXPECT_TRUE(stress_users(hub).empty());
  const auto left = hub.user_names();
  EXPECT_EQ(std::set<std::string>(left.begin(), left.end()), (std::set<std::string>{"alice", "hub-stress-test-admin"}));
}

TEST(Resilience, SecondSignalStopsAtOnceAndPrintsTheCommandThatFinishesTheCleanUp) {
  LocalHub hub;
  BackgroundTool tool(tool_args(hub, {"stress-test", "-c", "40", "-b", "4"}), hub.state_dir());
  wait_for_spawns(hub, 2);
  tool.signal(SIGINT);
  tool.signal(SIGTERM);
  EXPECT_EQ(tool.wait(), 130);
  const std::string out = tool.output();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("hub-stress-test -e (\\S+) purge --run (\\S+)"))) << out;
  EXPECT_EQ(m[1].str(), hub.endpoint());
  const auto finish = run_tool({"-e", m[1].str(), "-t", hub.token(), "purge", "--run", m[2].str()});
  EXPECT_EQ(finish.exit_code, 0) << finish.output;
  EXPECT_TRUE(hub.user_names().empty());
  EXPECT_TRUE(hub.active_server_users().empty());
}

TEST(Resilience, PurgeRunTouchesOnlyThatRunsUsers) {
  LocalHub hub;
  hub.create({"alice", "hub-stress-tester"});
  auto first = run_tool(tool_args(hub, {"stress-test", "-c", "2", "-k"}));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first.output, m, std::regex("Run (\\S+) \\(journal ([^)]+)\\)"))) << first.output;
  const std::string run = m[1].str();
  // a journal edited by hand (or damaged) that names real people: purge --run still deletes only
  // stress-test users
  const std::string journal = m[2].str();
  const auto kept = hubstress::Journal::load(hub.state_dir() + "/tool-state", run).users();
  EXPECT_EQ(kept, (std::map<std::string, hubstress::UserMark>{{"hub-stress-test-1", hubstress::UserMark::kept},
                                                               {"hub-stress-test-2", hubstress::UserMark::kept}}));
  std::ofstream(journal, std::ios::app) << R"({"mark": "created", "users": ["alice"]})" << "\n"
                                        << R"({"mark": "kept", "users": ["hub-stress-tester"]})" << "\n";
  auto second = run_tool(tool_args(hub, {"stress-test", "-c", "3", "-k"}));
  ASSERT_EQ(second.exit_code, 0) << second.output;
  // a dry run deletes nothing, and does not mark the users deleted in the journal either
  const auto dry = run_tool(tool_args(hub, {"--dry-run", "purge", "--run", run}));
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_EQ(stress_users(hub).size(), 5u);
  const auto purge = run_tool(tool_args(hub, {"purge", "--run", run}));
  EXPECT_EQ(purge.exit_code, 0) << purge.output;
  const auto left = stress_users(hub);
  EXPECT_EQ(std::set<std::string>(left.begin(), left.end()),
            (std::set<std::string>{"hub-stress-test-3", "hub-stress-test-4", "hub-stress-test-5"}));
  const auto everyone = hub.user_names();
  EXPECT_EQ(std::count(everyone.begin(), everyone.end(), "alice"), 1);
  EXPECT_EQ(std::count(everyone.begin(), everyone.end(), "hub-stress-tester"), 1);
  const auto again = run_tool(tool_args(hub, {"purge", "--run", run}));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("nothing left to delete"), std::string::npos) << again.output;
  const auto unknown = run_tool(tool_args(hub, {"purge", "--run", "20990101T000000Z-beef"}));
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_EQ(stress_users(hub).size(), 3u);
}

TEST(Resilience, HubKilledAndRestartedMidRunRemovesEveryUserOfTheRunItself) {
  LocalHub hub;
  hub.create({"alice"});
  BackgroundTool tool(tool_args(hub, {"stress-test", "-c", "30", "-b", "3"}), hub.state_dir());
  wait_for_spawns(hub, 2);
  hub.kill_hub();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  hub.restart_hub();
  // the run ends by itself (ready, failed or cleaned up), within bounds
  for (int i = 0; i < 1800 && tool.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_FALSE(tool.running()) << tool.output();
  const int code = tool.wait();
  const std::string out = tool.output();
  EXPECT_EQ(out.find("terminate called"), std::string::npos) << out;
  // the retries ride out the restart; a server the restart cost may fail the run (128), but the
  // run itself removes every user it made, with no purge needed
  if (code != 0) {
    EXPECT_EQ(code, 128) << out;
    EXPECT_TRUE(std::regex_search(out, std::regex("stress-test: [0-9]+ of 30 servers did not become ready\n"))) << out;
  }
  EXPECT_EQ(out.find("could not be deleted"), std::string::npos) << out;
  EXPECT_EQ(out.find("users of this run may remain"), std::string::npos) << out;
  EXPECT_TRUE(stress_users(hub).empty()) << out;
  EXPECT_TRUE(hub.active_server_users().empty()) << out;
  EXPECT_EQ(hub.user_names(), std::vector<std::string>{"alice"});
  const auto purge = run_tool(tool_args(hub, {"purge"}));
  EXPECT_EQ(purge.exit_code, 0) << purge.output;
  EXPECT_NE(purge.output.find("No stress-test users to delete"), std::string::npos) << purge.output;
  EXPECT_EQ(hub.user_names(), std::vector<std::string>{"alice"});
}
