#pragma once
// A WebSocket server for the engine's tests (Boost.Beast, blocking, one thread per connection),
// on 127.0.0.1 at a free port. It echoes text messages, except:
//   "drop-mid-message"  sends the first fragment of a message, then drops the TCP connection;
//   "close-please"      closes cleanly with code 1000 and reason "bye";
//   a Jupyter execute_request (JSON) gets iopub status busy, stream "hello\n", status idle and
//   a shell execute_reply, each with parent_header.msg_id, like a kernel.
// An upgrade to /ws-slow-upgrade?ms=N is answered only after N ms.
// An upgrade to a path other than /ws (or /user/.../channels) is refused with 403.
#include <memory>
#include <string>
#include <vector>

namespace hubstress::testing {

class WsServer {
public:
  WsServer();
  ~WsServer();
  WsServer(const WsServer&) = delete;
  WsServer& operator=(const WsServer&) = delete;

  std::string url(const std::string& path = "/ws") const;
  // Cookie and Authorization headers of the upgrades seen so far.
  std::vector<std::string> cookies_seen() const;
  std::vector<std::string> authorizations_seen() const;
  int connections() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace hubstress::testing
