#pragma once
// Internal: what a HubStream holds, shared by the client that opens it and the stream itself.
#include "hubstress/hub/client.hpp"

#include <deque>
#include <optional>

namespace hubstress {

struct HubStream::State {
  CallContext* context = nullptr;
  Request request;
  std::string shown;
  Response head;
  std::optional<engine::EventStream> stream;  // none in a dry run: `queued` holds its events
  std::deque<engine::SseEvent> queued;
};

} // namespace hubstress
