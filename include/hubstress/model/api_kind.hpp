#pragma once
// What a hub call is for. Each call says its kind where it is built (the admin's Session::request,
// a student's step), and reports group by it; nothing parses a route back into a kind.
#include <array>
#include <cstddef>

namespace hubstress {

enum class ApiKind {
  version,        // GET /
  list_users,     // GET /users
  create_users,   // POST /users
  get_user,       // GET /users/{name}
  start_server,   // POST /users/{name}/server (a student with cookies: GET /hub/spawn)
  progress,       // GET /users/{name}/server/progress
  stop_server,    // DELETE /users/{name}/server
  delete_user,    // DELETE /users/{name}
  activity,       // POST /users/{name}/activity
  create_token,   // POST /users/{name}/tokens
  metrics,        // GET /hub/metrics
  login_page,     // GET /hub/login (a student)
  login,          // POST /hub/login (a student)
  open_server,    // GET /user/{name}/ through the proxy (a student)
  start_kernel,   // POST /user/{name}/api/kernels (a student)
  kernel_socket,  // the kernel's WebSocket handshake (a student)
  delete_kernel,  // DELETE /user/{name}/api/kernels/{id} (a student)
  other,          // anything else
};

struct ApiKindInfo {
  const char* name;    // what reports and thresholds call it: "start server"
  const char* method;  // "" for ApiKind::other
  const char* route;   // the route template; "" for ApiKind::other
};

// In the order of the enum.
inline constexpr std::array<ApiKindInfo, 18> kApiKinds{{
    {"version", "GET", "/"},
    {"list users", "GET", "/users"},
    {"create users", "POST", "/users"},
    {"get user", "GET", "/users/{name}"},
    {"start server", "POST", "/users/{name}/server"},
    {"progress", "GET", "/users/{name}/server/progress"},
    {"stop server", "DELETE", "/users/{name}/server"},
    {"delete user", "DELETE", "/users/{name}"},
    {"activity", "POST", "/users/{name}/activity"},
    {"create token", "POST", "/users/{name}/tokens"},
    {"metrics", "GET", "/hub/metrics"},
    {"login page", "GET", "/hub/login"},
    {"login", "POST", "/hub/login"},
    {"open server", "GET", "/user/{name}/"},
    {"start kernel", "POST", "/user/{name}/api/kernels"},
    {"kernel websocket", "GET", "/user/{name}/api/kernels/{id}/channels"},
    {"delete kernel", "DELETE", "/user/{name}/api/kernels/{id}"},
    {"other", "", ""},
}};
inline constexpr std::size_t kApiKindCount = kApiKinds.size();
static_assert(static_cast<std::size_t>(ApiKind::other) + 1 == kApiKindCount, "one row per kind");

inline const char* to_string(ApiKind kind) { return kApiKinds[static_cast<std::size_t>(kind)].name; }
inline const char* method_of(ApiKind kind) { return kApiKinds[static_cast<std::size_t>(kind)].method; }
inline const char* route_of(ApiKind kind) { return kApiKinds[static_cast<std::size_t>(kind)].route; }

} // namespace hubstress
