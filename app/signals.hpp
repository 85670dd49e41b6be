#pragma once
#include <atomic>
#include <string>

namespace hubstress::cli {

// SIGINT/SIGTERM: the first raises the returned flag (phases wind down and the run removes what it
// made); the second writes the text given to set_last_words() to stderr and exits 130 at once.
const std::atomic<int>& install_signal_handlers();
// What a second signal prints: the exact command that finishes the clean-up.
void set_last_words(const std::string& text);

} // namespace hubstress::cli
