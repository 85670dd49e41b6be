#pragma once
// Durations as a user types them on the command line.
#include <optional>
#include <string>
#include <string_view>

namespace hubstress {

// "90" and "90s" are 90 seconds; "500ms", "5m", "1h", "1.5m" too. Returns seconds.
// Throws std::invalid_argument naming `what` (the option) on anything else or a negative value.
double parse_duration(std::string_view text, std::string_view what);

// Seconds in one `unit` of that grammar: "" and "s" 1, "ms" 0.001, "m" and "min" 60, "h" 3600;
// nothing for any other. A threshold's time limit takes the same units.
std::optional<double> duration_unit_seconds(std::string_view unit);

// The units, as error messages name them: "ms, s, m (or min) or h".
inline constexpr std::string_view kDurationUnits = "ms, s, m (or min) or h";

} // namespace hubstress
