#include "ws_server.hpp"

#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

namespace hubstress::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  int port = 0;
  std::thread accept_thread;
  mutable std::mutex mu;
  std::vector<std::thread> sessions;
  std::vector<int> open_sockets; // shut down by stop() so that blocked reads end
  std::vector<std::string> cookies;
  std::vector<std::string> authorizations;
  int connection_count = 0;
  bool stopping = false;

  void start() {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    accept_thread = std::thread([this] { accept_loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
      for (int fd : open_sockets) ::shutdown(fd, SHUT_RDWR);
    }
    ::shutdown(acceptor.native_handle(), SHUT_RDWR); // ends the blocking accept
    accept_thread.join();
    for (auto& t : sessions) t.join();
  }

  void accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket(io);
      acceptor.accept(socket, ec);
      std::lock_guard<std::mutex> lock(mu);
      if (ec || stopping) return;
      open_sockets.push_back(socket.native_handle());
      ++connection_count;
      sessions.emplace_back([this, s = std::move(socket)]() mutable { session(std::move(s)); });
    }
  }

  static std::string header(const http::request<http::string_body>& req, http::field field) {
    auto it = req.find(field);
    return it == req.end() ? std::string() : std::string(it->value());
  }

  // The socket is closed only after stop() can no longer shut it down: its number may be reused.
  void session(tcp::socket socket) {
    serve(socket);
    std::lock_guard<std::mutex> lock(mu);
    open_sockets.erase(std::remove(open_sockets.begin(), open_sockets.end(), socket.native_handle()),
                       open_sockets.end());
  }

  void serve(tcp::socket& socket) {
    boost::system::error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      cookies.push_back(header(req, http::field::cookie));
      authorizations.push_back(header(req, http::field::authorization));
    }
    const std::string target(req.target());
    const bool allowed = target.rfind("/ws", 0) == 0 || target.find("/channels") != std::string::npos;
    if (!websocket::is_upgrade(req) || !allowed) {
      http::response<http::string_body> res{http::status::forbidden, req.version()};
      res.body() = "no";
      res.prepare_payload();
      http::write(socket, res, ec);
      return;
    }
    if (target.rfind("/ws-slow-upgrade", 0) == 0) hold_upgrade(target);
    websocket::stream<tcp::socket&> ws(socket);
    ws.accept(req, ec);
    if (ec) return;
    for (;;) {
      beast::flat_buffer message;
      ws.read(message, ec);
      if (ec) return;
      const std::string text = beast::buffers_to_string(message.data());
      if (text == "drop-mid-message") {
        ws.text(true);
        ws.write_some(false, asio::buffer(std::string("{\"partial\": ")), ec); // not the last fragment
        socket.shutdown(tcp::socket::shutdown_both, ec);
        return;
      }
      if (text == "close-please") {
        ws.close(websocket::close_reason(websocket::close_code::normal, "bye"), ec);
        return;
      }
      const auto json = nlohmann::json::parse(text, nullptr, false);
      if (json.is_object() && json.value(nlohmann::json::json_pointer("/header/msg_type"), std::string()) == "execute_request") {
        execute(ws, json);
      } else {
        ws.text(ws.got_text());
        ws.write(message.data(), ec);
      }
      if (ec) return;
    }
  }

  // "/ws-slow-upgrade?ms=N": the upgrade is answered after N ms (or when the server stops), as
  // jupyter-server answers a kernel's upgrade only once the kernel is ready.
  void hold_upgrade(const std::string& target) {
    const auto at = target.find("ms=");
    const long ms = at == std::string::npos ? 0 : std::stol(target.substr(at + 3));
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // What a kernel answers to execute_request, in the order a kernel sends it.
  static void execute(websocket::stream<tcp::socket&>& ws, const nlohmann::json& request) {
    const auto parent = request["header"];
    auto reply = [&](const std::string& channel, const std::string& type, nlohmann::json content) {
      nlohmann::json message = {{"channel", channel},
                                {"header", {{"msg_type", type}, {"msg_id", type + "-1"}}},
                                {"parent_header", parent},
                                {"content", std::move(content)}};
      boost::system::error_code ec;
      ws.text(true);
      ws.write(asio::buffer(message.dump()), ec);
    };
    reply("iopub", "status", {{"execution_state", "busy"}});
    reply("iopub", "stream", {{"name", "stdout"}, {"text", "hello\n"}});
    reply("iopub", "status", {{"execution_state", "idle"}});
    reply("shell", "execute_reply", {{"status", "ok"}, {"execution_count", 1}});
  }
};

WsServer::WsServer() : impl_(std::make_unique<Impl>()) { impl_->start(); }
WsServer::~WsServer() { impl_->stop(); }

std::string WsServer::url(const std::string& path) const {
  return "ws://127.0.0.1:" + std::to_string(impl_->port) + path;
}

std::vector<std::string> WsServer::cookies_seen() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->cookies;
}

std::vector<std::string> WsServer::authorizations_seen() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->authorizations;
}

int WsServer::connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connection_count;
}

} // namespace hubstress::testing
