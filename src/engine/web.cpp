#include "hubstress/engine/web.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace hubstress::engine {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

bool domain_matches(const Cookie& cookie, std::string_view host) {
  const std::string h = lower(host);
  const std::string d = lower(cookie.domain);
  if (h == d) return true;
  return cookie.include_subdomains && h.size() > d.size() && h.compare(h.size() - d.size(), d.size(), d) == 0 &&
         h[h.size() - d.size() - 1] == '.';
}

// RFC 6265 5.1.4: the cookie path is the request path, or a prefix of it ending at a '/'.
bool path_matches(std::string_view cookie_path, std::string_view path) {
  if (path.substr(0, cookie_path.size()) != cookie_path) return false;
  return path.size() == cookie_path.size() || cookie_path.back() == '/' || path[cookie_path.size()] == '/';
}

} // namespace

std::optional<UrlParts> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlParts parts;
  parts.scheme = lower(url.substr(0, scheme_end));
  std::string default_port;
  if (parts.scheme == "http" || parts.scheme == "ws") {
    default_port = "80";
  } else if (parts.scheme == "https" || parts.scheme == "wss") {
    default_port = "443";
  } else {
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  parts.host = lower(host);
  parts.port = port.empty() ? default_port : std::string(port);
  parts.target = target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return parts;
}

std::optional<Cookie> parse_cookie_line(std::string_view line) {
  constexpr std::string_view http_only = "#HttpOnly_";
  Cookie cookie;
  if (line.substr(0, http_only.size()) == http_only) {
    cookie.http_only = true;
    line.remove_prefix(http_only.size());
  } else if (!line.empty() && line.front() == '#') {
    return std::nullopt;
  }
  const auto fields = split_tabs(line);
  if (fields.size() != 7) return std::nullopt;
  std::string_view domain = fields[0];
  if (!domain.empty() && domain.front() == '.') domain.remove_prefix(1);
  cookie.domain = std::string(domain);
  cookie.include_subdomains = fields[1] == "TRUE";
  cookie.path = std::string(fields[2]);
  cookie.secure = fields[3] == "TRUE";
  const auto expires = fields[4];
  if (std::from_chars(expires.data(), expires.data() + expires.size(), cookie.expires).ec != std::errc{}) {
    return std::nullopt;
  }
  cookie.name = std::string(fields[5]);
  cookie.value = std::string(fields[6]);
  if (cookie.domain.empty() || cookie.path.empty() || cookie.name.empty()) return std::nullopt;
  return cookie;
}

CookieJar cookies_for(const CookieJar& jar, std::string_view url, std::int64_t now_unix) {
  CookieJar out;
  const auto parts = split_url(url);
  if (!parts) return out;
  const bool secure = parts->scheme == "https" || parts->scheme == "wss";
  const std::string path = parts->path();
  for (const auto& cookie : jar) {
    if (cookie.expires != 0 && cookie.expires <= now_unix) continue;
    if (cookie.secure && !secure) continue;
    if (!domain_matches(cookie, parts->host) || !path_matches(cookie.path, path)) continue;
    out.push_back(cookie);
  }
  std::stable_sort(out.begin(), out.end(), [](const Cookie& a, const Cookie& b) { return a.path.size() > b.path.size(); });
  return out;
}

std::string cookie_header(const CookieJar& cookies) {
  std::string header;
  for (const auto& cookie : cookies) {
    if (!header.empty()) header += "; ";
    header += cookie.name + "=" + cookie.value;
  }
  return header;
}

std::string form_encode(const FormFields& fields) {
  constexpr char hex[] = "0123456789ABCDEF";
  auto encode = [&](std::string_view text, std::string& out) {
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') {
        out += static_cast<char>(c);
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
  };
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    encode(name, body);
    body += '=';
    encode(value, body);
  }
  return body;
}

} // namespace hubstress::engine
