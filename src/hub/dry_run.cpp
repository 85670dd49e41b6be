// The dry run's hub: what it would answer the admin and every student, so that each code path
// runs as it would against a hub that works, and no request leaves the process.
#include "hubstress/hub/client.hpp"

#include <nlohmann/json.hpp>

namespace hubstress {

using nlohmann::json;

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  const std::string p = path.substr(0, path.find('?'));
  for (std::size_t start = 0; start < p.size();) {
    auto slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    if (slash > start) parts.push_back(p.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// A student's requests, relative to the hub's root: the login, the browser's spawn, the progress
// stream, the server through the proxy and its kernels. False when `request` is none of them.
bool student_answer(const engine::Request& request, const std::string& path, engine::Answer& r) {
  if (path == "/hub/login" && request.method == "GET") {
    r.body = "<form method=\"post\"><input name=\"username\"><input name=\"password\"></form>";
  } else if (path == "/hub/login") {
    r.status = 302;
    r.location = "/hub/spawn";
  } else if (path == "/hub/spawn") {
    r.status = 302;
    r.location = "/hub/spawn-pending/dry-run";
  } else if (path.rfind("/hub/api/users/", 0) == 0 && ends_with(path, "/server") && request.method == "POST") {
    r.status = 202;  // pending: the student follows its progress stream, as it would on a hub
  } else if (ends_with(path, "/server/progress")) {
    r.body = "data: {\"progress\": 100, \"ready\": true, \"message\": \"dry run: the server is ready\"}\n\n";
  } else if (path.rfind("/user/", 0) == 0 && ends_with(path, "/api/kernels") && request.method == "POST") {
    r.status = 201;
    r.body = R"({"id": "dry-run-kernel", "name": "python3"})";
  } else if (path.rfind("/user/", 0) == 0 && request.method == "DELETE") {
    r.status = 204;
  } else if (path.rfind("/user/", 0) == 0) {
    r.body = "{}";
  } else {
    return false;
  }
  return true;
}

// What the hub would answer `request` (its URL relative to the admin's API URL or a student's hub).
engine::Answer hub_answer(const engine::Request& request) {
  engine::Answer r;
  r.status = 200;
  const std::string path = request.url.substr(0, request.url.find('?'));
  if (student_answer(request, path, r)) return r;
  const auto parts = split_path(request.url);
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
      for (const auto& name : body["usernames"]) created.push_back({{"name", name}, {"servers", json::object()}});
    }
    r.body = created.dump();
  } else if (request.method == "POST" && users && parts.size() == 3 && parts[2] == "tokens") {
    r.status = 201;
    r.body = json{{"token", "dry-run-token-of-" + parts[1]}}.dump();
  } else if (request.method == "POST") {
    r.status = 201;
  } else if (request.method == "DELETE") {
    r.status = 204;
  } else {
    r.body = "{}";
  }
  return r;
}

// What the kernel sends back for one message on its channels (`request`): a kernel_info_reply, or for
// an execute_request busy, a stream printing `output`, an ok execute_reply, idle.
std::vector<std::string> kernel_replies(const std::string& request, const std::string& output) {
  const json sent = json::parse(request, nullptr, false);
  const std::string msg_id = sent.is_object() ? sent.value(json::json_pointer("/header/msg_id"), std::string()) : "";
  auto message = [&](const std::string& type, const std::string& channel, json content) {
    return json{{"header", {{"msg_type", type}, {"msg_id", msg_id + "-" + type}}},
                {"parent_header", {{"msg_id", msg_id}}},
                {"channel", channel},
                {"content", std::move(content)}}
        .dump();
  };
  if (sent.is_object() && sent.value(json::json_pointer("/header/msg_type"), std::string()) == "kernel_info_request") {
    return {message("kernel_info_reply", "shell", {{"status", "ok"}, {"protocol_version", "5.3"}})};
  }
  return {message("status", "iopub", {{"execution_state", "busy"}}),
          message("stream", "iopub", {{"name", "stdout"}, {"text", output}}),
          message("execute_reply", "shell", {{"status", "ok"}}),
          message("status", "iopub", {{"execution_state", "idle"}})};
}

} // namespace

engine::Responder dry_run_hub(std::string kernel_output) {
  engine::Responder hub;
  hub.http = hub_answer;
  hub.ws = [output = std::move(kernel_output)](const std::string&, const std::string& text) { return kernel_replies(text, output); };
  return hub;
}

} // namespace hubstress
