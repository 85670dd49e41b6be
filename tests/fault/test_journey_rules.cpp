// The rules of a journey as README (journey), `journey --help` and docs/report-schema.md state
// them, each pinned against tests/support/fake_hub.py with a fault or a delay it can make on demand
// (issue 25): how each step is timed and from when, at which step and with which reason each way a
// student can end, what the clean-up does and reports, and how the students are counted. A time
// that must include a known delay is checked against that delay (never an upper bound on speed).
// Every rule has its mutation in bench/mutants.txt (journey-...).
#include "hubstress/engine/loop.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/report/summary.hpp"
#include "hubstress/scenarios/journey.hpp"

#include "../support/fake_hub.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
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

const hs::StepTime& step(const hs::StudentRecord& s, const std::string& name) {
  static const hs::StepTime none{"(none)", -1, -1};
  for (const auto& t : s.steps) {
    if (t.step == name) return t;
  }
  ADD_FAILURE() << s.user << " has no step " << name << " (failed: " << s.failed_step << ": " << s.reason << ")";
  return none;
}

double end_of(const hs::StepTime& t) { return t.start_s + t.seconds; }

hs::JourneySummary summary_of(const hs::JourneyResult& r, const hs::JourneyOptions& o) {
  hs::SummaryInputs in;
  in.command = "journey";
  in.requested_users = o.count;
  in.journey = &r;
  in.journey_options = &o;
  const hs::Summary s = hs::build_summary(in);
  return s.journey ? *s.journey : hs::JourneySummary{};
}

// Keeps the run's event loop busy for `block` once the students' phase has begun, as a loaded
// load machine does: a student due meanwhile starts late.
class BusyLoop {
public:
  BusyLoop(hs::Session& session, std::chrono::milliseconds block)
      : ticker_(*session.loop(), std::chrono::milliseconds(20), [this, &session, block] {
          if (done_ || session.progress().phase != hs::Phase::journey) return;
          done_ = true;
          std::this_thread::sleep_for(block);
        }) {}

private:
  bool done_ = false;
  hs::engine::Ticker ticker_;
};

constexpr double kNear = 1e-6;  // seconds: two figures taken from the same instant

} // namespace

// README: "its clock starts at its scheduled arrival: if the tool starts it late, the lateness
// counts in its times and in late starts"; each step from the end of the one before (ready from
// the start request), --think between cells not part of a cell; time_to_first_result "from the
// scheduled arrival to the first cell's result". Each fake delay must show in its step.
TEST(JourneyRules, EachStepIsTimedFromTheEndOfTheOneBeforeAndTheHeadlineFromTheScheduledArrival) {
  constexpr double login_delay = 0.25;  // the login page and the login POST, each
  constexpr double spawn_delay = 1.0, no_route = 0.3, kernel_ready = 0.4, cell_delay = 0.3, think = 0.5;
  FakeHub hub({"--login-delay", "0.25", "--spawn-delay", "1", "--proxy-503", "0.3", "--kernel-ready", "0.4", "--cell-delay",
               "0.3"});
  hs::Session session(session_options(hub));
  BusyLoop busy(session, std::chrono::milliseconds(1200));
  auto o = options(2, 2);
  o.auth = hs::JourneyAuth::form;
  o.password = "any";
  o.ramp_up_s = 1;
  o.arrival = hs::Arrival::uniform;  // at 0 s and at 0.5 s: the second is due while the loop is busy
  o.think_s = think;
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 2u);
  EXPECT_NEAR(r.students[1].scheduled_s, 0.5, kNear);
  EXPECT_GE(r.students[1].late_s, 0.5) << "due at 0.5 s, started after the loop's 1.2 s of work";
  for (const auto& s : r.students) {
    ASSERT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
    const auto &login = step(s, "login"), &spawn = step(s, "spawn"), &ready = step(s, "ready"), &open = step(s, "open"),
               &kernel = step(s, "kernel"), &first = step(s, "first_result"), &cell = step(s, "cell");
    // the first step starts at the scheduled arrival, however late the student started
    EXPECT_NEAR(login.start_s, s.scheduled_s, kNear) << s.user;
    EXPECT_GE(login.seconds, s.late_s + 2 * login_delay) << s.user << ": the lateness and both login requests";
    EXPECT_NEAR(spawn.start_s, end_of(login), kNear) << s.user;
    EXPECT_GE(ready.start_s, spawn.start_s) << s.user;
    EXPECT_GE(ready.seconds, spawn_delay) << s.user << ": from the start request to the ready event";
    EXPECT_NEAR(open.start_s, end_of(ready), kNear) << s.user;
    EXPECT_GE(open.seconds, no_route - 0.05) << s.user << ": the proxy's 503s until the route came";
    EXPECT_NEAR(kernel.start_s, end_of(open), kNear) << s.user;
    EXPECT_GE(kernel.seconds, kernel_ready) << s.user << ": until the kernel_info_reply";
    EXPECT_NEAR(first.start_s, end_of(kernel), kNear) << s.user;
    EXPECT_GE(first.seconds, cell_delay) << s.user << ": until the cell's output, idle and execute_reply";
    EXPECT_GE(cell.start_s, end_of(first) + think - 0.001) << s.user << ": --think is not part of a cell";
    EXPECT_GE(cell.seconds, cell_delay) << s.user;
    ASSERT_TRUE(s.time_to_first_result_s.has_value()) << s.user;
    const double ttfr = *s.time_to_first_result_s;
    EXPECT_NEAR(ttfr, end_of(first) - s.scheduled_s, kNear) << s.user << ": from the scheduled arrival to the first result";
    EXPECT_GE(ttfr, s.late_s + 2 * login_delay + spawn_delay + no_route - 0.05 + kernel_ready + cell_delay) << s.user;
  }
  const auto j = summary_of(r, o);
  int late = 0;
  double latest = 0;
  for (const auto& s : r.students) {
    late += s.late_s > hs::kLateStart;
    latest = std::max(latest, s.late_s);
  }
  EXPECT_GE(late, 1);
  EXPECT_EQ(j.late_starts, static_cast<std::size_t>(late));
  EXPECT_DOUBLE_EQ(j.max_late_s, latest);
  EXPECT_EQ(j.completed, 2u);
}

