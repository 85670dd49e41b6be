#include "hubstress/session.hpp"

#include "hubstress/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/url.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace hubstress {

using nlohmann::json;

namespace {

std::string path_only(const std::string& path) { return path.substr(0, path.find('?')); }

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  const std::string p = path_only(path);
  while (start < p.size()) {
    auto slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    if (slash > start) parts.push_back(p.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

} // namespace

Response dry_run_answer(const Request& request) {
  Response r;
  r.status = 200;
  const auto parts = split_path(request.path);
  const bool users = !parts.empty() && parts[0] == "users";
  if (request.method == "GET" && parts.empty()) {
    r.body = R"({"version": "dry-run"})";
  } else if (request.method == "GET" && users && parts.size() == 1) {
    r.body = R"({"items": [], "_pagination": {"offset": 0, "limit": 200, "total": 0, "next": null}})";
  } else if (request.method == "GET" && users && parts.size() == 2) {
    r.body = json{{"name", parts[1]}, {"servers", json::object()}}.dump();
  } else if (request.method == "POST" && users && parts.size() == 1) {
    r.status = 201;
    json created = json::array();
    const json body = json::parse(request.body, nullptr, false);
    if (body.is_object() && body.contains("usernames") && body["usernames"].is_array()) {
      for (const auto& name : body["usernames"]) {
        created.push_back({{"name", name}, {"servers", json::object()}});
      }
    }
    r.body = created.dump();
  } else if (request.method == "POST") {
    r.status = 201;
  } else if (request.method == "DELETE") {
    r.status = 204;
  } else {
    r.body = "{}";
  }
  return r;
}

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

Session::Session(SessionOptions options)
    : options_(std::move(options)), api_url_(normalize_api_url(options_.endpoint)),
      endpoint_(redact_credentials(api_url_)),
      engine_(engine_options()) {}

std::string Session::shown_url(const std::string& path) const {
  return path.rfind("http", 0) == 0 ? redact_credentials(path) : endpoint_ + path;
}

EngineOptions Session::engine_options() {
  EngineOptions e;
  e.loop = options_.loop;
  e.base_url = api_url_;
  if (!options_.token.empty()) {
    e.headers.push_back("Authorization: token " + options_.token);
    e.secrets.push_back(options_.token);
  }
  // credentials in the URL are secrets too: "admin:secret", and each half of it
  if (const std::string creds = url_credentials(api_url_); !creds.empty()) {
    e.secrets.push_back(creds);
    const auto colon = creds.find(':');
    if (colon != std::string::npos && creds.size() - colon > 4) e.secrets.push_back(creds.substr(colon + 1));  // not a 1-3 letter one: it would blank ordinary text
  }
  e.insecure = options_.insecure;
  e.ca_bundle = options_.ca_bundle;
  e.retry = options_.retry;
  e.responder = options_.responder;
  if (options_.dry_run) {
    e.responder = [this](const Request& r) {
      logger().info("[dry-run] would send {} {}{}", r.method, shown_url(r.path),
                    r.body.empty() ? "" : " " + r.body.substr(0, 200));
      return dry_run_answer(r);
    };
  }
  e.observer = [this](const Request& req, const Response& resp) {
    const std::string url = shown_url(req.path);
    RequestRecord rec;
    rec.kind = req.kind;
    rec.method = req.method;
    rec.route = req.route.empty() ? path_only(req.path) : req.route;
    rec.status = resp.status;
    rec.outcome = resp.outcome;
    rec.latency_s = resp.elapsed_s;
    rec.total_s = resp.total_s;
    rec.retries = resp.retries;
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    rec.start_s = now - resp.total_s;
    records_.push_back(rec);
    if (resp.answered()) {
      logger().debug("{} {} {} {:.3f}s", req.method, url, resp.status, resp.elapsed_s);
    } else {
      logger().debug("{} {} {} {:.3f}s", req.method, url, resp.describe(), resp.elapsed_s);
    }
  };
  e.refusing = [this] { return hub_down_ || (interrupted() && !cleaning_up_); };
  e.refuse = [this](const Request& r) -> std::optional<Outcome> {
    if (interrupted() && !cleaning_up_ && r.interruptible) return Outcome::interrupted;
    if (hub_down_ && !r.hub_probe) return Outcome::hub_down;
    return std::nullopt;
  };
  e.on_attempt = [this](const Request& req, const Response& resp) {
    if (!breaker_ || req.hub_probe) return;
    // a proxy in front of a dead hub answers 502-504 for it: that is no answer from the hub either
    const bool unanswered = resp.outcome == Outcome::timeout || resp.outcome == Outcome::connect_failed ||
                            resp.outcome == Outcome::transport_failed ||
                            (resp.answered() && resp.status >= 502 && resp.status <= 504);
    if (!unanswered) {
      if (resp.answered()) unanswered_in_a_row_ = 0;
      return;
    }
    if (++unanswered_in_a_row_ >= kHubDownAfter && !hub_down_) {
      hub_down_ = true;
      logger().error("The hub at {} stopped answering ({} requests in a row without an answer, the last: {}); "
                     "pausing the clean-up", endpoint_, unanswered_in_a_row_, resp.describe());
    }
  };
  e.on_retry = [this](const Request& req, const Response& resp, double wait) {
    ++retries_;
    logger().warn("{} {} got {}; retry {}/{} in {:.1f}s", req.method, shown_url(req.path),
                     resp.describe(), resp.retries + 1, options_.retry.max_retries, wait);
  };
  return e;
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
  auto answers = engine_.run_all(std::move(requests), window, each);
  for (const auto& a : answers) {
    if (a.outcome == Outcome::interrupted) throw Interrupted("interrupted");
  }
  return answers;
}

void Session::arm_breaker(bool on) {
  breaker_ = on;
  unanswered_in_a_row_ = 0;
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
      hub_down_ = false;
      unanswered_in_a_row_ = 0;
      logger().info("The hub answers again after {:.1f} s; going on", waited());
      return true;
    }
    if (waited() + 1.0 >= max_s) return false;
    pause(1.0);
  }
}

Response Session::call(Request request) {
  Response answer;
  bool done = false;
  engine_.submit(std::move(request), [&](Response r) {
    answer = std::move(r);
    done = true;
  });
  try {
    engine_.run_until([&] { return done; });
  } catch (...) {
    engine_.abort_all();  // the callback points at this frame
    throw;
  }
  if (answer.outcome == Outcome::interrupted) throw Interrupted("interrupted");
  return answer;
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
