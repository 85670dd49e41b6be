#include "responder.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubstress::engine {

Task<Answer> respond(const Client& client, const Request& request, std::stop_token stop) {
  const auto sent = Clock::now();
  Answer answer;
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  if (stop.stop_requested()) {
    answer.errc = Errc::cancelled;
    answer.reason = "cancelled";
  } else {
    answer = client.options().responder.http(request);
    answer.body = client.redact(std::move(answer.body));
    answer.reason = client.redact(std::move(answer.reason));
    answer.headers = client.redact(std::move(answer.headers));
    answer.location = client.redact(std::move(answer.location));
  }
  answer.sent = sent;
  if (answer.url.empty()) answer.url = client.absolute(request.url);
  answer.finished = Clock::now();
  co_return answer;
}

std::deque<SseEvent> events_of(const std::string& body) {
  SseParser parser;
  std::deque<SseEvent> events;
  const auto now = Clock::now();
  for (auto& event : parser.feed(body + "\n\n")) {
    event.arrived = now;
    events.push_back(std::move(event));
  }
  return events;
}

} // namespace hubstress::engine
