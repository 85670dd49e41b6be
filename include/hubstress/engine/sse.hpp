#pragma once
// Server-sent events (text/event-stream) parsed as bytes arrive; no I/O here.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress::engine {

struct SseEvent {
  std::string type = "message"; // the "event:" field
  std::string data;             // the "data:" lines, joined by '\n'
  std::string id;               // the last "id:" seen on the stream
  std::chrono::steady_clock::time_point arrived{}; // when the blank line ending it arrived
};

// The WHATWG event-stream rules: lines end with CRLF, LF or CR (also across chunk boundaries),
// ':' starts a comment, one space after the colon is dropped, a blank line dispatches the event,
// an event without data is not dispatched, an unfinished event at the end of the stream is lost.
class SseParser {
public:
  // The events completed by these bytes, in order (`arrived` left for the caller to set).
  std::vector<SseEvent> feed(std::string_view bytes);

private:
  void line(std::string_view text, std::vector<SseEvent>& out);

  std::string partial_;     // the current line so far
  bool last_was_cr_ = false; // a CR ended the previous chunk: a LF starting this one is its pair
  std::string type_;
  std::string data_;
  bool has_data_ = false;
  std::string last_id_;
};

} // namespace hubstress::engine
