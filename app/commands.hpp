#pragma once
#include "cli.hpp"

namespace hubstress::cli {
// Runs config.command; returns the process exit code (0 success, 128 failure).
int run_command(const Config& config);
} // namespace hubstress::cli
