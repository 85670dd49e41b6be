#include "hubstress/hub/users.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"

#include "users_internal.hpp"

#include <algorithm>

namespace hubstress {

using nlohmann::json;
using users_detail::throw_auth_error;

UserPage parse_user_page(const json& body) {
  UserPage page;
  const json* items = nullptr;
  if (body.is_array()) {
    items = &body;
  } else if (body.is_object() && body.contains("items") && body["items"].is_array()) {
    items = &body["items"];
    if (body.contains("_pagination") && body["_pagination"].is_object()) {
      const json& p = body["_pagination"];
      if (p.contains("total") && p["total"].is_number_integer()) page.total = p["total"].get<std::int64_t>();
      if (p.contains("next") && p["next"].is_object()) {
        const json& next = p["next"];
        if (!next.contains("offset") || !next["offset"].is_number_integer()) {
          throw HubError("GET /users: the hub's _pagination.next has no offset");
        }
        page.next_offset = next["offset"].get<std::int64_t>();
        if (next.contains("limit") && next["limit"].is_number_integer()) page.next_limit = next["limit"].get<std::int64_t>();
      }
    }
  } else {
    throw HubError("GET /users: unexpected reply shape (neither a list nor {\"items\": [...]})");
  }
  for (const auto& user : *items) {
    if (!user.is_object() || !user.contains("name") || !user["name"].is_string()) {
      throw HubError("GET /users: a user in the reply has no name");
    }
    page.users.push_back(user);
  }
  return page;
}

std::string users_page_path(std::int64_t offset, std::int64_t limit, std::string_view query) {
  std::string path = "/users?offset=" + std::to_string(offset) + "&limit=" + std::to_string(limit);
  if (!query.empty()) path += "&" + std::string(query);
  return path;
}

std::vector<json> list_users(Session& session, std::string_view query, std::chrono::seconds timeout) {
  std::vector<json> users;
  std::int64_t offset = 0;
  std::int64_t limit = 200;
  for (int pages = 0; pages < 1'000'000; ++pages) {
    Request req = session.request(ApiKind::list_users, users_page_path(offset, limit, query));
    req.headers.push_back("Accept: application/jupyterhub-pagination+json");
    req.timeout = timeout;
    const Response r = session.call(std::move(req));
    if (r.status == 403) throw_auth_error(r);
    if (!r.ok()) throw HubError("GET /users failed: " + r.describe());
    UserPage page = parse_user_page(parse_json(r, "GET /users"));
    if (page.users.empty()) return users;  // a hub that keeps offering empty pages
    users.insert(users.end(), std::make_move_iterator(page.users.begin()), std::make_move_iterator(page.users.end()));
    if (!page.next_offset) return users;
    if (*page.next_offset <= offset) throw HubError("GET /users: the hub's next page does not move forward");
    offset = *page.next_offset;
    limit = std::clamp<std::int64_t>(page.next_limit, 1, 200);
  }
  throw HubError("GET /users: too many pages");
}

bool has_active_server(const json& user) {
  if (!user.contains("servers") || !user["servers"].is_object()) return false;
  return user["servers"].contains("");
}

std::vector<std::string> find_existing_stress_test_users(Session& session, std::string_view prefix) {
  try {
    return list_stress_test_users(session, prefix);
  } catch (const AuthError&) {
    throw;
  } catch (const HubError& e) {
    logger().warn("Could not list the hub's users: {}", e.what());
    return {};
  }
}

std::vector<std::string> list_stress_test_users(Session& session, std::string_view prefix) {
  ScopeTimer timer("find_existing_stress_test_users");
  session.progress().phase = Phase::find;
  const std::vector<json> users = list_users(session);
  std::vector<std::string> names;
  for (const auto& user : users) {
    const auto name = user["name"].get<std::string>();
    if (is_stress_test_user(name, prefix)) names.push_back(name);
  }
  logger().info("Found {} users on the hub, {} of them stress-test users", users.size(), names.size());
  return names;
}

} // namespace hubstress
