#include "hubstress/hub/url.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace hubstress {

namespace {
bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// An endpoint as an error may show it: credentials as ***, also without a scheme ("admin:pw@hub/...").
// A query or fragment (which may carry a token) as "?...".
std::string shown(const std::string& url) {
  std::string out = url.substr(0, url.find_first_of("?#"));
  if (out.size() < url.size()) out += url[out.size()] == '?' ? "?..." : "#...";
  if (out.find("://") != std::string::npos) return redact_credentials(out);
  const auto at = out.substr(0, out.find('/')).rfind('@');
  return at == std::string::npos ? out : "***" + out.substr(at);
}
} // namespace

std::string normalize_api_url(std::string_view endpoint) {
  std::string url(endpoint);
  url.erase(0, url.find_first_not_of(" \t"));
  url.erase(url.find_last_not_of(" \t\r\n") + 1);
  if (url.empty()) {
    throw std::invalid_argument("the hub endpoint is empty");
  }
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    throw std::invalid_argument("endpoint '" + shown(url) + "' has no scheme: use http://... or https://...");
  }
  std::string scheme = url.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    throw std::invalid_argument("endpoint '" + shown(url) + "' uses scheme '" + scheme + "': only http and https work");
  }
  const std::string rest = url.substr(scheme_end + 3);
  const auto host_end = rest.find_first_of("/?#");
  const std::string host = rest.substr(0, host_end);
  const std::string host_only = host.substr(host.rfind('@') == std::string::npos ? 0 : host.rfind('@') + 1);
  if (host_only.empty() || host.find_first_of(" \t") != std::string::npos) {
    throw std::invalid_argument("endpoint '" + shown(url) + "' has no host");
  }
  std::string path = host_end == std::string::npos ? "" : rest.substr(host_end);
  if (path.find_first_of("?#") != std::string::npos) {
    throw std::invalid_argument("endpoint '" + shown(url) + "' must not carry a query or fragment");
  }
  if (ends_with(path, "/")) {
    path.pop_back();
  }
  if (ends_with(path, "/api") && !ends_with(path, "/hub/api")) {
    // the hub's API is always .../hub/api: "/api" alone (or a server's /user/NAME/api) would become
    // .../api/hub/api, which the hub answers with a redirect to its login page
    std::string root = path.substr(0, path.size() - 4);
    for (std::size_t at = root.find("/user"); at != std::string::npos; at = root.find("/user", at + 1)) {
      if (at + 5 == root.size() || root[at + 5] == '/') {
        root.erase(at);  // a user's server: the hub lives above it
        break;
      }
    }
    const std::string base = redact_credentials(scheme + "://" + host + root);
    throw std::invalid_argument("endpoint '" + redact_credentials(url) + "' ends in /api but the hub's API is .../hub/api: pass " + base +
                                "/hub/api (or the hub's root URL, " + (root.empty() ? base + "/" : base) + ")");
  }
  if (ends_with(path, "/hub/api")) {
    // already the API
  } else if (ends_with(path, "/hub")) {
    path += "/api";
  } else {
    path += "/hub/api";
  }
  return scheme + "://" + host + path;
}

std::string root_of_api_url(std::string_view api_url) {
  constexpr std::string_view suffix = "/hub/api";
  if (api_url.size() >= suffix.size() && api_url.substr(api_url.size() - suffix.size()) == suffix) {
    api_url.remove_suffix(suffix.size());
  }
  return std::string(api_url);
}

namespace {
// [start, end) of the "user:password" part of a URL, or nothing.
std::pair<std::size_t, std::size_t> userinfo_span(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {0, 0};
  const auto host_start = scheme + 3;
  const auto authority_end = std::min(url.find_first_of("/?#", host_start), url.size());
  const auto at = url.substr(host_start, authority_end - host_start).rfind('@');
  if (at == std::string_view::npos) return {0, 0};
  return {host_start, host_start + at};
}
} // namespace

std::string redact_credentials(std::string_view url) {
  const auto [start, end] = userinfo_span(url);
  if (start == end && (start == 0 || url[start] != '@')) return std::string(url);
  return std::string(url.substr(0, start)) + "***" + std::string(url.substr(end));
}

std::string url_credentials(std::string_view url) {
  const auto [start, end] = userinfo_span(url);
  return std::string(url.substr(start, end - start));
}

std::string url_escape(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

} // namespace hubstress
