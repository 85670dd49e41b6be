#pragma once
// Durations as a user types them on the command line.
#include <string>
#include <string_view>

namespace hubstress {

// "90" and "90s" are 90 seconds; "500ms", "5m", "1h", "1.5m" too. Returns seconds.
// Throws std::invalid_argument naming `what` (the option) on anything else or a negative value.
double parse_duration(std::string_view text, std::string_view what);

} // namespace hubstress
