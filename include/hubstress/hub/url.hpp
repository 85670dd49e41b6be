#pragma once
// Turning what the user typed into the hub's REST API base URL.
#include <string>
#include <string_view>

namespace hubstress {

// Accepts the API URL (".../hub/api"), the hub URL (".../hub") or the root URL, with or without
// one trailing slash, and returns the API base without a trailing slash.
// Throws std::invalid_argument with a one-line reason for anything that is not http(s)://host...,
// and with the URL to pass instead for one ending in /api that is not .../hub/api ("http://hub/api",
// "http://hub/user/NAME/api"): it is not a root URL either.
std::string normalize_api_url(std::string_view endpoint);

// The hub's root URL (where /hub/ and /user/ live) of an API URL made by normalize_api_url:
// "https://host/prefix/hub/api" -> "https://host/prefix".
std::string root_of_api_url(std::string_view api_url);
// "http://admin:secret@host/x" -> "http://***@host/x": what any log, report or error shows of a URL.
// A URL without credentials comes back unchanged.
std::string redact_credentials(std::string_view url);
// The credentials of a URL ("admin:secret"), or "" when it has none: secrets to redact in answers.
std::string url_credentials(std::string_view url);

// "a b/c" -> "a%20b%2Fc": user names are put into paths through this.
std::string url_escape(std::string_view text);

} // namespace hubstress
