// An answer as logs and errors show it.
#include "hubstress/engine/client.hpp"

#include <algorithm>
#include <cctype>

namespace hubstress::engine {

// ---------------------------------------------------------------------------------------------
// Answer

std::string Answer::header(std::string_view name) const {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }; // ASCII, as names are
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  const std::string_view all(headers);
  for (std::size_t from = 0; from < all.size();) {
    std::size_t end = all.find('\n', from);
    if (end == std::string_view::npos) end = all.size();
    std::string_view line = all.substr(from, end - from);
    from = end + 1;
    while (!line.empty() && space(line.front())) line.remove_prefix(1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon != name.size()) continue;
    if (!std::equal(name.begin(), name.end(), line.begin(), [&](char a, char b) { return lower(a) == lower(b); })) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && space(value.front())) value.remove_prefix(1);
    while (!value.empty() && space(value.back())) value.remove_suffix(1);
    return std::string(value);
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
