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

TEST(ProgressRate, SaysWhatItCountsAndAnEtaOnlyOnceItIsSteady) {
  RateEstimate r;
  EXPECT_EQ(r.update(Phase::spawn, 0, 100, 0), "");  // nothing done yet
  EXPECT_EQ(r.update(Phase::spawn, 2, 100, 1), " | 2.0 servers done/s");  // too little done for an ETA
  // steady: 2 a second, one draw a second
  std::string last;
  for (int t = 2; t <= 8; ++t) last = r.update(Phase::spawn, 2 * t, 100, t);
  EXPECT_EQ(last, " | 2.0 servers done/s | ETA 42s");
  // a rate under one a second is given per minute; a new phase starts over
  EXPECT_EQ(r.update(Phase::journey, 0, 30, 10), "");
  EXPECT_EQ(r.update(Phase::journey, 1, 30, 20), " | 6.0 students done/min");
}

TEST(ProgressRate, AnEtaThatJumpsIsNotShown) {
  RateEstimate r;
  // students done in bursts, as a journey's are: the foreseen end moves by more than a quarter
  const int done[] = {0, 3, 3, 3, 4, 10, 10, 11, 20, 20, 21};
  for (int t = 0; t <= 10; ++t) {
    const std::string text = r.update(Phase::journey, done[t], 30, t * 2.0);
    EXPECT_EQ(text.find("ETA"), std::string::npos) << "at " << t * 2 << " s: " << text;
  }
}
