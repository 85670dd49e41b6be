#pragma once
// What a hub API call is for. Each call says its kind where it is built (Session::request), and
// reports group by it; nothing parses a route back into a kind.
#include <cstddef>

namespace hubstress {

enum class ApiKind {
  version,       // GET /
  list_users,    // GET /users
  create_users,  // POST /users
  get_user,      // GET /users/{name}
  start_server,  // POST /users/{name}/server
  progress,      // GET /users/{name}/server/progress
  stop_server,   // DELETE /users/{name}/server
  delete_user,   // DELETE /users/{name}
  activity,      // POST /users/{name}/activity
  create_token,  // POST /users/{name}/tokens
  metrics,       // GET /hub/metrics
  other,         // anything else
};
inline constexpr std::size_t kApiKindCount = 12;
// "version", "list users", "create users", "get user", "start server", "progress", "stop server",
// "delete user", "activity", "create token", "metrics", "other".
const char* to_string(ApiKind kind);

// The method and route template of a kind (the comments above); "" for ApiKind::other.
const char* method_of(ApiKind kind);
const char* route_of(ApiKind kind);

} // namespace hubstress
