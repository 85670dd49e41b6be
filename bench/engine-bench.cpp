// Engine benchmark: C flows on one loop, each sending GETs back to back for D seconds, the way
// wrk's connections do. Prints counts and, on its last line, "requests/s N".
//   engine-bench --url http://127.0.0.1:PORT/ --connections 50 --duration 5
// --requests N stops after N answers (with some still in flight), for counting instructions per
// request under valgrind --tool=callgrind, which timing on a shared machine cannot give.
#include "bench_args.hpp"

#include "hubstress/engine/client.hpp"
#include "hubstress/engine/loop.hpp"

namespace engine = hubstress::engine;

namespace {

engine::Task<void> keep_busy(engine::Client& client, const std::string& url, engine::Clock::time_point until,
                             long limit, bench::Counts& counts) {
  while (engine::Clock::now() < until && (limit == 0 || counts.all() < limit)) {
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
  const bench::Config config = bench::parse("engine-bench", argc, argv);
  engine::Loop loop;
  engine::Client client(loop, engine::ClientOptions{});
  bench::Counts counts;
  const auto start = engine::Clock::now();
  const auto until = start + std::chrono::duration_cast<engine::Clock::duration>(std::chrono::duration<double>(config.duration_s));
  for (int i = 0; i < config.connections; ++i) loop.spawn(keep_busy(client, config.url, until, config.requests, counts));
  loop.run();
  return bench::report(config, counts, std::chrono::duration<double>(engine::Clock::now() - start).count());
}
