// A hub client's event streams, recorded once, when dropped.
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
    out.errc = engine::Errc::closed;
    co_return out;
  }
  out = co_await state_->stream->next(timeout, stop);
  out.event.data = state_->context->redact(std::move(out.event.data));
  out.reason = state_->context->redact(std::move(out.reason));
  co_return out;
}

} // namespace hubstress
