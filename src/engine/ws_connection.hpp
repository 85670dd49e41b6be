#pragma once
// Internal: what a WebSocket talks to. Beast's connection to a server (ws.cpp), or a client's
// responder in the same process (ws_peer.cpp).
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/web.hpp"
#include "hubstress/engine/ws.hpp"
#include "waiter.hpp"

#include <deque>
#include <memory>
#include <optional>

namespace hubstress::engine {

inline WsMessage failed_message(Errc errc, std::string reason) {
  WsMessage message;
  message.errc = errc;
  message.reason = std::move(reason);
  return message;
}

// A connection's messages that arrived and were not received yet, and the wait for the next one.
// Once the connection is over (end()), a receive with none left says why.
class Inbox {
public:
  explicit Inbox(const asio::any_io_executor& executor) : waiter_(executor) {}
  void push(WsMessage message) {
    messages_.push_back(std::move(message));
    waiter_.notify();
  }
  void end(Result why) {
    end_ = std::move(why);
    waiter_.notify();
  }
  // The next message; timeout or cancelled when none came in time.
  Task<WsMessage> next(std::chrono::milliseconds timeout, std::stop_token stop);

private:
  std::deque<WsMessage> messages_;
  Waiter waiter_;
  std::optional<Result> end_;
};

class WebSocket::Connection {
public:
  virtual ~Connection() = default;
  virtual Task<Result> open(UrlParts url, std::chrono::milliseconds timeout, std::stop_token stop) = 0;
  virtual Task<Result> send(std::string text, std::chrono::milliseconds timeout, std::stop_token stop) = 0;
  virtual Task<WsMessage> receive(std::chrono::milliseconds timeout, std::stop_token stop) = 0;
  virtual Task<Result> ping(std::chrono::milliseconds timeout, std::stop_token stop) = 0;
  virtual Task<Result> close(std::chrono::milliseconds timeout, std::stop_token stop) = 0;
  virtual void abort() = 0; // drops the TCP connection; pending operations end with an error

  Result opened{Errc::closed, "not connected"};
  int status = 0;
};

// A WebSocket whose other end is `responder.ws`, for `url`: it opens on the next turn of the loop
// (status 101; without `ws`, it fails to open), each text sent queues the responder's replies, a
// receive waits for the next one.
std::shared_ptr<WebSocket::Connection> peer_connection(const asio::any_io_executor& executor, Responder responder,
                                                        std::string url);

} // namespace hubstress::engine
