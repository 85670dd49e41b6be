#include "logging.hpp"

#include "hubstress/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <mutex>

#include <sys/ioctl.h>
#include <unistd.h>

#include <memory>

namespace hubstress::cli {

namespace {

// Python's level names (WARNING, not "warn") so log lines match the old script's.
class PythonLevel : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* name = "INFO";
    switch (msg.level) {
    case spdlog::level::trace:
    case spdlog::level::debug: name = "DEBUG"; break;
    case spdlog::level::info: name = "INFO"; break;
    case spdlog::level::warn: name = "WARNING"; break;
    case spdlog::level::err: name = "ERROR"; break;
    case spdlog::level::critical: name = "CRITICAL"; break;
    default: break;
    }
    dest.append(name, name + std::char_traits<char>::length(name));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PythonLevel>(); }
};

// The status line as it fits on one row of the terminal: a line that wraps cannot be redrawn in
// place (\r goes back to the start of its last row only), so each redraw would leave a row behind.
std::string fit_terminal_row(const std::string& text) {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col < 2) return text;
  const std::size_t columns = size.ws_col - 1u;  // the last column would wrap on some terminals
  return text.size() <= columns ? text : text.substr(0, columns);
}

// stderr, with an optional status line that log lines are written above.
class ConsoleSink : public spdlog::sinks::base_sink<std::mutex> {
public:
  void set_status(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = fit_terminal_row(text);
    std::fputs("\r\033[K", stderr);
    std::fputs(status_.c_str(), stderr);
    std::fflush(stderr);
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    if (!status_.empty()) std::fputs("\r\033[K", stderr);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
    if (!status_.empty()) std::fputs(status_.c_str(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }

private:
  std::string status_;
};

std::shared_ptr<ConsoleSink> g_console;

} // namespace

void set_status_line(const std::string& text) {
  if (g_console) g_console->set_status(text);
}

void setup_logging(const Config& config) {
  std::vector<spdlog::sink_ptr> sinks;
  g_console = std::make_shared<ConsoleSink>();
  sinks.push_back(g_console);
  if (config.log_file) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(*config.log_file, true));
  }
  spdlog::drop(kLoggerName);
  auto log = std::make_shared<spdlog::logger>(kLoggerName, sinks.begin(), sinks.end());
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PythonLevel>('*').set_pattern("%Y-%m-%d %H:%M:%S,%e %* [%n] %v");
  log->set_formatter(std::move(formatter));
  log->set_level(config.verbose ? spdlog::level::debug : spdlog::level::info);
  log->flush_on(spdlog::level::debug);
  spdlog::register_logger(log);
}

} // namespace hubstress::cli
