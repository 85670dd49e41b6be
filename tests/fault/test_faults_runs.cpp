// Fault tests: whole stress-test and activity runs against the fake hub. What a run removes, what its
// journal holds, and how many activity workers it starts (issue 13).
#include "hubstress/hub/journal.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/scenarios/stress.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace hs = hubstress;
using nlohmann::json;
using namespace hubstress::testing::fault;

namespace {

// POST /users/{name}/server as a hub whose spawns are ready at once (201).
void spawns_ready_at_once(FaultHub& hub) {
  hub.on("POST", "/hub/api/users/{}/server", [&hub](const Call& c, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(hub.mu);
    FakeUser* u = hub.find(c.args[0]);
    if (u == nullptr) return reply_error(res, 404, "No such user");
    u->server = ServerState::running;
    res.status = 201;
  });
}

} // namespace

// --- issue 13: behaviour the README promises that no test pinned before ---

TEST_F(Faults, ActivityWorkersAreCappedAtTheUserCount) {
  for (int i = 1; i <= 3; ++i) hub->add_user("hub-stress-test-" + std::to_string(i));
  hub->on("POST", "/hub/api/users/{}/activity", [](const Call&, httplib::Response& res) { res.status = 200; });
  hs::Session session(options());
  hs::ActivityOptions o;
  o.count = 3;
  o.workers = 50;
  o.ping_interval_s = 0.05;

  const hs::ActivityResult r = hs::activity_stress_test(session, o);

  EXPECT_EQ(r.workers, 3);
  EXPECT_EQ(r.post_s.size(), 3u);
  EXPECT_EQ(r.post_errors, 0);
  EXPECT_TRUE(r.created.empty());
  for (int i = 1; i <= 3; ++i) {
    const std::string name = "hub-stress-test-" + std::to_string(i);
    EXPECT_EQ(hub->seen("POST", "/hub/api/users/" + name + "/activity").size(), 1u) << name;
  }
  EXPECT_TRUE(hub->seen("DELETE").empty()) << "users that existed before stay";
}

TEST_F(Faults, StressTestRemovesOnlyTheUsersItCreated) {
  hub->add_user("alice");
  hub->add_user("hub-stress-test-1", ServerState::running);  // kept by an earlier run (-k)
  spawns_ready_at_once(*hub);
  hs::Session session(options());
  hs::StressOptions o;
  o.count = 2;
  o.batch_size = 2;

  const hs::StressResult r = hs::stress_test(session, o);

  EXPECT_EQ(r.created, (std::vector<std::string>{"hub-stress-test-2", "hub-stress-test-3"}));
  EXPECT_EQ(r.ready(), 2);
  EXPECT_TRUE(r.deleted);
  EXPECT_EQ(as_set(hub->user_names()), (std::set<std::string>{"alice", "hub-stress-test-1"}));
  EXPECT_TRUE(hub->seen("DELETE", "/hub/api/users/hub-stress-test-1*").empty());
  EXPECT_TRUE(hub->seen("DELETE", "/hub/api/users/alice*").empty());
  EXPECT_TRUE(hub->seen("POST", "/hub/api/users/hub-stress-test-1/server").empty());
}

TEST_F(Faults, TheJournalHoldsOnlyNamesTheRunCreated) {
  // someone makes hub-stress-test-2 between our listing and our create: the hub skips it silently
  hub->on("POST", "/hub/api/users", [this](const Call& c, httplib::Response& res) {
    if (c.hit == 1) hub->create({"hub-stress-test-2"});
    json reply = json::array();
    for (const auto& n : hub->create(json::parse(c.req.body)["usernames"].get<std::vector<std::string>>())) {
      reply.push_back({{"name", n}, {"servers", json::object()}});
    }
    reply_json(res, 201, reply);
  });
  spawns_ready_at_once(*hub);
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("hst-journal-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  hs::Journal journal = hs::Journal::start(dir.string(), "stress-test", hub->endpoint(), "hub-stress-test");
  hs::Session session(options());
  hs::StressOptions o;
  o.count = 3;
  o.batch_size = 3;
  o.keep = true;
  o.journal = &journal;

  const hs::StressResult r = hs::stress_test(session, o);

  // -2 was taken by someone else: the run replaces it with -4 past the hub's highest (issue 8)
  EXPECT_EQ(as_set(r.created), (std::set<std::string>{"hub-stress-test-1", "hub-stress-test-3", "hub-stress-test-4"}));
  // what `purge --run` would delete, read back from disk
  const hs::Journal saved = hs::Journal::load(dir.string(), journal.id());
  EXPECT_EQ(as_set(saved.outstanding()), (std::set<std::string>{"hub-stress-test-1", "hub-stress-test-3", "hub-stress-test-4"}));
  EXPECT_EQ(saved.users().count("hub-stress-test-2"), 0u) << "a name the hub already had is never this run's";
  for (const auto& [name, mark] : saved.users()) EXPECT_EQ(mark, hs::UserMark::kept) << name;
  std::filesystem::remove_all(dir);
}
