// One test spread over shard processes that begin together (--start-at), then `merge`: against a
// real JupyterHub for stress-test and activity-stress-test, and the fake hub for journey (its
// students need kernels, which real servers make too slowly for four shards here).
#include "local_hub.hpp"

#include "../support/fake_hub.hpp"

#include "hubstress/model/stats.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <csignal>

#include <fmt/chrono.h>
#include <fmt/format.h>

using hubstress::testing::BackgroundTool;
using hubstress::testing::FakeHub;
using hubstress::testing::LocalHub;
using hubstress::testing::read_json;
using hubstress::testing::run_tool;
using hubstress::testing::with;
using nlohmann::json;

namespace {

// Requests of one kind in a report, and those of the load (not the hub watcher's scrapes and
// health checks, which merge takes from one shard only).
std::size_t kind_count(const json& report, const std::string& kind) {
  for (const auto& k : report["api"]["kinds"]) {
    if (k["kind"] == kind) return k["count"].get<std::size_t>();
  }
  return 0;
}
std::size_t load_requests(const json& report) {
  return report["api"]["all"]["count"].get<std::size_t>() - kind_count(report, "metrics") - kind_count(report, "other");
}

// A UTC time `seconds` from now, as --start-at takes it, and the same in Unix seconds.
std::pair<std::string, double> start_in(int seconds) {
  const auto at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) + std::chrono::seconds(seconds);
  return {fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(at))),
          static_cast<double>(std::chrono::system_clock::to_time_t(at))};
}

// Runs `shards` processes of `args` + --shard I/N --start-at ... --json DIR/shard-I.json; returns the reports' paths.
std::vector<std::string> run_shards(const std::vector<std::string>& args, int shards, const std::string& dir, double& start_at_unix) {
  const auto [start_at, unix_s] = start_in(6);  // time for every process to start and look at the hub first
  start_at_unix = unix_s;
  std::vector<std::unique_ptr<BackgroundTool>> tools;
  std::vector<std::string> paths;
  for (int i = 0; i < shards; ++i) {
    paths.push_back(dir + "/shard-" + std::to_string(i) + ".json");
    const auto a = with(args, {"--shard", std::to_string(i) + "/" + std::to_string(shards), "--start-at", start_at, "--json", paths.back(), "-q"});
    tools.push_back(std::make_unique<BackgroundTool>(a, dir, "shard-" + std::to_string(i) + ".out"));
  }
  for (auto& t : tools) EXPECT_EQ(t->wait(), 0) << t->output();
  return paths;
}

} // namespace

