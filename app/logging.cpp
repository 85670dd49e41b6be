#include "logging.hpp"

#include "hubstress/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

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

} // namespace

void setup_logging(const Config& config) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
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
