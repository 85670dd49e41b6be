// An answer as logs and errors show it.
#include "hubstress/engine/client.hpp"

#include <algorithm>
#include <cctype>

namespace hubstress::engine {

// ---------------------------------------------------------------------------------------------
// Answer

std::string Answer::header(std::string_view name) const {
  std::string wanted(name);
  for (char& c : wanted) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; // names are kept lower-case
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return {};
}

std::string body_in_a_line(std::string_view body) {
  std::string lower(body.substr(0, 4096));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto first = lower.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (lower.compare(first, 9, "<!doctype") == 0 || lower.compare(first, 5, "<html") == 0)) {
    std::string title;
    if (const auto open = lower.find("<title>"); open != std::string::npos) {
      const auto close = lower.find("</title>", open);
      if (close != std::string::npos) title = std::string(body.substr(open + 7, std::min<std::size_t>(close - open - 7, 120)));
    }
    std::replace_if(title.begin(), title.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
    const auto from = title.find_first_not_of(' ');
    title = from == std::string::npos ? std::string() : title.substr(from, title.find_last_not_of(' ') - from + 1);
    return title.empty() ? "an HTML page" : "an HTML page titled '" + title + "'";
  }
  std::string text(body.substr(0, 300));
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (body.size() > 300) text += "...";
  return text;
}

std::string Answer::describe() const {
  if (!answered()) return std::string(to_string(errc)) + ": " + reason;
  const std::string text = body_in_a_line(body);
  return "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text);
}

} // namespace hubstress::engine
