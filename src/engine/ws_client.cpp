// A user's WebSocket: the handshake carries its cookies and its token, as its browser would.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/web.hpp"
#include "hubstress/engine/ws.hpp"
#include "ws_connection.hpp"

#include <boost/asio/this_coro.hpp>

namespace hubstress::engine {

Task<WebSocket> WebSocket::connect(const Client& client, std::string url, std::chrono::milliseconds timeout,
                                   std::stop_token stop) {
  std::string absolute = client.absolute(url);
  if (absolute.rfind("http", 0) == 0) absolute.replace(0, 4, "ws"); // http(s):// -> ws(s)://
  if (client.options().responder.ws || client.options().responder.http) {
    const auto executor = co_await asio::this_coro::executor;
    auto peer = peer_connection(executor, client.options().responder, absolute);
    UrlParts parts;  // named: see the GCC 12 note in loop.hpp
    co_await peer->open(std::move(parts), timeout, std::move(stop));
    co_return WebSocket(std::move(peer));
  }
  WsOptions options;
  options.insecure = client.options().insecure;
  options.ca_bundle = client.options().ca_bundle;
  options.user_agent = client.options().user_agent;
  const auto cookies = client.cookies_for(absolute);
  if (!cookies.empty()) options.headers.push_back("Cookie: " + cookie_header(cookies));
  if (!client.options().token.empty()) {
    options.headers.push_back("Authorization: token " + client.options().token);
    options.secrets.push_back(client.options().token);
  }
  co_return co_await connect(std::move(absolute), std::move(options), timeout, std::move(stop));
}

} // namespace hubstress::engine
