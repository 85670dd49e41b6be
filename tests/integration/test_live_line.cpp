// The live line as a person sees it: a run in an 80x24 tmux pane, the pane captured while it
// runs. The line must be redrawn in place: one row at a time, never wrapped onto a second row,
// never left behind as a stack of old copies. journey's line is the longest (with its rate and
// ETA it is wider than 80 columns), so it is the one played here, against the fake hub.
#include "local_hub.hpp"

#include "../support/fake_hub.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <regex>
#include <sstream>
#include <thread>

using hubstress::testing::FakeHub;
using hubstress::testing::tool_path;

namespace {

std::string sh(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  ::pclose(p);
  return out;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

} // namespace

TEST(LiveLine, FitsAnEightyColumnTmuxPaneAndIsRedrawnInPlace) {
  FakeHub hub({"--spawn-delay", "2"});
  const std::string session = "hst-live-" + std::to_string(::getpid());
  const std::string state = ::testing::TempDir() + "hst-live-state";
  const std::string run = "HUB_STRESS_TEST_STATE_DIR=" + state + " " + tool_path() + " -e " + hub.url() + " -t " + FakeHub::token() +
                          " journey -c 60 --ramp-up 8s --cells 3 --think 1s; echo HST-RUN-ENDED; sleep 30";
  ASSERT_EQ(std::system(("tmux new-session -d -s " + session + " -x 80 -y 24 " + quoted(run)).c_str()), 0);
  const std::regex progress(R"(^\[(find|create|tokens|journey|delete) \d+:\d\d\])");
  int long_lines = 0;  // rows cut at the pane's edge: the line was wider than the pane
  int seen = 0;
  bool rate_seen = false;  // the journey's arrival rate on its line: 60 students over 8 s
  bool finished = false;
  for (int i = 0; i < 600 && !finished; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string pane = sh("tmux capture-pane -p -t " + session + " 2>/dev/null");
    std::istringstream rows(pane);
    int progress_rows = 0;
    for (std::string row; std::getline(rows, row);) {
      if (std::regex_search(row, progress)) {
        ++progress_rows;
        EXPECT_LE(row.size(), 80u) << row;
        if (row.size() >= 79) ++long_lines;
        rate_seen = rate_seen || row.find("] 450.0/min | arrived") != std::string::npos;
      }
      // the tail of a progress line wrapped onto the next row would start like this
      EXPECT_FALSE(std::regex_search(row, std::regex(R"(^(\| |[a-z ]+ \d+ \| |failed \d|ETA \d|\d+\.\d/s))"))) << pane;
    }
    EXPECT_LE(progress_rows, 1) << "stacked live lines:\n" << pane;
    if (progress_rows == 1) ++seen;
    finished = pane.find("HST-RUN-ENDED") != std::string::npos;
  }
  std::system(("tmux kill-session -t " + session + " 2>/dev/null").c_str());
  EXPECT_TRUE(finished) << "the run did not end in the pane";
  EXPECT_GE(seen, 3) << "the live line was not seen while the run went on";
  EXPECT_TRUE(rate_seen) << "the journey's live line never stated its arrival rate";
  EXPECT_GE(long_lines, 1) << "the test never saw a line as wide as the pane: it proves nothing about wrapping";
  EXPECT_TRUE(hub.state()["users"].empty());
}
