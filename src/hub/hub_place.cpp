// Whether two endpoints name one hub: by where they lead (addresses, port, API path), not by text.
#include "hubstress/hub/url.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <stdexcept>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace hubstress {

namespace {

constexpr const char* kLocal = "local";  // any address of this machine

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// An address as text, an IPv4-mapped IPv6 address as its IPv4 one; "" for other families.
std::string address_text(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      inet_ntop(AF_INET, &a.s6_addr[12], text, sizeof text);
    } else {
      inet_ntop(AF_INET6, &a, text, sizeof text);
    }
  }
  return text;
}

bool loopback_or_any(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address == "0.0.0.0" || address == "::";
}

// Every address of this machine's interfaces: a hub listening on all of them is reached through any.
std::set<std::string> own_addresses() {
  std::set<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  const std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owned(list, freeifaddrs);
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr != nullptr) out.insert(address_text(i->ifa_addr));
  }
  out.erase("");
  return out;
}

std::set<std::string> resolve(const std::string& host) {
  std::set<std::string> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  const std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, freeaddrinfo);
  std::set<std::string> own;
  bool own_read = false;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const std::string text = address_text(a->ai_addr);
    if (text.empty()) continue;
    if (!loopback_or_any(text) && !own_read) {
      own = own_addresses();
      own_read = true;
    }
    out.insert(loopback_or_any(text) || own.count(text) != 0 ? kLocal : text);
  }
  return out;
}

// The place without its addresses: no look-up.
HubPlace parse_place(std::string_view endpoint) {
  const std::string url = normalize_api_url(endpoint);  // scheme lower-cased, no trailing slash
  const auto scheme_end = url.find("://");
  const std::string scheme = url.substr(0, scheme_end);
  const std::string rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  authority.erase(0, authority.rfind('@') == std::string::npos ? 0 : authority.rfind('@') + 1);
  HubPlace place;
  place.port = scheme == "https" ? 443 : 80;
  std::string host = authority;
  const auto bracket = authority.find(']');
  const auto colon = authority.find(':', bracket == std::string::npos ? 0 : bracket);
  if (colon != std::string::npos) {
    host = authority.substr(0, colon);
    const std::string port = authority.substr(colon + 1);
    if (!port.empty()) {
      if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
        throw std::invalid_argument("the endpoint's port '" + port + "' is not a number");
      }
      place.port = std::stoi(port);
    }
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  place.host = lower(host);
  for (auto at = path.find("//"); at != std::string::npos; at = path.find("//")) path.erase(at, 1);
  place.path = path;
  return place;
}

} // namespace

HubPlace hub_place(std::string_view endpoint) {
  HubPlace place = parse_place(endpoint);
  place.addresses = resolve(place.host);
  return place;
}

bool same_hub(std::string_view a, std::string_view b) {
  if (a == b) return true;
  HubPlace pa, pb;
  try {
    pa = parse_place(a);
    pb = parse_place(b);
  } catch (const std::invalid_argument&) {
    return false;  // not an endpoint: no hub to be the same as
  }
  if (pa.port != pb.port || pa.path != pb.path) return false;
  if (pa.host == pb.host) return true;
  pa.addresses = resolve(pa.host);  // looked up only now: another port or path needs no DNS
  pb.addresses = resolve(pb.host);
  return std::any_of(pa.addresses.begin(), pa.addresses.end(), [&](const std::string& address) { return pb.addresses.count(address) != 0; });
}

} // namespace hubstress
