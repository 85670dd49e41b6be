#pragma once
// What engine-bench and curl-bench share: their command line and the lines they print.
//   PROGRAM --url URL [--connections N] [--duration SECONDS] [--requests N]
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bench {

struct Config {
  std::string url;
  int connections = 50;
  double duration_s = 5;
  long requests = 0; // stop after this many answers in all (0: no limit); for instruction counts
};

struct Counts {
  long ok = 0;     // 2xx answers
  long status = 0; // other answers
  long failed = 0; // no answer
  long all() const { return ok + status + failed; }
};

[[noreturn]] inline void usage(const char* program, const std::string& why) {
  std::fprintf(stderr, "%s: %s\nusage: %s --url URL [--connections N] [--duration SECONDS] [--requests N]\n", program,
               why.c_str(), program);
  std::exit(1);
}

inline Config parse(const char* program, int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(program, "missing value for " + arg);
    const char* value = argv[++i];
    if (arg == "--url") config.url = value;
    else if (arg == "--connections" || arg == "-c") config.connections = std::atoi(value);
    else if (arg == "--duration" || arg == "-d") config.duration_s = std::atof(value);
    else if (arg == "--requests" || arg == "-n") config.requests = std::atol(value);
    else usage(program, "unknown option " + arg);
  }
  if (config.url.empty()) usage(program, "--url is required");
  if (config.connections < 1 || config.duration_s <= 0 || config.requests < 0) {
    usage(program, "--connections and --duration must be positive, --requests not negative");
  }
  return config;
}

// Counts and, on the last line, "requests/s N" (what bench/engine-bench.sh reads). Exit status.
inline int report(const Config& config, const Counts& counts, double seconds) {
  std::printf("connections %d\nseconds %.3f\nanswers 2xx %ld\nanswers other %ld\nfailed %ld\n", config.connections, seconds,
              counts.ok, counts.status, counts.failed);
  std::printf("requests/s %.0f\n", static_cast<double>(counts.ok) / seconds);
  return counts.ok > 0 ? 0 : 1;
}

} // namespace bench
