// The loop without a network: sleeps, stop requests, groups, thousands of flows on one thread,
// and Ctrl-C turned into stop requests.
#include "hubstress/engine/loop.hpp"

#include "../support/engine_testing.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

namespace engine = hubstress::engine;
using hubstress::testing::run_flow;
using namespace std::chrono_literals;

TEST(EngineLoop, ASleepEndsOkWhenItsTimeIsUp) {
  engine::Loop loop;
  engine::Result result{engine::Errc::cancelled, "not run"};
  auto start = engine::Clock::now();
  engine::Clock::time_point end;
  run_flow(loop, [&]() -> engine::Task<void> {
    result = co_await engine::sleep(20ms);
    end = engine::Clock::now();
  });
  EXPECT_TRUE(result) << result.reason;
  EXPECT_GE(end - start, 20ms); // a lower bound only: the loop may be late, never early
}

TEST(EngineLoop, AStopRequestEndsThousandsOfSleepingFlowsAndEachRunsItsCleanUp) {
  engine::Loop loop;
  std::stop_source stop;
  constexpr int kFlows = 5000;
  int suspended = 0;
  int cancelled = 0;
  int cleaned_up = 0;
  auto flow = [&]() -> engine::Task<void> {
    ++suspended;
    const auto slept = co_await engine::sleep(1h, stop.get_token());
    if (slept.errc == engine::Errc::cancelled) ++cancelled;
    ++cleaned_up; // clean-up runs after the cancelled await
  };
  auto stopper = [&]() -> engine::Task<void> {
    co_await engine::sleep(1ms);
    EXPECT_EQ(suspended, kFlows); // all of them are waiting at once, on this one thread
    stop.request_stop();
  };
  for (int i = 0; i < kFlows; ++i) loop.spawn(flow());
  loop.spawn(stopper());
  loop.run();
  EXPECT_EQ(cancelled, kFlows);
  EXPECT_EQ(cleaned_up, kFlows);
}

TEST(EngineLoop, AnAwaitOnAStopAlreadyRequestedEndsAtOnce) {
  engine::Loop loop;
  std::stop_source stop;
  stop.request_stop();
  engine::Result result;
  run_flow(loop, [&]() -> engine::Task<void> { result = co_await engine::sleep(1h, stop.get_token()); });
  EXPECT_EQ(result.errc, engine::Errc::cancelled);
}

TEST(EngineLoop, AGroupWaitsForAllItsFlowsAndRethrowsTheFirstError) {
  engine::Loop loop;
  std::vector<int> finished;
  bool caught = false;
  run_flow(loop, [&]() -> engine::Task<void> {
    engine::Group group(loop);
    for (int i = 3; i >= 1; --i) {
      group.spawn([](int n, std::vector<int>& out) -> engine::Task<void> {
        co_await engine::sleep(std::chrono::milliseconds(n * 5));
        out.push_back(n);
      }(i, finished));
    }
    group.spawn([]() -> engine::Task<void> {
      co_await engine::sleep(1ms);
      throw std::runtime_error("flow failed");
    }());
    EXPECT_EQ(group.running(), 4u);
    try {
      co_await group.wait();
    } catch (const std::runtime_error&) {
      caught = true;
    }
    EXPECT_EQ(group.running(), 0u);
  });
  EXPECT_TRUE(caught);
  EXPECT_EQ(finished, (std::vector<int>{1, 2, 3}));
}

TEST(EngineLoop, AnExceptionEscapingAFlowComesOutOfRun) {
  engine::Loop loop;
  loop.spawn([]() -> engine::Task<void> {
    co_await engine::sleep(1ms);
    throw std::logic_error("bug in a flow");
  }());
  EXPECT_THROW(loop.run(), std::logic_error);
}

TEST(EngineLoop, CtrlCStopsTheWorkThenASecondOneStopsTheCleanUp) {
  engine::Loop loop;
  engine::Interrupt interrupt;
  loop.on_signals({SIGINT}, [&](int) { interrupt.raise(); });
  engine::Result work, cleanup;
  run_flow(loop, [&]() -> engine::Task<void> {
    auto ctrl_c = [](engine::Clock::duration after) -> engine::Task<void> {
      co_await engine::sleep(after);
      std::raise(SIGINT);
    };
    engine::Group presses(loop);
    presses.spawn(ctrl_c(5ms));
    presses.spawn(ctrl_c(30ms));
    work = co_await engine::sleep(1h, interrupt.work.get_token());
    cleanup = co_await engine::sleep(1h, interrupt.cleanup.get_token()); // a clean-up that hangs
    co_await presses.wait();
  });
  EXPECT_EQ(work.errc, engine::Errc::cancelled);
  EXPECT_EQ(cleanup.errc, engine::Errc::cancelled);
}