// README: "a login is done only on the 302" (3.0 answers a refused login with the form again;
// later versions may answer 403); a redirect back to the login page is no login either.
TEST(JourneyRules, ALoginIsDoneOnlyOnItsRedirectAndEachRefusalSaysWhichItWas) {
  FakeHub hub({"--faults", "login-form,login-back,login-403,ok"});
  hs::Session session(session_options(hub));
  auto o = options(4);
  o.auth = hs::JourneyAuth::form;
  o.password = "any";
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 4u);
  const std::vector<std::string> reasons{"login refused (the hub showed the login form again)",
                                         "login refused (sent back to the login page)",
                                         "login refused: HTTP 403: Invalid username or password"};
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    EXPECT_EQ(r.students[i].failed_step, "login") << r.students[i].user << ": " << r.students[i].reason;
    EXPECT_EQ(r.students[i].reason, reasons[i]) << r.students[i].user;
    EXPECT_TRUE(r.students[i].steps.empty()) << r.students[i].user;
  }
  EXPECT_TRUE(r.students[3].ok()) << r.students[3].failed_step << ": " << r.students[3].reason;
  EXPECT_EQ(hub.state()["starts"], 1) << "a student whose login was refused started no server";
  const auto j = summary_of(r, o);
  EXPECT_EQ(j.failed, 3u);
  EXPECT_EQ(j.steps[0].name, "login");
  EXPECT_EQ(j.steps[0].failed, 3u);
  EXPECT_EQ(j.steps[0].seconds.count, 1u);
}

// README: "A failed step ends that student's journey with a reason (...), grouped in every
// report; the other students go on"; "Every step but ready has --step-timeout" and ready has
// --server-timeout; the student deletes its kernel, and kernels_deleted counts the kernels the
// server said it deleted. One student per fault (fake_hub.py --faults), all in one class.
TEST(JourneyRules, EachWayAStudentEndsHasItsStepAndItsReasonAndTheOthersGoOn) {
  FakeHub hub({"--spawn-delay", "3", "--kernel-ready", "0", "--faults",
               "ok,spawn-403,spawn-fail,spawn-hang,kernel-500,ws-403,raise,wrong,silent,delete-500"});
  hs::Session session(session_options(hub));
  auto o = options(10);
  o.step_timeout_s = 2;    // shorter than the spawn: ready must not be held to it
  o.server_timeout_s = 5;  // longer than the spawn, ends the one that hangs
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 10u);
  struct Expected {
    std::string step, reason;
    bool kernel_deleted;
  };
  const std::vector<Expected> expected{
      {"", "", true},
      {"spawn", "start request: HTTP 403: the fake hub refuses to start hub-stress-test-2", false},
      {"ready", "spawn failed: fake spawner refused hub-stress-test-3", false},
      {"ready", "step timed out (5 s)", false},
      {"kernel", "kernel start failed: HTTP 500: no kernel for hub-stress-test-5", false},
      {"kernel", "kernel WebSocket did not open: ", true},  // then the server's refusal, checked below
      {"first_result", "the cell raised ZeroDivisionError: division by zero", true},
      {"first_result", "wrong output (expected '42'): '41 '", true},
      {"first_result", "step timed out (2 s)", true},
      {"", "", false},  // every step worked; its server refused to delete the kernel
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& s = r.students[i];
    ASSERT_EQ(s.user, "hub-stress-test-" + std::to_string(i + 1));
    EXPECT_EQ(s.failed_step, expected[i].step) << s.user << ": " << s.reason;
    if (i == 3) {
      EXPECT_EQ(s.reason.rfind(expected[i].reason, 0), 0u) << s.user << ": " << s.reason;  // and what was heard last
    } else if (i == 5) {
      EXPECT_EQ(s.reason.rfind(expected[i].reason, 0), 0u) << s.user << ": " << s.reason;
      EXPECT_NE(s.reason.find("403"), std::string::npos) << s.user << ": " << s.reason;
    } else {
      EXPECT_EQ(s.reason, expected[i].reason) << s.user;
    }
    EXPECT_EQ(s.kernel_deleted, expected[i].kernel_deleted) << s.user;
  }
  EXPECT_GE(step(r.students[0], "ready").seconds, 3.0) << "the spawn's 3 s, beyond --step-timeout";
  EXPECT_FALSE(r.students[9].kernel_deleted) << "the server answered 500 to its deletion";
  const auto state = hub.state();
  EXPECT_EQ(state["kernel_deletes_refused"], 1);
  EXPECT_EQ(state["kernels"], 1) << "the kernel whose deletion was refused";
  EXPECT_EQ(state["kernels_deleted"], 5);
  EXPECT_TRUE(r.deleted);
  EXPECT_EQ(state["users"].size(), 0u) << state.dump();

  const auto j = summary_of(r, o);
  EXPECT_EQ(j.students, 10u);
  EXPECT_EQ(j.completed, 2u);
  EXPECT_EQ(j.failed, 8u);
  EXPECT_EQ(j.interrupted, 0u);
  EXPECT_DOUBLE_EQ(j.failure_rate_pct, 80.0);
  EXPECT_EQ(j.kernels_deleted, 5u) << "as the servers answered: 204 five times, 500 once";
  for (const auto& [name, failed] : std::vector<std::pair<std::string, std::size_t>>{
           {"spawn", 1}, {"ready", 2}, {"open", 0}, {"kernel", 2}, {"first_result", 3}}) {
    EXPECT_EQ(hs::find_step(j, name)->failed, failed) << name;
  }
  bool grouped = false;
  for (const auto& f : j.failures) grouped |= f.reason == "spawn: start request: HTTP 403: the fake hub refuses to start {user}";
  EXPECT_TRUE(grouped) << "the reason, as every report groups it";
}

