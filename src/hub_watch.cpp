#include "hubstress/hub_watch.hpp"

#include "hubstress/errors.hpp"
#include "hubstress/log.hpp"

namespace hubstress {

namespace {

std::string hub_url(const std::string& api_endpoint, const std::string& leaf) {
  // ".../hub/api" -> ".../hub/<leaf>"
  return api_endpoint.substr(0, api_endpoint.size() - std::string("api").size()) + leaf;
}

SessionOptions watch_options(SessionOptions o) {
  o.retry.max_retries = 0;  // a missed scrape is just a gap; the next one comes in a few seconds
  o.timeout_s = std::min(o.timeout_s, 10.0);
  return o;
}

} // namespace

HubWatch::HubWatch(const SessionOptions& options, double interval_s, const std::atomic<int>* interrupt)
    : options_(options), interval_s_(interval_s), session_(watch_options(options)),
      metrics_path_(hub_url(session_.api_url(), "metrics")), health_path_(hub_url(session_.api_url(), "health")) {
  if (options_.dry_run) metrics_readable_ = false;  // nothing to watch in a dry run
  session_.set_interrupt_flag(interrupt);  // before the thread starts: it reads it
  thread_ = std::thread([this] { loop(); });
}

HubWatch::~HubWatch() {
  if (!stopped_) stop();
}

std::vector<HubSample> HubWatch::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  stopped_ = true;
  std::lock_guard<std::mutex> lock(mutex_);
  return samples_;
}

std::vector<RequestRecord> HubWatch::records() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return session_.records();
}

void HubWatch::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    lock.unlock();
    try {
      scrape();
    } catch (const Interrupted&) {
      return;  // a signal: no more scrapes, and stop() does not wait for one
    }
    lock.lock();
    if (stopping_) return;
    wake_.wait_for(lock, std::chrono::duration<double>(interval_s_), [this] { return stopping_; });
    // one last scrape after stop() so the end of the run is in the samples
  }
}

void HubWatch::scrape() {
  if (options_.dry_run) return;
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  Request health = session_.request("GET", health_path_, "/hub/health");
  health.retry = false;
  const Response h = session_.call(std::move(health));
  if (!h.ok() && healthy_) logger().warn("Hub health check failed: {}", h.describe());
  if (h.ok() && !healthy_) logger().info("Hub is healthy again");
  healthy_ = h.ok();
  if (!metrics_readable_) return;
  Request metrics = session_.request("GET", metrics_path_, "/hub/metrics");
  metrics.retry = false;
  const Response m = session_.call(std::move(metrics));
  if (m.status == 403 || m.status == 404) {
    logger().warn("Hub metrics are not readable ({}); the token needs read:metrics", m.describe());
    metrics_readable_ = false;
    return;
  }
  if (!m.ok()) return;
  HubSample sample = extract_hub_sample(parse_prometheus(m.body), t);
  if (sample.start_time_s) {
    if (start_time_ && *start_time_ != *sample.start_time_s) {
      ++restarts_;
      logger().warn("The hub restarted during the run (its process start time changed)");
    }
    start_time_ = sample.start_time_s;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  samples_.push_back(sample);
}

} // namespace hubstress
