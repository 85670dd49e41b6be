// Issue 22 item 15, against tests/support/fake_hub.py: a hub that restarts behind a proxy is answered
// 404 for every route (its health check included) until it is back. Spawns and the metrics watcher
// ask again while its health check fails or has just recovered; a 404 from a hub that is healthy
// (and was a moment ago) is still the hub's answer.
#include "hubstress/hub/health.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/hub/spawn.hpp"
#include "hubstress/hub/watch.hpp"
#include "hubstress/scenarios/journey.hpp"
#include "hubstress/scenarios/stress.hpp"

#include "../support/fake_hub.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <optional>

using hubstress::testing::FakeHub;
using hubstress::testing::session_options;
namespace hs = hubstress;

namespace {

std::size_t count_kind(const std::vector<hs::RequestRecord>& records, hs::ApiKind kind) {
  return static_cast<std::size_t>(std::count_if(records.begin(), records.end(), [&](const hs::RequestRecord& r) { return r.kind == kind; }));
}

// Begins `seconds` of 404s for every route of the fake hub, now.
void restart(const FakeHub& hub, double seconds) {
  const std::string url = hub.url();
  httplib::Client client("127.0.0.1", std::stoi(url.substr(url.rfind(':') + 1)));
  const auto res = client.Get("/_restart?seconds=" + std::to_string(seconds));
  ASSERT_TRUE(res && res->status == 200);
}

} // namespace

TEST(RestartingHub, SpawnsAnswered404WhileTheHubRestartsAreAskedAgain) {
  FakeHub hub({"--restart-404", "2.5"});
  hs::Session session(session_options(hub));
  hs::StressOptions o;
  o.count = 4;
  o.batch_size = 2;
  o.server_deadline_s = 30;
  const auto r = hs::stress_test(session, o);
  ASSERT_EQ(r.spawns.size(), 4u);
  for (const auto& s : r.spawns) EXPECT_EQ(s.state, hs::SpawnState::ready) << s.user << ": " << hs::to_string(s.state) << ": " << s.reason;
  const auto state = hub.state();
  EXPECT_GE(state["restart_404s"].get<int>(), 2) << state.dump();  // the restart happened, and was seen
  EXPECT_TRUE(r.deleted);
  EXPECT_EQ(state["users"].size(), 0u) << state.dump();
}

TEST(RestartingHub, AStudentsSpawnIsAskedAgainToo) {
  FakeHub hub({"--restart-404", "2.5"});
  hs::Session session(session_options(hub));
  hs::JourneyOptions o;
  o.count = 2;
  o.cells = 1;
  o.think_s = 0.1;
  o.step_timeout_s = 20;
  o.server_timeout_s = 20;
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 2u);
  for (const auto& s : r.students) EXPECT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
  EXPECT_GE(hub.state()["restart_404s"].get<int>(), 2);
}

TEST(RestartingHub, A404FromAHealthyHubIsTheHubsAnswer) {
  FakeHub hub;
  hs::Session session(session_options(hub));
  hs::SpawnPlan plan;
  plan.user = "hub-stress-test-404";  // no such user: the hub answers 404
  plan.start = session.request(hs::ApiKind::start_server, "/users/hub-stress-test-404/server", "{}");
  plan.progress = session.request(hs::ApiKind::progress, "/users/hub-stress-test-404/server/progress");
  plan.start_timeout_s = 30;
  plan.ready_timeout_s = 30;
  const hs::ThrottleWait never = [](const hs::Response&) -> hs::Task<hs::ThrottleAnswer> { co_return hs::ThrottleAnswer{}; };
  std::function<void(const hs::SpawnEnd&)> no_hook;
  std::optional<hs::SpawnEnd> end;
  const std::stop_token unstoppable;  // named, not a default argument's temporary inside co_await (GCC 12)
  session.run([&]() -> hs::Task<void> {
    end = co_await hs::spawn_and_wait(session.admin(), std::move(plan), never, std::move(no_hook), unstoppable);
  }());
  ASSERT_TRUE(end);
  EXPECT_EQ(end->how, hs::SpawnHow::refused) << end->reason;
  EXPECT_NE(end->reason.find("404"), std::string::npos) << end->reason;
  EXPECT_EQ(count_kind(session.records(), hs::ApiKind::start_server), 1u) << "a real 404 was asked again";
}

TEST(RestartingHub, TheMetricsWatcherGoesOnAfterA404WhileTheHubRestarts) {
  FakeHub hub;
  hs::Session session(session_options(hub));
  auto options = session_options(hub);
  options.loop = session.loop();
  hs::HubWatch watch(options, 0.25);
  session.pause(0.8);
  const int before = hub.state()["metrics_scrapes"].get<int>();
  ASSERT_GE(before, 1);
  restart(hub, 1.5);
  session.pause(1.6);  // the scrapes meanwhile are answered 404
  const int during = hub.state()["metrics_scrapes"].get<int>();
  session.pause(1.5);
  const auto samples = watch.stop();
  const auto state = hub.state();
  EXPECT_GE(state["restart_404s"].get<int>(), 2) << state.dump();
  EXPECT_GE(state["metrics_scrapes"].get<int>(), during + 2) << "the watcher stopped scraping after the restart's 404";
  EXPECT_GE(samples.size(), static_cast<std::size_t>(before + 2));
}

TEST(RestartingHub, MetricsAHealthyHubDoesNotServeAreNotAskedAgain) {
  FakeHub hub({"--metrics", "404"});
  hs::Session session(session_options(hub));
  auto options = session_options(hub);
  options.loop = session.loop();
  hs::HubWatch watch(options, 0.2);
  session.pause(1.5);
  watch.stop();
  EXPECT_EQ(count_kind(watch.records(), hs::ApiKind::metrics), 1u);
}

TEST(HubHealth, UnsettledWhileFailingAndForAWhileAfter) {
  using Clock = hs::HubHealth::Clock;
  hs::HubHealth health;
  const auto t = Clock::now();
  EXPECT_FALSE(health.unsettled(t));
  EXPECT_TRUE(health.saw(false, t));
  EXPECT_TRUE(health.unsettled(t + std::chrono::hours(1)));  // failing until a check says otherwise
  EXPECT_FALSE(health.saw(false, t + std::chrono::seconds(1)));
  EXPECT_TRUE(health.saw(true, t + std::chrono::seconds(2)));
  EXPECT_TRUE(health.unsettled(t + std::chrono::seconds(2)));  // just recovered
  EXPECT_TRUE(health.unsettled(t + std::chrono::seconds(1) + hs::HubHealth::kSettleTime - std::chrono::milliseconds(1)));
  EXPECT_FALSE(health.unsettled(t + std::chrono::seconds(1) + hs::HubHealth::kSettleTime));
}
