#pragma once
// Internal: what a HubStream holds, shared by the client that opens it and the stream itself.
#include "hubstress/hub/client.hpp"

#include <optional>

namespace hubstress {

struct HubStream::State {
  CallContext* context = nullptr;
  Request request;
  std::string shown;
  Response head;
  std::optional<engine::EventStream> stream;
};

} // namespace hubstress
