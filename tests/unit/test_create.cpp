// create_users against a hub (a responder) that already holds some of the names the run picks, as
// when several runs or shards start together: the run ends with exactly its count, and never claims,
// journals or deletes a name another client had.
#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/hub/users.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

using namespace hubstress;
using nlohmann::json;

namespace {

// Just enough of POST /users and GET /users: names already there are skipped (201 with the rest),
// a batch of only such names gets 409, as JupyterHub 3.0 does.
struct FakeHub {
  std::set<std::string> users;
  int creates = 0;

  engine::Answer answer(const engine::Request& req) {
    engine::Answer r;
    if (req.method == "POST" && req.url == "/users") {
      ++creates;
      json made = json::array();
      const json body = json::parse(req.body);
      for (const auto& n : body["usernames"]) {
        if (users.insert(n.get<std::string>()).second) made.push_back({{"name", n}});
      }
      r.status = made.empty() ? 409 : 201;
      r.body = made.empty() ? R"({"status": 409, "message": "All users already exist"})" : made.dump();
    } else if (req.method == "GET" && req.url.rfind("/users?", 0) == 0) {
      json items = json::array();
      for (const auto& n : users) items.push_back({{"name", n}});
      r.status = 200;
      r.body = json{{"items", items}, {"_pagination", {{"offset", 0}, {"limit", 200}, {"total", users.size()}, {"next", nullptr}}}}.dump();
    } else {
      r.status = 404;
    }
    return r;
  }
};

SessionOptions options_for(FakeHub& hub) {
  SessionOptions o;
  o.endpoint = "http://hub.invalid";
  o.token = "unit-test-token-0123456789";
  o.stand_in.http = [&hub](const engine::Request& r) { return hub.answer(r); };
  return o;
}

std::vector<std::string> flat(const std::vector<std::vector<std::string>>& batches) {
  std::vector<std::string> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

} // namespace

TEST(CreateUsers, NamesAnotherRunTookAreReplacedUntilTheCountIsReached) {
  FakeHub hub;
  // another run created these after this run listed the hub (this run saw none of them)
  const std::set<std::string> others{"hub-stress-test-3", "hub-stress-test-4", "hub-stress-test-11",
                                     "hub-stress-test-12", "hub-stress-test-13", "hub-stress-test-14",
                                     "hub-stress-test-15", "hub-stress-test-16", "hub-stress-test-17"};
  hub.users = others;
  Session session(options_for(hub));
  std::vector<std::string> forgotten;
  std::vector<std::string> reported;
  CreateHooks hooks;
  hooks.after_batch = [&](const std::vector<std::string>& batch, const std::vector<std::string>& ours, const std::vector<std::string>&) {
    reported.insert(reported.end(), ours.begin(), ours.end());
    for (const auto& n : batch) {
      if (std::find(ours.begin(), ours.end(), n) == ours.end()) forgotten.push_back(n);
    }
  };
  const auto created = flat(create_users(10, 5, session, {}, kDefaultPrefix, &hooks));
  ASSERT_EQ(created.size(), 10u);
  EXPECT_EQ(std::set<std::string>(created.begin(), created.end()).size(), 10u);
  for (const auto& n : created) EXPECT_EQ(others.count(n), 0u) << n << " belonged to the other run";
  EXPECT_EQ(reported, created);
  // 1-5 gave 1, 2, 5 (3, 4 taken); the next names start past the highest on the hub (17)
  EXPECT_EQ(created, (std::vector<std::string>{"hub-stress-test-1", "hub-stress-test-2", "hub-stress-test-5",
                                               "hub-stress-test-18", "hub-stress-test-19", "hub-stress-test-20",
                                               "hub-stress-test-21", "hub-stress-test-22", "hub-stress-test-23",
                                               "hub-stress-test-24"}));
  std::sort(forgotten.begin(), forgotten.end());
  EXPECT_EQ(forgotten, (std::vector<std::string>{"hub-stress-test-3", "hub-stress-test-4"}));
}

TEST(CreateUsers, ABatchTheHubRefusesWith409IsReplacedNotFatal) {
  FakeHub hub;
  hub.users = {"hub-stress-test-1", "hub-stress-test-2", "hub-stress-test-3"};
  Session session(options_for(hub));
  const auto created = flat(create_users(3, 3, session, {}, kDefaultPrefix, nullptr));
  EXPECT_EQ(created, (std::vector<std::string>{"hub-stress-test-4", "hub-stress-test-5", "hub-stress-test-6"}));
  EXPECT_EQ(hub.creates, 2);
}

TEST(CreateUsers, ARunThatCannotGetItsCountFailsLoudlyAndNamesOnlyItsOwn) {
  FakeHub hub;
  SessionOptions o = options_for(hub);
  int creates = 0;
  // a hub where every name is always taken already (another client always wins)
  o.stand_in.http = [&](const engine::Request& r) {
    engine::Answer a;
    if (r.method == "POST") {
      ++creates;
      a.status = 409;
      a.body = R"({"message": "All users already exist"})";
      return a;
    }
    return hub.answer(r);
  };
  Session stubborn(o);
  std::vector<std::string> reported;
  CreateHooks hooks;
  hooks.after_batch = [&](const std::vector<std::string>&, const std::vector<std::string>& ours, const std::vector<std::string>&) {
    reported.insert(reported.end(), ours.begin(), ours.end());
  };
  EXPECT_THROW(create_users(5, 5, stubborn, {}, kDefaultPrefix, &hooks), HubError);
  EXPECT_TRUE(reported.empty());
  EXPECT_GT(creates, 1);    // it did try new names
  EXPECT_LT(creates, 200);  // and gave up
}
