// A hub client's event streams (recorded once, when dropped) and kernel channels (the real
// WebSocket, or the dry run's kernel).
#include "hubstress/hub/client.hpp"

#include "stream_state.hpp"

namespace hubstress {

using Clock = std::chrono::steady_clock;

namespace {
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
} // namespace


HubStream::HubStream() = default;
HubStream::HubStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
HubStream::HubStream(HubStream&&) noexcept = default;
HubStream& HubStream::operator=(HubStream&& other) noexcept {
  if (this != &other) {
    HubStream gone(std::move(*this));  // recorded now
    state_ = std::move(other.state_);
  }
  return *this;
}

HubStream::~HubStream() {
  if (!state_ || state_->context == nullptr) return;
  Response& r = state_->head;
  r.finished = Clock::now();
  r.total_s = seconds(r.finished - r.sent);
  r.elapsed_s = r.total_s;
  state_->context->record(state_->request, r, state_->shown);
}

const Response& HubStream::head() const {
  static const Response none{Outcome::transport_failed, 0, {}, {}, {}, {}, "no stream", 0, 0, 0, 0, {}, {}};
  return state_ ? state_->head : none;
}

Task<engine::EventStream::Next> HubStream::next(std::chrono::milliseconds timeout, std::stop_token stop) {
  engine::EventStream::Next out;
  if (!state_) {
    out.errc = engine::Errc::closed;
    co_return out;
  }
  if (!state_->stream) {
    if (state_->queued.empty()) {
      out.errc = engine::Errc::closed;
      co_return out;
    }
    out.event = std::move(state_->queued.front());
    state_->queued.pop_front();
    out.event.arrived = Clock::now();
    co_return out;
  }
  out = co_await state_->stream->next(timeout, stop);
  out.event.data = state_->context->redact(std::move(out.event.data));
  out.reason = state_->context->redact(std::move(out.reason));
  co_return out;
}

// ---------------------------------------------------------------------------------------------
// KernelChannel

KernelChannel::KernelChannel() = default;
KernelChannel::KernelChannel(KernelChannel&&) noexcept = default;
KernelChannel& KernelChannel::operator=(KernelChannel&&) noexcept = default;
KernelChannel::~KernelChannel() = default;

KernelChannel KernelChannel::real(engine::WebSocket socket) {
  KernelChannel c;
  c.opened_ = socket.opened();
  c.socket_.emplace(std::move(socket));
  return c;
}

KernelChannel KernelChannel::dry_run(std::string output) {
  KernelChannel c;
  c.opened_ = engine::Result{};
  c.output_ = std::move(output);
  return c;
}

const engine::Result& KernelChannel::opened() const { return opened_; }

Task<engine::Result> KernelChannel::send(std::string text, std::chrono::milliseconds timeout, std::stop_token stop) {
  if (socket_) co_return co_await socket_->send(std::move(text), timeout, stop);
  if (!opened_) co_return opened_;
  for (auto& reply : dry_run_kernel_replies(text, output_)) dry_.push_back(std::move(reply));
  co_return engine::Result{};
}

Task<engine::WsMessage> KernelChannel::receive(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (socket_) co_return co_await socket_->receive(timeout, stop);
  engine::WsMessage m;
  if (dry_.empty()) {
    m.errc = engine::Errc::timeout;
    m.reason = "the dry run's kernel has nothing more to say";
    co_return m;
  }
  m.text = std::move(dry_.front());
  dry_.pop_front();
  m.arrived = Clock::now();
  co_return m;
}

Task<void> KernelChannel::close(std::chrono::milliseconds timeout, std::stop_token stop) {
  if (socket_ && *socket_) co_await socket_->close(timeout, stop);
  opened_ = engine::Result{engine::Errc::closed, "closed"};
}

} // namespace hubstress
