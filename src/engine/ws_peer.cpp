// A WebSocket answered in the process by a client's responder: the dry run's kernel, or a test's.
#include "waiter.hpp"
#include "ws_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>

namespace hubstress::engine {

namespace {

WsMessage ended(Errc errc, std::string reason) {
  WsMessage message;
  message.errc = errc;
  message.reason = std::move(reason);
  return message;
}

class PeerConnection final : public WebSocket::Connection {
public:
  PeerConnection(const asio::any_io_executor& executor, Responder responder, std::string url)
      : responder_(std::move(responder)), url_(std::move(url)), inbox_waiter_(executor) {}

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
      inbox_.push_back(std::move(message));
    }
    inbox_waiter_.notify();
    co_return Result{};
  }

  Task<WsMessage> receive(std::chrono::milliseconds timeout, std::stop_token stop) override {
    if (!opened) co_return ended(opened.errc, opened.reason);
    const auto deadline = deadline_after(timeout);
    for (;;) {
      if (!inbox_.empty()) {
        WsMessage message = std::move(inbox_.front());
        inbox_.pop_front();
        co_return message;
      }
      if (closed_) co_return ended(Errc::closed, "closed");
      const Errc errc = co_await inbox_waiter_.wait(deadline, stop);
      if (errc == Errc::timeout) co_return ended(errc, "no message within " + std::to_string(timeout.count()) + " ms");
      if (errc == Errc::cancelled) co_return ended(errc, "cancelled");
    }
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
    inbox_waiter_.notify();
  }

private:
  Responder responder_;
  std::string url_;
  std::deque<WsMessage> inbox_;
  Waiter inbox_waiter_;
  bool closed_ = false;
};

} // namespace

std::shared_ptr<WebSocket::Connection> peer_connection(const asio::any_io_executor& executor, Responder responder,
                                                        std::string url) {
  return std::make_shared<PeerConnection>(executor, std::move(responder), std::move(url));
}

} // namespace hubstress::engine
