// Issue 22 items 1, 3 and 6, against a real JupyterHub with tests/support/create_proxy.py in front of
// one run: a run never claims, stops, deletes or counts a user whose creation it cannot prove (the
// answer to its create request was lost while another run of the same prefix made the same names);
// purge --run deletes only what the journal confirmed; and the tokens journey mints are journaled by
// id and revoked by purge --run.
#include "local_hub.hpp"

#include "../support/fake_hub.hpp"
#include "hubstress/hub/journal.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <regex>
#include <set>
#include <string>
#include <vector>

using hubstress::Journal;
using hubstress::UserMark;
using hubstress::testing::BackgroundTool;
using hubstress::testing::CreateProxy;
using hubstress::testing::LocalHub;
using hubstress::testing::run_tool;
using nlohmann::json;

namespace {

std::vector<std::string> args(const std::string& endpoint, const LocalHub& hub, std::vector<std::string> rest) {
  std::vector<std::string> a{"-e", endpoint, "-t", hub.token()};
  a.insert(a.end(), rest.begin(), rest.end());
  return a;
}

std::string upstream(const LocalHub& hub) { return std::regex_replace(hub.endpoint(), std::regex("/hub/api$"), ""); }

std::set<std::string> stress_users(LocalHub& hub) {
  std::set<std::string> names;
  for (const auto& n : hub.user_names()) {
    if (std::regex_match(n, std::regex("hub-stress-test-[0-9]+"))) names.insert(n);
  }
  return names;
}

std::set<std::string> numbered(int from, int to) {
  std::set<std::string> out;
  for (int i = from; i <= to; ++i) out.insert("hub-stress-test-" + std::to_string(i));
  return out;
}

std::string run_id(const std::string& output) {
  std::smatch m;
  return std::regex_search(output, m, std::regex("Run (\\S+) \\(journal")) ? m[1].str() : "";
}

Journal journal(const LocalHub& hub, const std::string& id) { return Journal::load(hub.state_dir() + "/tool-state", id); }

std::set<std::string> marked(const Journal& j, UserMark mark) {
  std::set<std::string> out;
  for (const auto& [name, m] : j.users()) {
    if (m == mark) out.insert(name);
  }
  return out;
}

// Run B: four users made straight on the hub and kept, while run A's create is held by the proxy.
std::string other_run_keeps_four(const LocalHub& hub) {
  const auto b = run_tool(args(hub.endpoint(), hub, {"-q", "stress-test", "-c", "4", "-b", "4", "-k"}));
  EXPECT_EQ(b.exit_code, 0) << b.output;
  return run_id(b.output);
}

} // namespace

TEST(Ownership, ARunWhoseCreateAnswerWasLostNeverClaimsTheUsersAnotherRunMadeMeanwhile) {
  LocalHub hub("shared");
  // A's first create is held, then answered 504 without ever reaching the hub; its retry goes through
  CreateProxy proxy(upstream(hub), {"hold", "pass"});
  BackgroundTool a(args(proxy.endpoint(), hub, {"-q", "--timeout", "300s", "stress-test", "-c", "4", "-b", "4"}),
                   hub.state_dir(), "a.out");
  ASSERT_TRUE(proxy.wait_held(1)) << a.output();
  const std::string b = other_run_keeps_four(hub);
  ASSERT_EQ(stress_users(hub), numbered(1, 4));
  proxy.release(1);
  EXPECT_EQ(a.wait(), 0) << a.output();
  const std::string out = a.output();

  // A's retry was told 409: the names exist, not who made them; A took new names for its count
  EXPECT_NE(out.find("does not claim them"), std::string::npos) << out;
  EXPECT_NE(out.find("Users: 4 requested, 4 created"), std::string::npos) << out;
  EXPECT_NE(out.find("This run left 4 users whose creation it never confirmed"), std::string::npos) << out;
  EXPECT_NE(out.find("purge"), std::string::npos) << out;
  EXPECT_EQ(stress_users(hub), numbered(1, 4)) << "B's kept users are still there, and A removed its own: " << out;
  const Journal ja = journal(hub, run_id(out));
  EXPECT_EQ(marked(ja, UserMark::unsure), numbered(1, 4));
  EXPECT_EQ(marked(ja, UserMark::deleted), numbered(5, 8));
  EXPECT_EQ(marked(journal(hub, b), UserMark::kept), numbered(1, 4));
  // purge --run of A takes nothing of B's; a plain purge, with no run alive, removes them
  const auto purge_a = run_tool(args(proxy.endpoint(), hub, {"purge", "--run", run_id(out)}));
  EXPECT_EQ(purge_a.exit_code, 0) << purge_a.output;
  EXPECT_EQ(stress_users(hub), numbered(1, 4)) << purge_a.output;
  EXPECT_EQ(run_tool(args(hub.endpoint(), hub, {"purge"})).exit_code, 0);
  EXPECT_TRUE(stress_users(hub).empty());
}

