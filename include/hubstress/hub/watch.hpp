#pragma once
// Watches the hub while a run goes on: scrapes GET /hub/metrics (when the token may read it) and
// GET /hub/health at the start, every `interval_s`, and at the end. A 403 or 404 on the metrics
// stops asking for them, except a 404 while the hub restarts (health.hpp): that is a gap. Its requests are its own
// session's, on the run's event loop (SessionOptions::loop): a ticker starts a scrape while the
// run's loop runs, so there is no thread of its own and nothing shared across threads.
#include "hubstress/engine/loop.hpp"
#include "hubstress/model/hub_metrics.hpp"
#include "hubstress/hub/health.hpp"
#include "hubstress/hub/session.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace hubstress {

class HubWatch {
public:
  // `interrupt`: the app's signal flag; once it is up the watch starts no more scrapes.
  explicit HubWatch(const SessionOptions& options, double interval_s = 5.0, const std::atomic<int>* interrupt = nullptr);
  ~HubWatch();  // stops (with one last scrape) if stop() was not called
  HubWatch(const HubWatch&) = delete;
  HubWatch& operator=(const HubWatch&) = delete;

  // Waits for the scrape in flight, takes a last one (none after a signal) and stops; returns the
  // samples, oldest first.
  std::vector<HubSample> stop();
  // The watcher's own requests (kind "metrics" and health checks) for the reports.
  const std::vector<RequestRecord>& records() const { return session_.records(); }
  int restarts() const { return restarts_; }  // times the hub's process start time changed

private:
  void scrape();  // starts one unless one is under way: health, then metrics; `busy_` until both are answered
  engine::Task<void> scrape_once();
  void on_metrics(const Response& m, double t, bool restarting);

  Session session_;
  std::string metrics_path_;
  std::string health_path_;
  engine::Group scrapes_;  // the scrape under way, if any
  bool metrics_readable_ = true;
  bool gap_said_ = false;  // a 404 while the hub restarted was logged once
  bool healthy_ = true;
  bool busy_ = false;
  bool stopped_ = false;
  std::optional<double> start_time_;
  int restarts_ = 0;
  std::vector<HubSample> samples_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::optional<engine::Ticker> ticker_;
};

} // namespace hubstress
