#include "hubstress/hub/watch.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"

namespace hubstress {

namespace {

std::string hub_url(const std::string& api_endpoint, const std::string& leaf) {
  return root_of_api_url(api_endpoint) + "/hub/" + leaf;  // ".../hub/api" -> ".../hub/<leaf>"
}

SessionOptions watch_options(SessionOptions o) {
  o.retry.max_retries = 0;  // a missed scrape is just a gap; the next one comes in a few seconds
  o.timeout_s = std::min(o.timeout_s, 10.0);
  return o;
}

} // namespace

HubWatch::HubWatch(const SessionOptions& options, double interval_s, const std::atomic<int>* interrupt)
    : session_(watch_options(options)), metrics_path_(hub_url(session_.api_url(), "metrics")),
      health_path_(hub_url(session_.api_url(), "health")), scrapes_(*session_.loop()) {
  if (session_.dry_run()) return;  // nothing to watch in a dry run
  session_.set_interrupt_flag(interrupt);
  scrape();  // sent now, answered as the run's loop runs
  const auto period = std::chrono::duration_cast<engine::Clock::duration>(std::chrono::duration<double>(interval_s));
  ticker_.emplace(*session_.loop(), period, [this] { scrape(); });
}

HubWatch::~HubWatch() {
  if (!stopped_) {
    try {
      stop();
    } catch (const std::exception&) {
      // a destructor on an error path: the samples are not asked for
    }
  }
}

std::vector<HubSample> HubWatch::stop() {
  stopped_ = true;
  ticker_.reset();
  if (session_.interrupted()) session_.context().interrupt();  // a signal: no waiting for the hub
  session_.run(scrapes_.wait());  // the scrape in flight
  if (session_.interrupted() || session_.dry_run()) return samples_;
  busy_ = true;
  session_.run(scrape_once());  // the end of the run is in the samples
  return samples_;
}

void HubWatch::scrape() {
  if (session_.dry_run() || busy_ || session_.interrupted()) return;
  busy_ = true;
  scrapes_.spawn(scrape_once());
}

// GET /hub/health, then (while the token may read them) GET /hub/metrics.
engine::Task<void> HubWatch::scrape_once() {
  Request health = session_.request("GET", health_path_, kHubHealthRoute);
  health.retry = false;
  const Response h = co_await session_.admin().call(std::move(health));
  if (h.outcome != Outcome::interrupted) {
    if (!h.ok() && healthy_) logger().warn("Hub health check failed: {}", h.describe());
    if (h.ok() && !healthy_) logger().info("Hub is healthy again");
    healthy_ = h.ok();
    session_.context().health().saw(h.ok());  // shared with the run's spawns
    if (metrics_readable_) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      Request metrics = session_.request(ApiKind::metrics, metrics_path_);
      metrics.retry = false;
      const Response m = co_await session_.admin().call(std::move(metrics));
      bool restarting = false;
      const std::stop_token unstoppable;  // named: see the GCC 12 note in loop.hpp
      if (m.status == 404) restarting = co_await restart_404(session_.admin(), unstoppable);
      on_metrics(m, t, restarting);
    }
  }
  busy_ = false;
}

void HubWatch::on_metrics(const Response& m, double t, bool restarting) {
  if (restarting) {
    // the hub restarts behind a proxy that answers 404 for it: a gap, asked again at the next scrape
    if (!gap_said_) logger().warn("Hub metrics: {} while the hub restarts; asked again at the next scrape", m.describe());
    gap_said_ = true;
    return;
  }
  if (m.status == 403 || m.status == 404) {
    logger().warn("Hub metrics are not readable ({}); the token needs read:metrics", m.describe());
    metrics_readable_ = false;
    return;
  }
  if (!m.ok()) return;
  HubSample sample = hub_sample_from(m.body, t);
  if (sample.start_time_s) {
    if (start_time_ && *start_time_ != *sample.start_time_s) {
      ++restarts_;
      logger().warn("The hub restarted during the run (its process start time changed)");
    }
    start_time_ = sample.start_time_s;
  }
  samples_.push_back(sample);
}

} // namespace hubstress
