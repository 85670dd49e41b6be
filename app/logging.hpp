#pragma once
#include "cli.hpp"

#include <string>

namespace hubstress::cli {
// Registers the "hub-stress-test" logger: stderr, plus the --log-to-file file, in the Python
// script's format "2026-01-01 12:00:00,123 INFO [hub-stress-test] message". Throws on a bad file.
void setup_logging(const Config& config);

// A status line kept at the bottom of a terminal's stderr, below the log lines; "" removes it.
void set_status_line(const std::string& text);
} // namespace hubstress::cli
