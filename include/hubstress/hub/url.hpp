#pragma once
// Turning what the user typed into the hub's REST API base URL.
#include <set>
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

// Where an endpoint leads, for telling whether two spellings name one hub: the host's addresses (any
// address of this machine, loopback or not, counts as the one address "local"), the port (the
// scheme's default when none is written) and the API path. "http://localhost:8000/hub/api",
// "http://127.0.0.1:8000/" and "http://LOCALHOST:8000//hub/" lead to one place.
struct HubPlace {
  std::string host;                 // lower-cased, without credentials or port
  std::set<std::string> addresses;  // what the host resolves to now; empty when it does not
  int port = 0;
  std::string path;                 // the API path, "/prefix/hub/api", repeated slashes made one
};
// Throws std::invalid_argument for what normalize_api_url refuses. Resolves the host (a DNS look-up).
HubPlace hub_place(std::string_view endpoint);
// True when `a` and `b` lead to one hub: same port and API path, and a host in common (by name, or by
// an address both resolve to). The purge guard compares runs by this, never by the URL's text.
bool same_hub(std::string_view a, std::string_view b);

// "a b/c" -> "a%20b%2Fc": user names are put into paths through this.
std::string url_escape(std::string_view text);

} // namespace hubstress
