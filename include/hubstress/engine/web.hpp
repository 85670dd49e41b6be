#pragma once
// What a browser knows about URLs, cookies and forms, as pure functions (no I/O): used to hand
// a user's cookies to a WebSocket handshake and to find the _xsrf cookie for a request.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstress::engine {

struct UrlParts {
  std::string scheme; // lower-case: http, https, ws, wss
  std::string host;   // without brackets for IPv6
  std::string port;   // explicit, or the scheme's default
  std::string target; // path and query, "/" at least
  std::string path() const { return target.substr(0, target.find('?')); }
};
// nullopt for anything but an absolute http(s)/ws(s) URL.
std::optional<UrlParts> split_url(std::string_view url);

struct Cookie {
  std::string domain;              // without a leading dot
  bool include_subdomains = false; // set by a Domain= attribute
  std::string path = "/";
  bool secure = false;
  bool http_only = false;
  std::int64_t expires = 0;        // Unix seconds; 0 = a session cookie
  std::string name;
  std::string value;
};
using CookieJar = std::vector<Cookie>;

// One line of libcurl's CURLINFO_COOKIELIST (Netscape format); nullopt when malformed.
std::optional<Cookie> parse_cookie_line(std::string_view line);
// The cookies a browser sends to `url` (RFC 6265 domain, path and Secure rules; expired ones
// left out), longest path first; ws:// is matched as http://, wss:// as https://.
CookieJar cookies_for(const CookieJar& jar, std::string_view url, std::int64_t now_unix);
// "name=value; name2=value2"
std::string cookie_header(const CookieJar& cookies);

using FormFields = std::vector<std::pair<std::string, std::string>>;
// application/x-www-form-urlencoded, as a browser encodes a form: space as '+', the rest %XX.
std::string form_encode(const FormFields& fields);

} // namespace hubstress::engine
