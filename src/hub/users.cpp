#include "hubstress/hub/users.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"

#include "users_internal.hpp"

#include <algorithm>
#include <set>

namespace hubstress {

using nlohmann::json;

namespace {

constexpr const char* kNeededScopes = "admin:users, admin:servers (and read:hub, read:metrics for hub metrics)";

} // namespace

namespace users_detail {

std::string user_path(const std::string& name) { return "/users/" + url_escape(name); }

[[noreturn]] void throw_auth_error(const Response& r) {
  throw AuthError("the hub refused the token (HTTP 403): invalid token or missing scopes; it needs " +
                  std::string(kNeededScopes) + ". Hub said: " + r.describe());
}

std::vector<std::string> existing_among(const std::vector<std::string>& names, Session& session, bool sure) {
  std::vector<Request> lookups;
  for (const auto& n : names) lookups.push_back(session.request(ApiKind::get_user, user_path(n)));
  const auto answers = session.call_all(std::move(lookups), 10);
  std::vector<std::string> found;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (sure ? answers[i].status == 200 : answers[i].status != 404) found.push_back(names[i]);
  }
  return found;
}

} // namespace users_detail

using users_detail::throw_auth_error;

std::vector<std::string> missing_scopes(const json& token_model, std::string_view command) {
  if (!token_model.is_object() || !token_model.contains("scopes") || !token_model["scopes"].is_array()) return {};
  std::set<std::string> have;
  for (const auto& s : token_model["scopes"]) {
    if (s.is_string()) have.insert(s.get<std::string>());
  }
  // the fine scopes behind each request a command sends (admin:users and admin:servers grant them all)
  // read:servers: without it the user model has no servers, and a stopping server looks stopped
  std::vector<std::string> needed{"list:users", "read:servers", "servers", "delete:users"};
  if (command == "stress-test") {
    needed.insert(needed.end(), {"admin:users"});
  } else if (command == "activity-stress-test") {
    needed.insert(needed.end(), {"admin:users", "read:users", "users:activity"});
  } else if (command == "journey") {
    needed.insert(needed.end(), {"admin:users", "tokens"});  // each student's own token
  } else if (command == "journey --auth form") {
    needed.insert(needed.end(), {"admin:users"});
  }
  std::vector<std::string> missing;
  for (const auto& scope : needed) {
    if (!have.count(scope)) missing.push_back(scope);
  }
  return missing;
}

void check_token(Session& session, std::string_view command) {
  const Response r = session.call(session.request("GET", "/user", "/user"));
  if (r.status == 403 || r.status == 401) throw_auth_error(r);
  if (!r.ok()) return;  // an old hub without /user: the first real request will tell
  const json model = json::parse(r.body, nullptr, false);
  const auto missing = missing_scopes(model, command);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    const bool tokens = std::find(missing.begin(), missing.end(), "tokens") != missing.end();
    throw AuthError("the token lacks scopes that " + std::string(command) + " needs: " + list +
                    (tokens ? " (grant admin:users, admin:servers and tokens)" : " (grant admin:users and admin:servers)"));
  }
}

void purge_users(const SessionOptions& options, std::string_view prefix, int batch_size) {
  Session session(options);
  purge_users(session, prefix, batch_size);
}

void purge_users(Session& session, std::string_view prefix, int batch_size) {
  ScopeTimer timer("purge_users");
  logger().info("JupyterHub {} at {}", session.hub_version(), session.endpoint());
  check_token(session, "purge");
  // not the lenient find: a purge that could not list the users must not say there were none
  const auto names = list_stress_test_users(session, prefix);
  if (names.empty()) {
    logger().info("No stress-test users to delete");
    return;
  }
  logger().info("Deleting {} stress-test users", names.size());
  if (!delete_users(names, session, batch_size)) {
    throw HubError("some stress-test users could not be deleted; run purge again");
  }
}

} // namespace hubstress