TEST(Shards, FourStressTestShardsBeginTogetherAndMergeIntoOneTest) {
  LocalHub hub("shared");
  hub.create({"hub-stress-test-3", "alice"});  // an earlier run's user, and a person: no shard touches either
  const std::string dir = hub.state_dir();
  double start_at = 0;
  const auto paths = run_shards({"-e", hub.endpoint(), "-t", hub.token(), "stress-test", "-c", "22", "-b", "8", "-k"}, 4, dir, start_at);

  // no two shards took one name; each created its share; the hub has them all
  std::set<std::string> created;
  std::vector<double> ready_s;
  std::size_t requests = 0;
  std::set<std::size_t> watcher_counts;
  for (const auto& path : paths) {
    const json r = read_json(path);
    ASSERT_EQ(r["status"], "complete") << path;
    const json& s = r["samples"];
    EXPECT_EQ(s["stress"]["created"].size(), r["shard"]["index"].get<int>() < 2 ? 6u : 5u) << path;  // 22 over 4
    for (const auto& name : s["stress"]["created"]) EXPECT_TRUE(created.insert(name.get<std::string>()).second) << name << " twice";
    for (const auto& row : s["stress"]["spawns"]["rows"]) {
      if (row[1] == "ready") ready_s.push_back(row[3].get<double>());
    }
    requests += load_requests(r);
    watcher_counts.insert(kind_count(r, "metrics"));
    // the load began at --start-at, not before: the first create request of each shard
    double create_at = -1;
    for (const auto& p : s["stress"]["phases"]) {
      if (p[0] == "create") create_at = s["session_start_unix_s"].get<double>() + p[2].get<double>();
    }
    EXPECT_GE(create_at, start_at - 0.05) << path;
  }
  EXPECT_EQ(created.size(), 22u);
  EXPECT_FALSE(created.count("hub-stress-test-3"));
  const auto on_hub = hub.user_names();
  for (const auto& name : created) EXPECT_NE(std::find(on_hub.begin(), on_hub.end(), name), on_hub.end()) << name;
  EXPECT_EQ(on_hub.size(), 22u + 2u);

  // merged: counts are sums, percentiles those of every shard's samples together
  const std::string merged = dir + "/merged.json";
  auto args = with({"merge"}, paths);
  const auto ok = run_tool(with(args, {"--json", merged, "--html", dir + "/merged.html", "--threshold", "failure_rate<1%", "--threshold", "spawn_p95<300s"}));
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("Shards: 4 of 4 merged"), std::string::npos) << ok.output;
  const json m = read_json(merged);
  EXPECT_EQ(m["users"]["requested"], 22);
  EXPECT_EQ(m["users"]["created"], 22);
  EXPECT_EQ(m["spawn"]["servers"], 22);
  EXPECT_EQ(m["spawn"]["ready"], ready_s.size());
  EXPECT_EQ(load_requests(m), requests);
  EXPECT_TRUE(watcher_counts.count(kind_count(m, "metrics"))) << "one shard's hub scrapes, not every shard's";
  const auto all = hubstress::summarize(ready_s);
  EXPECT_EQ(m["spawn"]["ready_s"]["p50"].get<double>(), all.p50);
  EXPECT_EQ(m["spawn"]["ready_s"]["p95"].get<double>(), all.p95);
  EXPECT_EQ(m["spawn"]["ready_s"]["max"].get<double>(), all.max);
  EXPECT_EQ(m["shards"].size(), 4u);
  EXPECT_TRUE(m["missing_shards"].empty());

  // a threshold on the merged data decides the exit code
  const auto strict = run_tool(with(args, {"--threshold", "spawn_p95<1ms"}));
  EXPECT_EQ(strict.exit_code, 99) << strict.output;
  EXPECT_NE(strict.output.find("FAIL spawn_p95<1ms"), std::string::npos) << strict.output;
  // a shard's report missing: said, and the test fails
  const auto three = run_tool({"merge", paths[0], paths[1], paths[3]});
  EXPECT_EQ(three.exit_code, 128) << three.output;
  EXPECT_NE(three.output.find("1 of 4 shards have no report (shard 2)"), std::string::npos) << three.output;

  // a plain purge removes every shard's users, and nothing else
  const auto purge = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "purge"});
  EXPECT_EQ(purge.exit_code, 0) << purge.output;
  EXPECT_EQ(hub.user_names(), std::vector<std::string>{"alice"});
}

TEST(Shards, ActivityShardsUseOnlyTheirOwnUsers) {
  LocalHub hub;
  const std::string dir = hub.state_dir();
  double start_at = 0;
  const auto paths = run_shards({"-e", hub.endpoint(), "-t", hub.token(), "activity-stress-test", "-c", "9", "--workers", "4"}, 2, dir, start_at);
  std::set<std::string> used;
  for (const auto& path : paths) {
    const json r = read_json(path);
    for (const auto& u : r["samples"]["activity"]["used"]) EXPECT_TRUE(used.insert(u.get<std::string>()).second) << u << " twice";
  }
  EXPECT_EQ(used.size(), 9u);
  const std::string merged = dir + "/merged.json";
  const auto m = run_tool(with(with({"merge"}, paths), {"--json", merged}));
  ASSERT_EQ(m.exit_code, 0) << m.output;
  const json r = read_json(merged);
  EXPECT_EQ(r["activity"]["users"], 9);
  EXPECT_EQ(r["activity"]["post_s"]["count"], 9);
  EXPECT_EQ(r["activity"]["workers"], 4);
  EXPECT_TRUE(hub.user_names().empty());
}

