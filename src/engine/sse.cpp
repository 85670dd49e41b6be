#include "hubstress/engine/sse.hpp"

namespace hubstress::engine {

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  for (char c : bytes) {
    if (last_was_cr_) {
      last_was_cr_ = false;
      if (c == '\n') continue; // the LF of a CRLF split across two chunks
    }
    if (c == '\r' || c == '\n') {
      last_was_cr_ = c == '\r';
      line(partial_, out);
      partial_.clear();
    } else {
      partial_ += c;
    }
  }
  return out;
}

void SseParser::line(std::string_view text, std::vector<SseEvent>& out) {
  if (text.empty()) {
    if (has_data_) {
      SseEvent event;
      if (!type_.empty()) event.type = type_;
      event.data = std::move(data_);
      event.id = last_id_;
      out.push_back(std::move(event));
    }
    type_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return; // a comment (servers send them as keep-alives)
  const auto colon = text.find(':');
  const std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    type_ = std::string(value);
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    last_id_ = std::string(value);
  } // "retry" and unknown fields are ignored
}

} // namespace hubstress::engine
