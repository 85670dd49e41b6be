#include "hubstress/session.hpp"

#include "hubstress/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/url.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

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
    : options_(std::move(options)), endpoint_(normalize_api_url(options_.endpoint)),
      engine_(engine_options()) {}

EngineOptions Session::engine_options() {
  EngineOptions e;
  e.base_url = endpoint_;
  if (!options_.token.empty()) {
    e.headers.push_back("Authorization: token " + options_.token);
    e.secrets.push_back(options_.token);
  }
  e.insecure = options_.insecure;
  e.ca_bundle = options_.ca_bundle;
  e.retry = options_.retry;
  e.responder = options_.responder;
  if (options_.dry_run) {
    e.responder = [this](const Request& r) {
      logger().info("[dry-run] would send {} {}{}{}", r.method, endpoint_, r.path,
                    r.body.empty() ? "" : " " + r.body.substr(0, 200));
      return dry_run_answer(r);
    };
  }
  e.observer = [this](const Request& req, const Response& resp) {
    const std::string url = req.path.rfind("http", 0) == 0 ? req.path : endpoint_ + req.path;
    RequestRecord rec;
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
  e.on_retry = [this](const Request& req, const Response& resp, double wait) {
    ++retries_;
    logger().warn("{} {}{} got {}; retry {}/{} in {:.1f}s", req.method, endpoint_, req.path,
                     resp.describe(), resp.retries + 1, options_.retry.max_retries, wait);
  };
  return e;
}

Request Session::request(std::string method, std::string path, std::string route, std::string body) const {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.route = std::move(route);
  r.body = std::move(body);
  r.timeout = std::chrono::milliseconds(static_cast<long>(options_.timeout_s * 1000));
  return r;
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
  return answer;
}

const std::string& Session::hub_version() {
  if (!version_.empty()) {
    return version_;
  }
  Request probe = request("GET", "/", "/");
  probe.retry = false;  // an unreachable hub must be reported at once, not after minutes
  probe.timeout = std::chrono::milliseconds(std::min<long>(static_cast<long>(options_.timeout_s * 1000), 15'000));
  Response r = call(std::move(probe));
  if (r.outcome == Outcome::connect_failed || r.outcome == Outcome::transport_failed) {
    // one more try: a hub that is restarting answers within a couple of seconds
    std::this_thread::sleep_for(std::chrono::seconds(1));
    probe = request("GET", "/", "/");
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