TEST(Shards, JourneyShardsMergeTheirStudents) {
  FakeHub fake;
  const std::string dir = std::filesystem::temp_directory_path() / ("hst-shards-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  setenv("HUB_STRESS_TEST_STATE_DIR", (dir + "/tool-state").c_str(), 1);  // the shards' journals
  double start_at = 0;
  const auto paths = run_shards({"-e", fake.url() + "/hub/api", "-t", FakeHub::token(), "journey", "-c", "5", "--ramp-up", "2s", "--cells", "2",
                                 "--think", "100ms"},
                                2, dir, start_at);
  std::vector<double> ttfr;
  for (const auto& path : paths) {
    const json r = read_json(path);
    for (const auto& st : r["samples"]["journey"]["students"]) ttfr.push_back(st["time_to_first_result_s"].get<double>());
  }
  ASSERT_EQ(ttfr.size(), 5u);
  const std::string merged = dir + "/merged.json";
  const auto m = run_tool(with(with({"merge"}, paths), {"--json", merged, "--threshold", "journey_failure_rate<1%"}));
  ASSERT_EQ(m.exit_code, 0) << m.output;
  const json r = read_json(merged);
  EXPECT_EQ(r["journey"]["students"], 5);
  EXPECT_EQ(r["journey"]["completed"], 5);
  const auto all = hubstress::summarize(ttfr);
  for (const auto& step : r["journey"]["steps"]) {
    if (step["name"] == "time_to_first_result") {
      EXPECT_EQ(step["seconds"]["p95"].get<double>(), all.p95);
    }
  }
  EXPECT_TRUE(fake.state()["users"].empty()) << fake.state().dump();
  std::filesystem::remove_all(dir);
}

TEST(Shards, BadShardInputIsOneLineAndExitOne) {
  const std::string dir = std::filesystem::temp_directory_path() / ("hst-shard-input-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::vector<std::string> hub{"-e", "http://127.0.0.1:9", "-t", "x"};
  // a plain report (no --shard), and a file that is not JSON
  const auto plain = run_tool(with(hub, {"--dry-run", "stress-test", "-c", "2", "-q", "--json", dir + "/plain.json"}),
                              {"HUB_STRESS_TEST_STATE_DIR=" + dir});
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  std::ofstream(dir + "/not.json") << "hello";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {with(hub, {"stress-test", "--shard", "4/4"}), "0 to 3"},
      {with(hub, {"stress-test", "--shard", "1"}), "expected I/N"},
      {with(hub, {"journey", "--shard", "0/2", "--shards", "2"}), "give one of them"},
      {with(hub, {"activity-stress-test", "--shards", "4"}), "JOB_COMPLETION_INDEX"},
      {with(hub, {"stress-test", "-c", "3", "--shard", "0/4"}), "use at most 3 shards"},
      {with(hub, {"stress-test", "--start-at", "tomorrow"}), "expected a UTC time"},
      {{"merge", dir + "/plain.json"}, "not a shard's report"},
      {{"merge", dir + "/not.json"}, "is not JSON"},
      {{"merge", dir + "/none.json"}, "no such file"},
  };
  for (const auto& [args, says] : cases) {
    const auto r = run_tool(args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << says << " not in: " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), r.output.find("Arguments:") == std::string::npos ? 1 : 2) << r.output;
  }
  // in a pod of an Indexed Job, the index comes from the environment
  const auto pod = run_tool(with(hub, {"--dry-run", "stress-test", "-c", "10", "--shards", "4", "-q"}),
                            {"JOB_COMPLETION_INDEX=2", "HUB_STRESS_TEST_STATE_DIR=" + dir});
  EXPECT_EQ(pod.exit_code, 0) << pod.output;
  EXPECT_NE(pod.output.find("Shard 2/4: 2 of the test's 10 users"), std::string::npos) << pod.output;
  std::filesystem::remove_all(dir);
}

// Issue 22 item 7, through the command line: with --start-at three hours ahead, the students' tokens
// are minted before the wait and must live through it and the journey (they expired after 72
// minutes). Stopped with Ctrl-C while it waits: the users are removed.
TEST(Shards, StudentTokensMintedBeforeADistantStartAtOutliveTheWait) {
  FakeHub fake;
  const std::string dir = std::filesystem::temp_directory_path() / ("hst-start-at-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  setenv("HUB_STRESS_TEST_STATE_DIR", (dir + "/tool-state").c_str(), 1);
  const auto [start_at, unix_s] = start_in(3 * 3600);
  BackgroundTool tool({"-e", fake.url() + "/hub/api", "-t", FakeHub::token(), "journey", "-c", "3", "--ramp-up", "10m",
                       "--start-at", start_at, "-q"},
                      dir);
  for (int i = 0; i < 300 && tool.output().find("Waiting") == std::string::npos; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_NE(tool.output().find("Waiting"), std::string::npos) << tool.output();
  tool.signal(SIGINT);
  EXPECT_EQ(tool.wait(), 130) << tool.output();
  const json state = fake.state();
  ASSERT_EQ(state["token_expires_in"].size(), 3u) << state.dump();
  // the wait, then the last arrival (10 min), its server's time-out (300 s) and each step's (60 s)
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double wait_left = unix_s - now;
  for (const auto& asked : state["token_expires_in"]) EXPECT_GE(asked.get<double>(), wait_left + 600 + 300 + 60 * 4) << state.dump();
  EXPECT_TRUE(state["users"].empty()) << state.dump();
  std::filesystem::remove_all(dir);
}
