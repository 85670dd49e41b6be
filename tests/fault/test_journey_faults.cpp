// `journey` against tests/support/fake_hub.py: what a real hub won't do on demand (4.x's login
// XSRF, a proxy without the route for seconds, a kernel that never answers, a WebSocket dropped
// mid-cell, a wrong output, a failed spawn, Ctrl-C). Each must end that student's journey at the
// right step with the right reason, remove what the run made, and not hang.
#include "hubstress/scenarios/journey.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/scenarios/stress.hpp"

#include "../support/fake_hub.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include <atomic>
#include <thread>

using hubstress::testing::FakeHub;
using hubstress::testing::session_options;
namespace hs = hubstress;

namespace {

hs::JourneyOptions options(int count, int cells = 1) {
  hs::JourneyOptions o;
  o.count = count;
  o.cells = cells;
  o.think_s = 0.1;
  o.step_timeout_s = 10;
  o.server_timeout_s = 10;
  return o;
}

// Nothing of the run is left on the fake: users, servers, kernels.
void expect_nothing_left(const FakeHub& hub, const hs::JourneyResult& r) {
  const auto state = hub.state();
  EXPECT_TRUE(r.deleted);
  EXPECT_EQ(state["users"].size(), 0u) << state.dump();
  EXPECT_EQ(state["servers"].size(), 0u) << state.dump();
  EXPECT_EQ(state["kernels"], 0) << state.dump();
}

} // namespace

TEST(JourneyFaults, AFormLoginThatInsistsOnXsrfAsJupyterHub4Does) {
  FakeHub hub({"--xsrf", "--version", "4.1.0"});
  hs::Session session(session_options(hub));
  auto o = options(3);
  o.auth = hs::JourneyAuth::form;
  o.password = "any";
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 3u);
  for (const auto& s : r.students) {
    EXPECT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
    EXPECT_TRUE(s.kernel_deleted) << s.user;
  }
  const auto state = hub.state();
  EXPECT_EQ(state["logins"], 3);
  EXPECT_EQ(state["xsrf_refused"], 0);  // login form, kernel start and kernel delete all carried it
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, AProxyWithoutTheRouteForSecondsIsWaitedOutAndCountsInOpen) {
  FakeHub hub({"--proxy-503", "1.5"});
  hs::Session session(session_options(hub));
  const auto r = hs::journey(session, options(2));
  for (const auto& s : r.students) {
    ASSERT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
    const auto open = std::find_if(s.steps.begin(), s.steps.end(), [](const hs::StepTime& t) { return t.step == "open"; });
    ASSERT_NE(open, s.steps.end());
    EXPECT_GE(open->seconds, 1.4) << "the 503s before the route came must count in the open step";
  }
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, AProxyThatNeverRoutesEndsAtOpenWithinTheStepTimeout) {
  FakeHub hub({"--proxy-503", "600"});
  hs::Session session(session_options(hub));
  auto o = options(2);
  o.step_timeout_s = 1;
  const auto r = hs::journey(session, o);
  for (const auto& s : r.students) {
    EXPECT_EQ(s.failed_step, "open");
    EXPECT_NE(s.reason.find("no route through the proxy"), std::string::npos) << s.reason;
    EXPECT_NE(s.reason.find("503"), std::string::npos) << s.reason;
  }
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, AKernelThatNeverAnswersEndsAtFirstResultByTheStepTimeout) {
  FakeHub hub({"--kernel", "silent"});
  hs::Session session(session_options(hub));
  auto o = options(2);
  o.step_timeout_s = 1;
  const auto r = hs::journey(session, o);
  for (const auto& s : r.students) {
    EXPECT_EQ(s.failed_step, "first_result");
    EXPECT_EQ(s.reason, "step timed out (1 s)");
    EXPECT_TRUE(s.kernel_deleted) << "the student deletes its kernel after a failed step";
  }
  EXPECT_EQ(hub.state()["kernels_deleted"], 2);
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, AWebSocketDroppedMidCellEndsTheJourneyWithTheReason) {
  FakeHub hub({"--kernel", "drop"});
  hs::Session session(session_options(hub));
  const auto r = hs::journey(session, options(2));
  for (const auto& s : r.students) {
    EXPECT_EQ(s.failed_step, "first_result");
    EXPECT_EQ(s.reason.rfind("WebSocket closed", 0), 0u) << s.reason;
    EXPECT_TRUE(s.kernel_deleted);
  }
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, AWrongOutputIsAFailedStepWithTheOutputAsReason) {
  FakeHub hub({"--kernel", "wrong"});
  hs::Session session(session_options(hub));
  const auto r = hs::journey(session, options(1));
  ASSERT_EQ(r.students.size(), 1u);
  EXPECT_EQ(r.students[0].failed_step, "first_result");
  EXPECT_NE(r.students[0].reason.find("wrong output (expected '42'): '41 '"), std::string::npos) << r.students[0].reason;
  expect_nothing_left(hub, r);
}

