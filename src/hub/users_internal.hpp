#pragma once
// What the files of src/hub/users*.cpp share: not part of the library's interface.
#include "hubstress/hub/session.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace hubstress::users_detail {

// "/users/{name}", the name escaped.
std::string user_path(const std::string& name);

// Throws AuthError for a 403: an invalid token or missing scopes, naming the scopes needed.
[[noreturn]] void throw_auth_error(const Response& r);

// Which of `names` exist on the hub now (GET /users/{name} each, a few in flight). `sure`: only a 200
// counts (to claim a user as ours); otherwise anything but a 404 counts (to clean up what may exist).
std::vector<std::string> existing_among(const std::vector<std::string>& names, Session& session, bool sure);

// The highest N among `names` ("0" when none is a stress-test user).
std::string highest_number(const std::vector<std::string>& names, std::string_view prefix);

} // namespace hubstress::users_detail
