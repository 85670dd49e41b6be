#include "signals.hpp"

#include <csignal>
#include <cstring>
#include <unistd.h>

namespace hubstress::cli {

namespace {

std::atomic<int> g_signals{0};
char g_last_words[2048] = "hub-stress-test: stopped at once\n";
std::atomic<std::size_t> g_last_words_len{std::strlen(g_last_words)};

constexpr char kFirst[] =
    "\nhub-stress-test: interrupted: no new work; a load command removes its users unless --keep, purge stops (interrupt again to stop at once)\n";

// Only async-signal-safe calls in here: write and _exit.
extern "C" void on_signal(int) {
  if (g_signals.fetch_add(1) == 0) {
    (void)!write(STDERR_FILENO, kFirst, sizeof kFirst - 1);
    return;
  }
  (void)!write(STDERR_FILENO, g_last_words, g_last_words_len.load());
  _exit(130);
}

} // namespace

const std::atomic<int>& install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return g_signals;
}

void set_last_words(const std::string& text) {
  const std::size_t n = std::min(text.size(), sizeof g_last_words - 1);
  g_last_words_len.store(0);  // a signal arriving now writes nothing rather than half a message
  std::memcpy(g_last_words, text.data(), n);
  g_last_words[n] = '\0';
  g_last_words_len.store(n);
}

} // namespace hubstress::cli