// JupyterHub 5.2 with a jupyter-server 2 that has no front end (issue 22, item 13): GET /user/NAME/
// answers 200 without asking who the student is. A form-login student that counts that as open
// would go on unknown to its server (its kernel start refused 403): open must end with the
// student known to its server, or fail there saying so.
TEST(JourneyFaults, AServerRootThatAsksNoOneIsNotAnOpenServerForAFormLoginStudent) {
  FakeHub hub({"--server-root", "open", "--version", "5.2.1", "--xsrf"});
  hs::Session session(session_options(hub));
  auto o = options(2);
  o.auth = hs::JourneyAuth::form;
  o.password = "any";
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 2u);
  for (const auto& s : r.students) {
    EXPECT_EQ(s.failed_step, "open") << s.user << ": " << s.reason;
    EXPECT_NE(s.reason.find("does not know the student"), std::string::npos) << s.reason;
    EXPECT_FALSE(s.kernel_deleted) << "it never had one";
  }
  EXPECT_EQ(hub.state()["kernels_started"], 0) << "no kernel may be asked for by a student its server does not know";
  expect_nothing_left(hub, r);
}

// The same front-end-less root is no trouble for a token student: its token is checked by the API.
TEST(JourneyFaults, AServerRootThatAsksNoOneLetsATokenStudentThrough) {
  FakeHub hub({"--server-root", "open", "--version", "5.2.1"});
  hs::Session session(session_options(hub));
  const auto r = hs::journey(session, options(2));
  for (const auto& s : r.students) EXPECT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
  expect_nothing_left(hub, r);
}

// JupyterHub 5.2.1 with Notebook 7 (jupyter-server 2.20), issue 22 item 14: a first cell sent
// right after the kernel's WebSocket opened was sometimes never answered. A browser sends
// kernel_info_request and waits for its reply before it executes; so must a student. The fake
// kernel drops whatever comes before its kernel_info_reply.
TEST(JourneyFaults, AKernelThatIgnoresMessagesBeforeItsKernelInfoReplyAnswersTheFirstCell) {
  FakeHub hub({"--kernel", "info-first", "--kernel-ready", "0.3", "--version", "5.2.1"});
  hs::Session session(session_options(hub));
  auto o = options(3, 2);
  o.step_timeout_s = 5;
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 3u);
  for (const auto& s : r.students) EXPECT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
  const auto state = hub.state();
  EXPECT_EQ(state["ignored_before_info"], 0) << "a cell was sent before the kernel's kernel_info_reply";
  EXPECT_GE(state["kernel_info_replies"], 3);
  EXPECT_EQ(state["cells"], 6);
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, AFailedSpawnEndsThatStudentAtReadyWithTheSpawnersMessageAndNoOtherOne) {
  FakeHub hub({"--fail-every", "2"});
  hs::Session session(session_options(hub));
  const auto r = hs::journey(session, options(4, 2));
  ASSERT_EQ(r.students.size(), 4u);
  int failed = 0;
  for (const auto& s : r.students) {
    const bool even = (s.user.back() - '0') % 2 == 0;
    if (even) {
      ++failed;
      EXPECT_EQ(s.failed_step, "ready") << s.user;
      EXPECT_EQ(s.reason, "spawn failed: fake spawner refused " + s.user);
      EXPECT_FALSE(s.kernel_deleted) << "it never had one";
    } else {
      EXPECT_TRUE(s.ok()) << s.user << ": " << s.reason;
    }
  }
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(r.failed(), 2);
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, AnInterruptEndsEveryStudentAndStillRemovesTheUsers) {
  FakeHub hub({"--spawn-delay", "30"});
  hs::Session session(session_options(hub));
  std::atomic<int> signals{0};
  session.set_interrupt_flag(&signals);
  auto o = options(4);
  o.ramp_up_s = 20;
  o.arrival = hs::Arrival::uniform;  // the first at 0 s (waiting for its server), the others later
  std::thread ctrl_c([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    signals = 1;
  });
  const auto r = hs::journey(session, o);
  ctrl_c.join();
  EXPECT_TRUE(r.interrupted);
  ASSERT_EQ(r.students.size(), 4u);
  EXPECT_EQ(r.students[0].failed_step, "ready");
  EXPECT_EQ(r.students[0].reason, "interrupted");
  for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ(r.students[i].failed_step, "arrival");
  expect_nothing_left(hub, r);
}