TEST(Ownership, ARunWhoseEveryCreateIsAnswered504FailsAndDeletesNoneOfAnotherRunsUsers) {
  LocalHub hub("shared");
  CreateProxy proxy(upstream(hub), {"hold", "swallow"});
  BackgroundTool a(args(proxy.endpoint(), hub, {"-q", "stress-test", "-c", "4", "-b", "4"}), hub.state_dir(), "a.out");
  ASSERT_TRUE(proxy.wait_held(1)) << a.output();
  other_run_keeps_four(hub);
  proxy.release(1);
  EXPECT_EQ(a.wait(), 128) << a.output();
  const std::string out = a.output();
  EXPECT_NE(out.find("creating users failed: HTTP 504"), std::string::npos) << out;
  EXPECT_EQ(out.find("Deleting 4 users of the failed batch"), std::string::npos) << out;
  EXPECT_EQ(stress_users(hub), numbered(1, 4)) << "never deleted as 'the failed batch that the hub may have created': " << out;
  EXPECT_EQ(marked(journal(hub, run_id(out)), UserMark::unsure), numbered(1, 4));
  EXPECT_NE(out.find("This run left 4 users whose creation it never confirmed"), std::string::npos) << out;
}

TEST(Ownership, AfterAHardStopMidCreatePurgeRunLeavesTheNamesItNeverConfirmed) {
  LocalHub hub("shared");
  CreateProxy proxy(upstream(hub), {"hold", "pass"});
  BackgroundTool a(args(proxy.endpoint(), hub, {"stress-test", "-c", "4", "-b", "4"}), hub.state_dir(), "a.out");
  ASSERT_TRUE(proxy.wait_held(1)) << a.output();
  other_run_keeps_four(hub);
  // the first signal waits for the create's answer; the second stops at once, the create in flight
  a.signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  a.signal(SIGTERM);
  EXPECT_EQ(a.wait(), 130) << a.output();
  const std::string id = run_id(a.output());
  ASSERT_FALSE(id.empty()) << a.output();
  EXPECT_EQ(marked(journal(hub, id), UserMark::planned), numbered(1, 4));

  const auto purge = run_tool(args(proxy.endpoint(), hub, {"purge", "--run", id}));
  EXPECT_EQ(purge.exit_code, 0) << purge.output;
  EXPECT_EQ(stress_users(hub), numbered(1, 4)) << "the other run's users stay: " << purge.output;
  EXPECT_NE(purge.output.find("left 4 users whose creation it never confirmed"), std::string::npos) << purge.output;
  EXPECT_NE(purge.output.find("Once no run with prefix hub-stress-test is going on against this hub"), std::string::npos)
      << purge.output;
  EXPECT_TRUE(std::regex_search(purge.output, std::regex("hub-stress-test -e \\S+ purge\n"))) << purge.output;
  proxy.release(1);
}

TEST(Ownership, JourneyKeptTokensAreJournaledByIdAndRevokedByPurgeRun) {
  LocalHub hub("shared");
  // the students' servers are not notebook servers: their journeys fail after the tokens are made
  const auto run = run_tool(args(hub.endpoint(), hub, {"-q", "journey", "-c", "2", "-k", "--step-timeout", "5s"}));
  const std::string id = run_id(run.output);
  ASSERT_FALSE(id.empty()) << run.output;
  const Journal j = journal(hub, id);
  std::set<std::pair<std::string, std::string>> journaled;
  for (const auto& t : j.live_tokens()) journaled.insert({t.user, t.id});
  // what the hub has: each student's token, by id
  httplib::Client client(upstream(hub));
  std::set<std::pair<std::string, std::string>> on_hub;
  std::string bodies;
  for (const auto& user : numbered(1, 2)) {
    const auto res = client.Get("/hub/api/users/" + user + "/tokens", {{"Authorization", "token " + hub.token()}});
    ASSERT_TRUE(res && res->status == 200) << user;
    bodies += res->body + "\n";
    const json listed = json::parse(res->body);
    for (const auto& t : listed["api_tokens"]) {
      // (the hub may add who asked for it to the note)
      if (t.value("note", "").find("hub-stress-test journey") != std::string::npos) on_hub.insert({user, t["id"].get<std::string>()});
    }
  }
  ASSERT_EQ(on_hub.size(), 2u) << bodies << run.output;
  EXPECT_EQ(journaled, on_hub);

  const auto purge = run_tool(args(hub.endpoint(), hub, {"purge", "--run", id}));
  EXPECT_EQ(purge.exit_code, 0) << purge.output;
  for (const auto& [user, token] : on_hub) {
    EXPECT_EQ(hub.requests_logged("DELETE /hub/api/users/" + user + "/tokens/" + token), 1) << purge.output;
  }
  EXPECT_TRUE(journal(hub, id).live_tokens().empty());
  EXPECT_TRUE(stress_users(hub).empty());
}
