#pragma once
// Internal: a client's requests answered by its Responder instead of the network (client.hpp).
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/sse.hpp"

#include <deque>

namespace hubstress::engine {

// The responder's answer to `request` on a later turn of the loop; Errc::cancelled when `stop`
// came first. The client's token is hidden from its body, as from a real answer's.
Task<Answer> respond(const Client& client, const Request& request, std::stop_token stop);

// A stream's events from a 2xx answer's body, each marked as arriving now.
std::deque<SseEvent> events_of(const std::string& body);

} // namespace hubstress::engine