// README: "Ctrl-C ends every student's current step at once and cleans up"; the Students line:
// "whom a signal stopped on the way or before they arrived, counted apart: not failures". The
// student's kernel is deleted after the first Ctrl-C too.
TEST(JourneyRules, CtrlCMidCellIsAnInterruptionNotAFailureAndTheKernelIsStillDeleted) {
  FakeHub hub({"--kernel", "silent", "--kernel-ready", "0"});
  hs::Session session(session_options(hub));
  std::atomic<int> signals{0};
  session.set_interrupt_flag(&signals);
  auto o = options(3);
  o.ramp_up_s = 30;
  o.arrival = hs::Arrival::uniform;  // the first at 0 s, in its silent cell when the signal comes; the others later
  o.step_timeout_s = 20;
  std::thread ctrl_c([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    signals = 1;
  });
  const auto r = hs::journey(session, o);
  ctrl_c.join();
  EXPECT_TRUE(r.interrupted);
  ASSERT_EQ(r.students.size(), 3u);
  EXPECT_EQ(r.students[0].failed_step, "first_result");
  EXPECT_EQ(r.students[0].reason, "interrupted");
  EXPECT_TRUE(r.students[0].kernel_deleted) << "its kernel is deleted after the first Ctrl-C";
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(r.students[i].failed_step, "arrival");
    EXPECT_EQ(r.students[i].reason, "interrupted before it arrived");
  }
  const auto state = hub.state();
  EXPECT_EQ(state["kernels_deleted"], 1);
  EXPECT_EQ(state["kernels"], 0);
  EXPECT_EQ(state["users"].size(), 0u) << state.dump();

  const auto j = summary_of(r, o);
  EXPECT_EQ(j.completed, 0u);
  EXPECT_EQ(j.failed, 0u);
  EXPECT_EQ(j.interrupted, 3u);
  EXPECT_EQ(j.never_arrived, 2u);
  EXPECT_DOUBLE_EQ(j.failure_rate_pct, 0.0);
  EXPECT_TRUE(j.failures.empty()) << j.failures.front().reason;
  EXPECT_EQ(hs::find_step(j, "first_result")->failed, 0u);
}

// README: "the run stops the servers and deletes the users unless -k"; the students' kernels go
// either way (the student's own clean-up).
TEST(JourneyRules, WithKeepTheUsersAndTheirServersStayAndTheKernelsGo) {
  FakeHub hub;
  hs::Session session(session_options(hub));
  auto o = options(2);
  o.keep = true;
  const auto r = hs::journey(session, o);
  for (const auto& s : r.students) EXPECT_TRUE(s.ok() && s.kernel_deleted) << s.user << ": " << s.reason;
  EXPECT_TRUE(r.deleted) << "nothing was to be deleted";
  const auto state = hub.state();
  EXPECT_EQ(state["users"].size(), 2u) << state.dump();
  EXPECT_EQ(state["servers"].size(), 2u) << state.dump();
  EXPECT_EQ(state["kernels"], 0);
}
