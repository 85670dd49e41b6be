#include "hubstress/engine/ws.hpp"

#include "waiter.hpp"
#include "ws_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>

namespace hubstress::engine {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string millis(std::chrono::milliseconds timeout) { return std::to_string(timeout.count()) + " ms"; }

} // namespace

Task<WsMessage> Inbox::next(std::chrono::milliseconds timeout, std::stop_token stop) {
  const auto deadline = deadline_after(timeout);
  for (;;) {
    if (!messages_.empty()) {
      WsMessage message = std::move(messages_.front());
      messages_.pop_front();
      co_return message;
    }
    if (end_) co_return failed_message(end_->errc, end_->reason);
    const Errc errc = co_await waiter_.wait(deadline, stop);
    if (errc == Errc::timeout) co_return failed_message(errc, "no message within " + millis(timeout));
    if (errc == Errc::cancelled) co_return failed_message(errc, "cancelled");
  }
}

namespace {

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// The Beast stream with a reader coroutine that queues every message as it arrives and a writer
// coroutine that sends one frame at a time (Beast allows one read and one write in flight).
template <class Stream>
class BeastConnection final : public WebSocket::Connection,
                              public std::enable_shared_from_this<BeastConnection<Stream>> {
  static constexpr bool tls = std::is_same_v<Stream, TlsStream>;

public:
  BeastConnection(const asio::any_io_executor& executor, WsOptions options)
      : executor_(executor), options_(std::move(options)), ssl_(asio::ssl::context::tls_client),
        connect_waiter_(executor), inbox_(executor), pong_waiter_(executor), end_waiter_(executor) {
    if constexpr (tls) {
      error_code ignored; // a missing CA store shows up as a failed handshake, with its reason
      if (options_.ca_bundle.empty()) {
        ssl_.set_default_verify_paths(ignored);
      } else {
        ssl_.load_verify_file(options_.ca_bundle, ignored);
      }
      ssl_.set_verify_mode(options_.insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
      ws_ = std::make_unique<Stream>(executor, ssl_);
    } else {
      ws_ = std::make_unique<Stream>(executor);
    }
    ws_->control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) {
        pong_seen_ = true;
        pong_waiter_.notify();
      }
    });
  }

  Task<Result> open(UrlParts url, std::chrono::milliseconds timeout, std::stop_token stop) override {
    auto self = this->shared_from_this();
    asio::co_spawn(executor_, connect_steps(self, std::move(url)), [self](std::exception_ptr error) {
      if (error) self->connected(Result{Errc::transport_failed, "unexpected error while connecting"});
    });
    const auto deadline = deadline_after(timeout);
    while (!connect_done_) {
      const Errc errc = co_await connect_waiter_.wait(deadline, stop);
      if (!connect_done_ && errc != Errc::ok) {
        connected(Result{errc, errc == Errc::timeout ? "not connected within " + millis(timeout) : "cancelled"});
        abort();
      }
    }
    co_return opened;
  }

  Task<Result> send(std::string text, std::chrono::milliseconds timeout, std::stop_token stop) override {
    co_return co_await submit(Kind::text, std::move(text), timeout, std::move(stop));
  }

  Task<WsMessage> receive(std::chrono::milliseconds timeout, std::stop_token stop) override {
    if (!opened) co_return failed_message(opened.errc, opened.reason);
    co_return co_await inbox_.next(timeout, std::move(stop));
  }

  Task<Result> ping(std::chrono::milliseconds timeout, std::stop_token stop) override {
    const auto deadline = deadline_after(timeout);
    pong_seen_ = false;
    Result sent = co_await submit(Kind::ping, std::string(), timeout, stop);
    if (!sent) co_return sent;
    while (!pong_seen_ && !ended_) {
      const Errc errc = co_await pong_waiter_.wait(deadline, stop);
      if (errc == Errc::timeout) co_return Result{errc, "no pong within " + millis(timeout)};
      if (errc == Errc::cancelled) co_return Result{errc, "cancelled"};
    }
    co_return pong_seen_ ? Result{} : end_;
  }

  Task<Result> close(std::chrono::milliseconds timeout, std::stop_token stop) override {
    if (!opened) co_return opened;
    if (ended_) co_return end_.errc == Errc::closed ? Result{} : end_;
    const auto deadline = deadline_after(timeout);
    closing_ = true;
    // The reader (on the server's close frame) or the close operation ends the connection.
    Result sent = co_await submit(Kind::close, std::string(), timeout, stop);
    if (sent.errc == Errc::timeout || sent.errc == Errc::cancelled) co_return sent;
    while (!ended_) {
      const Errc errc = co_await end_waiter_.wait(deadline, stop);
      if (errc == Errc::timeout) {
        abort();
        co_return Result{errc, "the server did not close within " + millis(timeout)};
      }
      if (errc == Errc::cancelled) co_return Result{errc, "cancelled"};
    }
    co_return end_.errc == Errc::closed ? Result{} : end_;
  }

  void abort() override {
    if (!ended_) finish(Result{Errc::transport_failed, "connection dropped by this client"});
    error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
  }