TEST(JourneyFaults, ADryRunPlaysEveryStudentAndSendsNothing) {
  FakeHub hub;
  auto opts = session_options(hub);
  opts.dry_run = true;
  hs::Session session(opts);
  const auto r = hs::journey(session, options(3, 2));
  EXPECT_EQ(r.created.size(), 3u) << "the names it would create";
  ASSERT_EQ(r.students.size(), 3u);
  for (const auto& s : r.students) {
    EXPECT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
    EXPECT_TRUE(s.time_to_first_result_s.has_value()) << s.user;
  }
  std::set<hs::ApiKind> kinds;
  for (const auto& rec : session.records()) kinds.insert(rec.kind);
  for (auto k : {hs::ApiKind::create_token, hs::ApiKind::start_server, hs::ApiKind::progress, hs::ApiKind::open_server,
                 hs::ApiKind::start_kernel, hs::ApiKind::kernel_socket, hs::ApiKind::delete_kernel}) {
    EXPECT_EQ(kinds.count(k), 1u) << "no " << hs::to_string(k) << " record in the dry run";
  }
  const auto state = hub.state();
  EXPECT_EQ(state["users"].size(), 0u);
  EXPECT_EQ(state["kernels_started"], 0);
  EXPECT_EQ(state["requests"], 0) << "dry-run sent requests to the hub";
}

// stress-test on the fake hub: its progress stream still ends after the spawn window, done with
// the ready event, has gone. That end must be dropped, not handed to the window (it crashed the
// whole run, in the clean-up, once every server was ready).
TEST(StressFaults, AProgressStreamThatEndsAfterItsWindowClosedIsDropped) {
  FakeHub hub;
  hs::Session session(session_options(hub));
  hs::StressOptions o;
  o.count = 5;
  o.batch_size = 5;
  o.server_deadline_s = 10;
  const hs::StressResult r = hs::stress_test(session, o);
  EXPECT_EQ(r.created.size(), 5u);
  EXPECT_EQ(r.ready(), 5);
  EXPECT_TRUE(r.deleted);
  const auto state = hub.state();
  EXPECT_EQ(state["users"].size(), 0u) << state.dump();
  EXPECT_EQ(state["servers"].size(), 0u) << state.dump();
}

// Issue 22 item 7: tokens minted before a distant --start-at live through the wait and the journey.
TEST(JourneyFaults, StudentTokensLiveThroughTheWaitForStartAtAndTheJourney) {
  FakeHub hub;
  hs::Session session(session_options(hub));
  auto o = options(2);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  o.load_at_unix_s = now + 3 * 3600;  // --start-at three hours ahead
  int waits = 0;
  o.before_load = [&] { ++waits; };  // the wait itself is --start-at's (wait_for_start): not three hours here
  const auto r = hs::journey(session, o);
  EXPECT_EQ(waits, 1);
  // a student's longest journey: the last arrival, then every step to its time-out, cells and pauses
  const double longest = o.ramp_up_s + o.server_timeout_s + o.step_timeout_s * (4 + o.cells) + o.think_s * o.cells;
  const auto state = hub.state();
  ASSERT_EQ(state["token_expires_in"].size(), 2u) << state.dump();
  for (const auto& asked : state["token_expires_in"]) EXPECT_GE(asked.get<double>(), 3 * 3600 + longest) << state.dump();
  expect_nothing_left(hub, r);
}
