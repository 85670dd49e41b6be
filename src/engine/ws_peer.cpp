// A WebSocket answered in the process by a client's responder: the dry run's kernel, or a test's.
#include "ws_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubstress::engine {

namespace {

class PeerConnection final : public WebSocket::Connection {
public:
  PeerConnection(const asio::any_io_executor& executor, Responder responder, std::string url)
      : responder_(std::move(responder)), url_(std::move(url)), inbox_(executor) {}

  Task<Result> open(UrlParts, std::chrono::milliseconds, std::stop_token stop) override {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);  // as an upgrade would come
    if (stop.stop_requested()) {
      opened = Result{Errc::cancelled, "cancelled"};
    } else if (!responder_.ws) {
      opened = Result{Errc::connect_failed, "the client's responder answers no WebSocket"};  // nothing goes out either
    } else {
      opened = Result{};
    }
    status = opened ? 101 : 0;
    co_return opened;
  }

  Task<Result> send(std::string text, std::chrono::milliseconds, std::stop_token) override {
    if (!opened || closed_) co_return closed_ ? Result{Errc::closed, "closed"} : opened;
    for (auto& reply : responder_.ws(url_, text)) {
      WsMessage message;
      message.text = std::move(reply);
      message.arrived = Clock::now();
      inbox_.push(std::move(message));
    }
    co_return Result{};
  }

  Task<WsMessage> receive(std::chrono::milliseconds timeout, std::stop_token stop) override {
    if (!opened) co_return failed_message(opened.errc, opened.reason);
    co_return co_await inbox_.next(timeout, std::move(stop));
  }

  Task<Result> ping(std::chrono::milliseconds, std::stop_token) override {
    co_return closed_ || !opened ? Result{Errc::closed, "closed"} : Result{};
  }

  Task<Result> close(std::chrono::milliseconds, std::stop_token) override {
    if (!opened) co_return opened;
    abort();
    co_return Result{};
  }

  void abort() override {
    closed_ = true;
    inbox_.end(Result{Errc::closed, "closed"});
  }

private:
  Responder responder_;
  std::string url_;
  Inbox inbox_;
  bool closed_ = false;
};

} // namespace

std::shared_ptr<WebSocket::Connection> peer_connection(const asio::any_io_executor& executor, Responder responder,
                                                        std::string url) {
  return std::make_shared<PeerConnection>(executor, std::move(responder), std::move(url));
}

} // namespace hubstress::engine
