#include "hubstress/duration.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace hubstress {

double parse_duration(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return std::invalid_argument(std::string(what) + " " + std::string(text) +
                                 ": expected a duration such as 90s, 500ms, 5m, 1h or 90 (seconds)");
  };
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number, std::chars_format::fixed);
  if (ec != std::errc() || end == text.data() || !std::isfinite(number) || number < 0) throw bad();
  const std::string_view unit = text.substr(static_cast<std::size_t>(end - text.data()));
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  else if (unit == "ms") scale = 0.001;
  else if (unit == "m" || unit == "min") scale = 60;
  else if (unit == "h") scale = 3600;
  else throw bad();
  return number * scale;
}

} // namespace hubstress
