// Engine benchmark: C flows on one loop, each sending GETs back to back for D seconds, the way
// wrk's connections do. Prints counts and, on its last line, "requests/s N".
//   engine-bench --url http://127.0.0.1:PORT/ --connections 50 --duration 5
// --requests N stops after N answers (with some still in flight), for counting instructions per
// request under valgrind --tool=callgrind, which timing on a shared machine cannot give.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace engine = hubstress::engine;

namespace {

struct Config {
  std::string url;
  int connections = 50;
  double duration_s = 5;
  long requests = 0; // stop after this many answers in all (0: no limit); for instruction counts
};

struct Counts {
  long ok = 0;     // 2xx answers
  long status = 0; // other answers
  long failed = 0; // no answer (errc not ok)
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "engine-bench: %s\nusage: engine-bench --url URL [--connections N] [--duration SECONDS] [--requests N]\n", why);
  std::exit(1);
}

Config parse(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
    const char* value = argv[++i];
    if (arg == "--url") {
      config.url = value;
    } else if (arg == "--connections" || arg == "-c") {
      config.connections = std::atoi(value);
    } else if (arg == "--duration" || arg == "-d") {
      config.duration_s = std::atof(value);
    } else if (arg == "--requests" || arg == "-n") {
      config.requests = std::atol(value);
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  if (config.url.empty()) usage("--url is required");
  if (config.connections < 1 || config.duration_s <= 0 || config.requests < 0) {
    usage("--connections and --duration must be positive, --requests not negative");
  }
  return config;
}

engine::Task<void> keep_busy(engine::Client& client, const std::string& url, engine::Clock::time_point until,
                             long limit, Counts& counts) {
  while (engine::Clock::now() < until && (limit == 0 || counts.ok + counts.status + counts.failed < limit)) {
    const engine::Answer answer = co_await client.send(engine::Request::get(url));
    if (answer.ok()) {
      ++counts.ok;
    } else if (answer.answered()) {
      ++counts.status;
    } else {
      ++counts.failed;
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  const Config config = parse(argc, argv);
  engine::Loop loop;
  engine::Client client(loop, engine::ClientOptions{});
  Counts counts;
  const auto start = engine::Clock::now();
  const auto until = start + std::chrono::duration_cast<engine::Clock::duration>(std::chrono::duration<double>(config.duration_s));
  for (int i = 0; i < config.connections; ++i) loop.spawn(keep_busy(client, config.url, until, config.requests, counts));
  loop.run();
  const double seconds = std::chrono::duration<double>(engine::Clock::now() - start).count();
  std::printf("connections %d\nseconds %.3f\nanswers 2xx %ld\nanswers other %ld\nfailed %ld\n", config.connections,
              seconds, counts.ok, counts.status, counts.failed);
  std::printf("requests/s %.0f\n", static_cast<double>(counts.ok) / seconds);
  return counts.ok > 0 ? 0 : 1;
}