private:
  enum class Kind { text, ping, close };
  struct Pending {
    explicit Pending(const asio::any_io_executor& executor) : waiter(executor) {}
    Waiter waiter;
    bool started = false;
    bool done = false;
    bool abandoned = false; // its await ended before the writer got to it: not sent
    error_code error;
  };
  struct Outgoing {
    Kind kind;
    std::string payload;
    std::shared_ptr<Pending> pending;
  };

  std::string redact(std::string text) const {
    for (const auto& secret : options_.secrets) {
      if (secret.empty()) continue;
      for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
        text.replace(pos, secret.size(), "***");
      }
    }
    return text;
  }

  void connected(Result result) {
    if (connect_done_) return;
    connect_done_ = true;
    result.reason = redact(std::move(result.reason));
    opened = std::move(result);
    connect_waiter_.notify();
  }

  static Task<void> connect_steps(std::shared_ptr<BeastConnection> self, UrlParts url) {
    Stream& ws = *self->ws_;
    error_code ec;
    tcp::resolver resolver(self->executor_);
    auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(asio::use_awaitable, ec));
    if (self->connect_done_) co_return;
    if (ec) {
      self->connected(Result{Errc::dns_failed, url.host + ": " + ec.message()});
      co_return;
    }
    co_await beast::get_lowest_layer(ws).async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (self->connect_done_) co_return;
    if (ec) {
      self->connected(Result{Errc::connect_failed, url.host + ":" + url.port + ": " + ec.message()});
      co_return;
    }
    // as browsers do: a small frame goes out at once, not after the previous one's ACK (Nagle's
    // algorithm would add up to 40 ms to a cell's round trip)
    beast::get_lowest_layer(ws).socket().set_option(asio::ip::tcp::no_delay(true), ec);
    if constexpr (tls) {
      if (!SSL_set_tlsext_host_name(ws.next_layer().native_handle(), url.host.c_str())) {
        self->connected(Result{Errc::tls_failed, "cannot set the TLS server name"});
        co_return;
      }
      if (!self->options_.insecure) ws.next_layer().set_verify_callback(asio::ssl::host_name_verification(url.host));
      co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
      if (self->connect_done_) co_return;
      if (ec) {
        self->connected(Result{Errc::tls_failed, ec.message()});
        co_return;
      }
    }
    // open() holds the caller's deadline; Beast's suggested 30 s would cut short an upgrade that
    // the server answers only once what it serves is ready
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = websocket::stream_base::none();
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([options = self->options_](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, options.user_agent);
      for (const auto& line : options.headers) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const auto start = line.find_first_not_of(' ', colon + 1);
        req.set(line.substr(0, colon), start == std::string::npos ? "" : line.substr(start));
      }
    }));
    const bool default_port = url.port == (tls ? "443" : "80");
    const std::string host = (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) +
                             (default_port ? "" : ":" + url.port);
    websocket::response_type response;
    co_await ws.async_handshake(response, host, url.target, asio::redirect_error(asio::use_awaitable, ec));
    if (self->connect_done_) co_return;
    self->status = static_cast<int>(response.result_int());
    if (ec) {
      const std::string why = ec == websocket::error::upgrade_declined
                                  ? "the server refused the upgrade: HTTP " + std::to_string(self->status)
                                  : "WebSocket handshake failed: " + ec.message();
      self->connected(Result{Errc::transport_failed, why});
      co_return;
    }
    self->connected(Result{});
    asio::co_spawn(self->executor_, read_loop(self), [](std::exception_ptr) {});
  }

  static Task<void> read_loop(std::shared_ptr<BeastConnection> self) {
    beast::flat_buffer buffer;
    for (;;) {
      error_code ec;
      co_await self->ws_->async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        self->read_failed(ec);
        co_return;
      }
      WsMessage message;
      message.arrived = Clock::now();
      message.text = beast::buffers_to_string(buffer.data());
      message.binary = !self->ws_->got_text();
      buffer.consume(buffer.size());
      self->inbox_.push(std::move(message));
    }
  }

  void read_failed(const error_code& ec) {
    if (ended_) return; // we dropped it ourselves: the reason is set already
    if (closing_ && ec != websocket::error::closed) return; // our close is under way: it says how it went
    if (ec == websocket::error::closed) {
      const auto& why = ws_->reason();
      std::string text = closing_ ? "closed" : "closed by the server";
      text += " (code " + std::to_string(static_cast<int>(why.code));
      if (!why.reason.empty()) text += ": " + std::string(why.reason.data(), why.reason.size());
      finish(Result{Errc::closed, text + ")"});
    } else {
      finish(Result{Errc::transport_failed, "connection broken: " + ec.message()});
    }
  }

  // Beast may end the reader's pending read with operation_aborted while it closes; the close
  // operation's own result is then the one that counts.
  void close_done(const error_code& ec) {
    if (ended_) return;
    if (ec && ec != asio::error::operation_aborted) {
      finish(Result{Errc::transport_failed, "close failed: " + ec.message()});
    } else {
      finish(Result{Errc::closed, "closed (code 1000)"});
    }
  }

  void finish(Result why) {
    ended_ = true;
    why.reason = redact(std::move(why.reason));
    end_ = std::move(why);
    inbox_.end(end_);
    pong_waiter_.notify();
    end_waiter_.notify();
  }

  Task<Result> submit(Kind kind, std::string payload, std::chrono::milliseconds timeout, std::stop_token stop) {
    if (!opened) co_return opened;
    if (ended_) co_return end_;
    auto pending = std::make_shared<Pending>(executor_);
    outbox_.push_back(Outgoing{kind, std::move(payload), pending});
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(executor_, write_loop(this->shared_from_this()), [](std::exception_ptr) {});
    }
    const auto deadline = deadline_after(timeout);
    while (!pending->done) {
      const Errc errc = co_await pending->waiter.wait(deadline, stop);
      if (pending->done || errc == Errc::ok) continue;
      pending->abandoned = true;
      if (errc == Errc::timeout && pending->started) abort(); // a write that hangs: the connection is stuck
      co_return Result{errc, errc == Errc::timeout ? "not sent within " + millis(timeout) : "cancelled"};
    }
    if (pending->error && kind != Kind::close) {
      co_return ended_ ? end_ : Result{Errc::transport_failed, "send failed: " + pending->error.message()};
    }
    co_return Result{};
  }

  static Task<void> write_loop(std::shared_ptr<BeastConnection> self) {
    Stream& ws = *self->ws_;
    while (!self->outbox_.empty()) {
      Outgoing out = std::move(self->outbox_.front());
      self->outbox_.pop_front();
      if (out.pending->abandoned) continue;
      out.pending->started = true;
      error_code ec;
      switch (out.kind) {
      case Kind::text:
        ws.text(true);
        co_await ws.async_write(asio::buffer(out.payload), asio::redirect_error(asio::use_awaitable, ec));
        break;
      case Kind::ping:
        co_await ws.async_ping(websocket::ping_data(), asio::redirect_error(asio::use_awaitable, ec));
        break;
      case Kind::close:
        co_await ws.async_close(websocket::close_code::normal, asio::redirect_error(asio::use_awaitable, ec));
        self->close_done(ec);
        break;
      }
      out.pending->error = ec;
      out.pending->done = true;
      out.pending->waiter.notify();
    }
    self->writing_ = false;
  }

  asio::any_io_executor executor_;
  WsOptions options_;
  asio::ssl::context ssl_; // before the stream, which refers to it
  std::unique_ptr<Stream> ws_;
  Waiter connect_waiter_;
  bool connect_done_ = false;
  Inbox inbox_;
  bool pong_seen_ = false;
  Waiter pong_waiter_;
  std::deque<Outgoing> outbox_;
  bool writing_ = false;
  bool closing_ = false;
  bool ended_ = false; // the reader stopped (or we dropped the connection): end_ says why
  Result end_;
  Waiter end_waiter_;
};

} // namespace

