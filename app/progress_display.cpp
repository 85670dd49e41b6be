#include "progress_display.hpp"

#include "logging.hpp"

#include "hubstress/log.hpp"

#include <fmt/format.h>

#include <chrono>
#include <unistd.h>

namespace hubstress::cli {

namespace {

// What counts as done in each phase, and out of how many.
std::pair<int, int> done_of(const Progress& p, Phase phase) {
  switch (phase) {
  case Phase::create: return {p.created.load(), p.total.load()};
  case Phase::spawn: return {p.ready.load() + p.failed.load(), p.created.load()};
  case Phase::delete_users: return {p.deleted.load(), p.to_delete.load()};
  case Phase::activity: return {p.activity.load(), p.total.load()};
  case Phase::journey: return {p.done.load() + p.dropped.load(), p.created.load()};
  default: return {0, 0};
  }
}

} // namespace

ProgressDisplay::ProgressDisplay(const Progress& progress, engine::Loop& loop)
    : progress_(progress), tty_(isatty(STDERR_FILENO) == 1) {
  using namespace std::chrono;
  const auto period = tty_ ? duration_cast<steady_clock::duration>(milliseconds(250))
                           : duration_cast<steady_clock::duration>(seconds(5));
  ticker_.emplace(loop, period, [this] { draw(); });
}

ProgressDisplay::~ProgressDisplay() {
  ticker_.reset();
  if (tty_) set_status_line("");
}

std::string ProgressDisplay::line(double seconds) {
  const Progress& p = progress_;
  const Phase phase = p.phase.load();
  const auto [done, of] = done_of(p, phase);
  return progress_line(p, phase, seconds) + rate_.update(phase, done, phase == Phase::activity ? 0 : of, seconds);
}

void ProgressDisplay::draw() {
  const std::string text = line(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  if (tty_) {
    set_status_line(text);
  } else if (text != last_ && progress_.phase.load() != Phase::idle) {
    logger().info("Progress: {}", text);
  }
  last_ = text;
}

} // namespace hubstress::cli
