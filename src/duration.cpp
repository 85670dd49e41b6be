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
  const auto scale = duration_unit_seconds(unit);
  if (!scale) throw bad();
  return number * *scale;
}

std::optional<double> duration_unit_seconds(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1.0;
  if (unit == "ms") return 0.001;
  if (unit == "m" || unit == "min") return 60.0;
  if (unit == "h") return 3600.0;
  return std::nullopt;
}

} // namespace hubstress
