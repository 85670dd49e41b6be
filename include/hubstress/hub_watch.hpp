#pragma once
// Watches the hub while a run goes on: scrapes GET /hub/metrics (when the token may read it) and
// GET /hub/health at the start, every `interval_s`, and at the end, on its own thread and session.
#include "hubstress/hub_metrics.hpp"
#include "hubstress/session.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace hubstress {

class HubWatch {
public:
  // `interrupt`: the app's signal flag; once it is up the watch ends its scrape at once and stops.
  explicit HubWatch(const SessionOptions& options, double interval_s = 5.0, const std::atomic<int>* interrupt = nullptr);
  ~HubWatch();  // stops (with one last scrape) if stop() was not called
  HubWatch(const HubWatch&) = delete;
  HubWatch& operator=(const HubWatch&) = delete;

  // Takes the last scrape and stops the thread; returns the samples, oldest first.
  std::vector<HubSample> stop();
  // The watcher's own requests (kind "metrics" and health checks) for the reports; after stop().
  std::vector<RequestRecord> records() const;
  int restarts() const { return restarts_; }  // times the hub's process start time changed

private:
  void loop();
  void scrape();

  SessionOptions options_;
  double interval_s_;
  Session session_;
  std::string metrics_path_;
  std::string health_path_;
  bool metrics_readable_ = true;
  bool healthy_ = true;
  std::optional<double> start_time_;
  int restarts_ = 0;
  std::vector<HubSample> samples_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

} // namespace hubstress
