#include "hubstress/hub/session.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/health.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace hubstress {

using nlohmann::json;

json parse_json(const Response& response, const std::string& what) {
  json parsed = json::parse(response.body, nullptr, false);
  if (parsed.is_discarded()) {
    std::string head = response.body.substr(0, 80);
    std::replace_if(head.begin(), head.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    throw HubError(what + ": the hub did not answer JSON (HTTP " + std::to_string(response.status) +
                   ", starts with '" + head + "')");
  }
  return parsed;
}

namespace {
template <class T> Task<void> store(Task<T> task, std::optional<T>& out) { out.emplace(co_await std::move(task)); }
} // namespace

CallSettings Session::settings_of(const SessionOptions& o) {
  CallSettings s;
  s.retry = o.retry;
  s.insecure = o.insecure;
  s.ca_bundle = o.ca_bundle;
  s.stand_in = o.stand_in;
  if (o.dry_run) {
    s.stand_in = dry_run_hub("dry run");
    s.dry_run = true;
  }
  return s;
}

Session::Session(SessionOptions options)
    : options_(std::move(options)), api_url_(normalize_api_url(options_.endpoint)),
      endpoint_(redact_credentials(api_url_)), loop_(options_.loop ? options_.loop : std::make_shared<engine::Loop>()),
      context_(*loop_, settings_of(options_)), admin_(context_, api_url_, options_.token) {
  context_.set_health_url(root_of_api_url(api_url_) + kHubHealthRoute);
  context_.share_health(options_.health);
}

Session::~Session() = default;

void Session::pause(double seconds) {
  loop_->block_on([](double s) -> Task<void> {
    co_await engine::sleep(std::chrono::duration_cast<engine::Clock::duration>(std::chrono::duration<double>(s)));
  }(seconds));
}

Request Session::request(ApiKind kind, std::string path, std::string body) const {
  Request r = request(method_of(kind), std::move(path), route_of(kind), std::move(body));
  r.kind = kind;
  return r;
}

Request Session::request(std::string method, std::string path, std::string route, std::string body) const {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.route = std::move(route);
  r.body = std::move(body);
  // never 0 ms, which libcurl reads as "no timeout at all"
  r.timeout = std::chrono::milliseconds(std::max(1L, static_cast<long>(std::ceil(options_.timeout_s * 1000))));
  return r;
}

std::vector<Response> Session::call_all(std::vector<Request> requests, std::size_t window,
                                       const std::function<void(std::size_t, const Response&)>& each) {
  std::optional<std::vector<Response>> answers;
  loop_->block_on(store(admin_.call_all(std::move(requests), window, each), answers));
  for (const auto& a : *answers) {
    if (a.outcome == Outcome::interrupted) throw Interrupted("interrupted");
  }
  return std::move(*answers);
}

bool Session::wait_for_hub(double max_s) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto waited = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  logger().warn("Waiting up to {:.0f} s for the hub at {} to answer again", max_s, endpoint_);
  while (true) {
    Request probe = request(ApiKind::version, "/");
    probe.hub_probe = true;
    probe.retry = false;
    probe.timeout = std::chrono::milliseconds(static_cast<long>(std::clamp(max_s - waited(), 0.001, 5.0) * 1000) + 1);
    const Response r = call(std::move(probe));
    if (r.ok()) {  // not a proxy's 503 for it
      context_.hub_back();
      logger().info("The hub answers again after {:.1f} s; going on", waited());
      return true;
    }
    if (waited() + 1.0 >= max_s) return false;
    pause(1.0);
  }
}

Response Session::call(Request request) {
  std::optional<Response> answer;
  loop_->block_on(store(admin_.call(std::move(request)), answer));
  if (answer->outcome == Outcome::interrupted) throw Interrupted("interrupted");
  return std::move(*answer);
}

const std::string& Session::hub_version() {
  if (!version_.empty()) {
    return version_;
  }
  Request probe = request(ApiKind::version, "/");
  probe.retry = false;  // an unreachable hub must be reported at once, not after minutes
  probe.timeout = std::chrono::milliseconds(std::min<long>(static_cast<long>(options_.timeout_s * 1000), 15'000));
  Response r = call(std::move(probe));
  if (r.outcome == Outcome::connect_failed || r.outcome == Outcome::transport_failed) {
    // one more try: a hub that is restarting answers within a couple of seconds
    pause(1.0);
    probe = request(ApiKind::version, "/");
    probe.retry = false;
    r = call(std::move(probe));
  }
  if (!r.answered()) {
    throw HubError("cannot reach the hub at " + endpoint_ + ": " + r.describe());
  }
  if (!r.ok()) {
    throw HubError("the hub at " + endpoint_ + " did not answer as a JupyterHub API: " + r.describe());
  }
  const json info = parse_json(r, "GET " + endpoint_ + "/");
  if (!info.is_object() || !info.contains("version") || !info["version"].is_string()) {
    throw HubError("the hub at " + endpoint_ + " did not answer as a JupyterHub API (no version)");
  }
  version_ = info["version"].get<std::string>();
  return version_;
}

} // namespace hubstress
