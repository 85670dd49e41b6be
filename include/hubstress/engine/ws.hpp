#pragma once
// A WebSocket client (Boost.Beast) on the loop, for the kernel channels of a user's server
// (/user/NAME/api/kernels/ID/channels). ws:// and wss:// (OpenSSL). Messages that arrive are
// queued with their arrival time, so a receive that timed out loses nothing. Every operation
// returns a result with an Errc: a socket the server closed is Errc::closed (with its code and
// reason), a socket that broke (dropped mid-message, reset) is Errc::transport_failed.
// One coroutine receives at a time; sends, pings and a close may come from any flow.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace hubstress::engine {

struct WsOptions {
  std::vector<std::string> headers; // "Name: value" lines on the handshake (Cookie, Authorization)
  std::vector<std::string> secrets; // replaced by *** in every reason
  bool insecure = false;            // wss: skip certificate verification
  std::string ca_bundle;            // wss: CA file; empty: the system's
  std::string user_agent = "hub-stress-test-cpp/" HUB_STRESS_TEST_VERSION;
};

struct WsMessage {
  Errc errc = Errc::ok;
  std::string reason;
  std::string text;   // the payload (JSON for the kernel channels)
  bool binary = false;
  Clock::time_point arrived{};
  explicit operator bool() const { return errc == Errc::ok; }
};

class WebSocket {
public:
  // TCP, TLS for wss://, and the upgrade, all within `timeout`.
  static Task<WebSocket> connect(std::string url, WsOptions options, std::chrono::milliseconds timeout,
                                 std::stop_token stop = std::stop_token());
  static Task<WebSocket> connect(std::string url, std::chrono::milliseconds timeout,
                                 std::stop_token stop = std::stop_token());
  // As `client`'s user: the cookies its jar would send to this URL, and its token if it has one.
  static Task<WebSocket> connect(const Client& client, std::string url, std::chrono::milliseconds timeout,
                                 std::stop_token stop = std::stop_token());

  WebSocket();
  ~WebSocket(); // drops the connection if it is still open (use close() for a clean end)
  WebSocket(WebSocket&&) noexcept;
  WebSocket& operator=(WebSocket&&) noexcept;

  // How the connection attempt ended; `status` is the HTTP status of a refused upgrade.
  const Result& opened() const;
  int status() const;
  explicit operator bool() const { return static_cast<bool>(opened()); }

  Task<Result> send(std::string text, std::chrono::milliseconds timeout, std::stop_token stop = std::stop_token());
  Task<WsMessage> receive(std::chrono::milliseconds timeout, std::stop_token stop = std::stop_token());
  // Ok when the pong came back within `timeout`.
  Task<Result> ping(std::chrono::milliseconds timeout, std::stop_token stop = std::stop_token());
  // Sends a close frame and waits for the server's; the connection is over afterwards.
  Task<Result> close(std::chrono::milliseconds timeout, std::stop_token stop = std::stop_token());

  class Connection; // the Beast stream and its queues, shared with the reader and writer coroutines

private:
  explicit WebSocket(std::shared_ptr<Connection> connection);
  std::shared_ptr<Connection> connection_;
};

} // namespace hubstress::engine
