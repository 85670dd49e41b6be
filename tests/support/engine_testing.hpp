#pragma once
// Helpers for tests whose body is a coroutine on an engine::Loop.
#include "hubstress/engine/loop.hpp"

#include <gtest/gtest.h>

// ASSERT_* returns from a function; a coroutine must co_return instead.
#define CO_ASSERT_TRUE(condition)                                                                                     \
  if (!(condition)) {                                                                                                 \
    ADD_FAILURE() << "expected: " #condition;                                                                         \
    co_return;                                                                                                        \
  }

namespace hubstress::testing {

// Runs one flow to its end on `loop`. The callable is kept alive here: a coroutine lambda's
// captures live in the lambda object, not in the coroutine frame.
template <class Flow> void run_flow(engine::Loop& loop, Flow&& flow) {
  auto keep = std::forward<Flow>(flow);
  loop.spawn(keep());
  loop.run();
}

} // namespace hubstress::testing
