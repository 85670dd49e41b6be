// The live line: the phase and elapsed time first, then only the counters that apply to the phase.
#include "hubstress/model/progress.hpp"

#include <gtest/gtest.h>

using namespace hubstress;

TEST(ProgressLine, EachPhaseShowsElapsedTimeAndOnlyItsOwnCounters) {
  Progress p;
  p.total = 100;
  p.created = 60;
  EXPECT_EQ(progress_line(p, Phase::create, 3.7), "[create 0:03] created 60/100");
  p.created = 100;
  p.requested = 40;
  p.ready = 28;
  p.failed = 2;
  EXPECT_EQ(progress_line(p, Phase::spawn, 65), "[spawn 1:05] ready 28/100 | pending 10 | failed 2");
  p.activity = 512;
  EXPECT_EQ(progress_line(p, Phase::activity, 10), "[activity 0:10] users 100 | activity updates 512");
  p.to_delete = 100;
  p.stopped = 35;
  p.deleted = 30;
  EXPECT_EQ(progress_line(p, Phase::delete_users, 600), "[delete 10:00] stopped 35 | deleted 30/100");
  p.arrived = 50;
  p.results = 42;
  p.done = 30;
  p.dropped = 1;
  EXPECT_EQ(progress_line(p, Phase::journey, 59.9), "[journey 0:59] arrived 50/100 | spawned 40 | first result 42 | done 30 | failed 1");
  EXPECT_EQ(progress_line(p, Phase::find, 0), "[find 0:00]");
}