WebSocket::WebSocket() = default;
WebSocket::WebSocket(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}
WebSocket::~WebSocket() {
  if (connection_) connection_->abort();
}
WebSocket::WebSocket(WebSocket&&) noexcept = default;
WebSocket& WebSocket::operator=(WebSocket&& other) noexcept {
  if (this != &other) {
    if (connection_) connection_->abort();
    connection_ = std::move(other.connection_);
  }
  return *this;
}

const Result& WebSocket::opened() const {
  static const Result never{Errc::closed, "not connected"};
  return connection_ ? connection_->opened : never;
}

int WebSocket::status() const { return connection_ ? connection_->status : 0; }

Task<WebSocket> WebSocket::connect(std::string url, WsOptions options, std::chrono::milliseconds timeout,
                                   std::stop_token stop) {
  const auto executor = co_await asio::this_coro::executor;
  auto parts = split_url(url);
  std::shared_ptr<Connection> connection;
  if (parts && parts->scheme == "wss") {
    connection = std::make_shared<BeastConnection<TlsStream>>(executor, std::move(options));
  } else if (parts && parts->scheme == "ws") {
    connection = std::make_shared<BeastConnection<PlainStream>>(executor, std::move(options));
  } else {
    auto failed = std::make_shared<BeastConnection<PlainStream>>(executor, std::move(options));
    failed->opened = Result{Errc::connect_failed, "not a ws:// or wss:// URL: " + url};
    co_return WebSocket(std::move(failed));
  }
  co_await connection->open(std::move(*parts), timeout, std::move(stop));
  co_return WebSocket(std::move(connection));
}

Task<WebSocket> WebSocket::connect(std::string url, std::chrono::milliseconds timeout, std::stop_token stop) {
  WsOptions options;
  co_return co_await connect(std::move(url), std::move(options), timeout, std::move(stop));
}

Task<Result> WebSocket::send(std::string text, std::chrono::milliseconds timeout, std::stop_token stop) {
  if (!connection_) co_return opened();
  co_return co_await connection_->send(std::move(text), timeout, std::move(stop));
}

Task<WsMessage> WebSocket::receive(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (!connection_) co_return failed_message(opened().errc, opened().reason);
  co_return co_await connection_->receive(timeout, std::move(stop));
}

Task<Result> WebSocket::ping(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (!connection_) co_return opened();
  co_return co_await connection_->ping(timeout, std::move(stop));
}

Task<Result> WebSocket::close(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (!connection_) co_return opened();
  co_return co_await connection_->close(timeout, std::move(stop));
}

} // namespace hubstress::engine
