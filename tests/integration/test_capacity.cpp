// `capacity` end to end, the binary as an operator runs it: against the fake hub given a capacity
// of its own (--spawn-limit, --slow-above, --starts-per-minute), where the rate it holds can be
// computed and the reason set is known; Ctrl-C mid-stage; two shards merged into one capacity; and
// the real local hub. Rates and reasons are judged, never times.
#include "local_hub.hpp"

#include "../support/fake_hub.hpp"

#include "hubstress/model/stats.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

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

// A folder of the test's own, with the tool's journal in it; removed at the end.
class Folder {
public:
  explicit Folder(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / fmt::format("hst-capacity-{}-{}", name, ::getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~Folder() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string env() const { return "HUB_STRESS_TEST_STATE_DIR=" + path_ + "/state"; }
  std::string operator/(const std::string& file) const { return path_ + "/" + file; }

private:
  std::string path_;
};

// A capacity search against `hub`, reports in `dir`; the JSON report is returned.
json search(const FakeHub& hub, const Folder& dir, const std::vector<std::string>& args, int expected_exit = 0) {
  const auto r = run_tool(with({"-e", hub.url() + "/hub/api", "-t", FakeHub::token(), "capacity", "--arrival", "uniform", "--think", "2s",
                                "--json", dir / "report.json", "--csv", dir.path()},
                               args),
                          {dir.env()});
  EXPECT_EQ(r.exit_code, expected_exit) << r.output;
  return read_json(dir / "report.json");
}

double held_rate(const json& report) {
  const json& h = report["capacity"]["held_rate_per_min"];
  return h.is_number() ? h.get<double>() : -1;
}

// The stage verdicts in order: "held held failed cut".
std::string verdicts(const json& report) {
  std::string out;
  for (const auto& st : report["stages"]) out += (out.empty() ? "" : " ") + st["verdict"].get<std::string>();
  return out;
}

// A step's p95 over a stage's students in the report.
double stage_p95(const json& stage, const std::string& step) {
  for (const auto& s : stage["steps"]) {
    if (s["name"] == step) return s["seconds"]["p95"].get<double>();
  }
  return -1;
}

// A UTC time `seconds` from now, as --start-at takes it.
std::string start_in(int seconds) {
  const auto at = std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(at)));
}

// The rates of the three fake-hub tests: each setting holds 40/min, between the second and third.
const std::vector<std::string> kRates = {"--rates", "20,30,45,70", "--stage", "12s"};

} // namespace

// --spawn-limit 2 with spawns of 3 s: about 60*2/3 = 40 starts a minute, beyond which the
// students wait on 429s and their first result comes late.
TEST(Capacity, ASpawnLimitHoldsItsRateWithinOneStageAndThe429sAreNamed) {
  FakeHub hub({"--spawn-limit", "2", "--spawn-delay", "3"});
  Folder dir("limit");
  const json r = search(hub, dir, with(kRates, {"--threshold", "time_to_first_result_p95<12s"}));
  EXPECT_EQ(r["status"], "complete");
  const double held = held_rate(r);
  EXPECT_TRUE(held == 30 || held == 45) << "computed 40/min; " << verdicts(r) << "; " << r["capacity"]["line"];
  ASSERT_TRUE(r["capacity"]["failed_rate_per_min"].is_number()) << r["capacity"]["line"];
  const std::string line = r["capacity"]["line"].get<std::string>();
  EXPECT_NE(line.find("time_to_first_result_p95<12s"), std::string::npos) << line;
  EXPECT_NE(line.find("start requests answered 429"), std::string::npos) << line;
  EXPECT_GT(hub.state()["answers_429"].get<int>(), 0);
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
  // the stages' CSV: one row a stage planned
  std::ifstream csv(dir / "stages.csv");
  std::string row;
  int rows = 0;
  while (std::getline(csv, row)) ++rows;
  EXPECT_EQ(rows, 1 + 4);
}

// --slow-above 2: a start while 2 others are pending takes 20 s more. Uniform arrivals at R keep
// R*3/60 spawns pending: held up to 40/min; beyond it the ready step grows.
TEST(Capacity, SpawnsSlowedAboveKPendingHoldTheirRateWithinOneStageAndTheReadyStepIsNamed) {
  FakeHub hub({"--slow-above", "2", "--spawn-delay", "3", "--slow-delay", "20"});
  Folder dir("slow");
  const json r = search(hub, dir, with(kRates, {"--threshold", "time_to_first_result_p95<12s"}));
  const double held = held_rate(r);
  EXPECT_TRUE(held == 30 || held == 45) << "computed 40/min; " << verdicts(r) << "; " << r["capacity"]["line"];
  const std::string line = r["capacity"]["line"].get<std::string>();
  EXPECT_NE(line.find("ready p95 grew most"), std::string::npos) << line;
  EXPECT_EQ(line.find("429"), std::string::npos) << line;
  EXPECT_GT(hub.state()["slowed"].get<int>(), 0);
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
}

// --starts-per-minute 20: starts beyond 20 in the last minute fail. With stages of 30 s at 10, 20
// and 40/min, the window holds 15 starts at the end of the second stage and runs over in the third.
TEST(Capacity, StartsBeyondKAMinuteHoldKAndTheFailuresAreNamed) {
  FakeHub hub({"--starts-per-minute", "20"});
  Folder dir("starts");
  const json r = search(hub, dir, {"--rates", "10,20,40", "--stage", "30s"});  // the default thresholds
  EXPECT_EQ(held_rate(r), 20) << verdicts(r) << "; " << r["capacity"]["line"];
  EXPECT_EQ(verdicts(r), "held held failed");
  const std::string line = r["capacity"]["line"].get<std::string>();
  EXPECT_NE(line.find("journey_failure_rate<1%"), std::string::npos) << line;
  EXPECT_NE(line.find("at most 20 starts a minute"), std::string::npos) << line;
  EXPECT_EQ(r["stages"][0]["failed"], 0);
  EXPECT_GT(r["stages"][2]["failed"].get<int>(), 0);
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
}

// The first stage already fails: exit 99, no rate held.
TEST(Capacity, AFirstStageThatFailsIsExit99AndNoRateHeld) {
  FakeHub hub({"--spawn-delay", "2"});
  Folder dir("first");
  const json r = search(hub, dir, {"--rates", "30,60", "--stage", "4s", "--threshold", "ready_p95<1s"}, 99);
  // the second stage began on time, before the first was judged: cut
  EXPECT_TRUE(verdicts(r) == "failed cut" || verdicts(r) == "failed not reached") << verdicts(r);
  EXPECT_TRUE(r["capacity"]["held_rate_per_min"].is_null());
  EXPECT_EQ(r["capacity"]["line"].get<std::string>().rfind("no stage held; failed at 30/min (the first stage): ready_p95<1s", 0), 0u)
      << r["capacity"]["line"];
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
}

// A stage that already fails whatever its students still on the way do (here a failed spawn
// against journey_failure_rate<1%) is failed at once: no one else arrives, the next stage never begins.
TEST(Capacity, AStageThatCannotHoldAnyMoreIsFailedBeforeAllItsStudentsArrive) {
  FakeHub hub({"--fail-every", "2"});
  Folder dir("early");
  const json r = search(hub, dir, {"--rates", "30,60", "--stage", "20s"}, 99);  // 10 students planned in stage 1
  EXPECT_EQ(verdicts(r), "failed not reached");
  EXPECT_LT(r["stages"][0]["arrived"].get<int>(), 10);
  EXPECT_GE(r["stages"][0]["failed"].get<int>(), 1);
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
}

// The hub stops creating users: the search ends after the stage under way, which is still judged,
// and says why; exit 128 (no stage failed); nothing left.
TEST(Capacity, AStageWhoseUsersCannotBeMadeEndsTheSearchWithTheStagesSoFarJudged) {
  FakeHub hub({"--create-limit", "3"});  // stage 1's 3 students, then 503
  Folder dir("create");
  const json r = search(hub, dir, {"--rates", "20,30,45", "--stage", "10s"}, 128);
  EXPECT_EQ(verdicts(r), "held not reached not reached");
  const std::string line = r["capacity"]["line"].get<std::string>();
  EXPECT_EQ(line.rfind("held 20/min (population 3); the search ended there: making stage 2's students failed", 0), 0u) << line;
  EXPECT_EQ(r["journey"]["students"], 3);
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
}

// Ctrl-C in the second stage: the first held, the second is marked interrupted, the third never
// came; every report is written, marked interrupted; exit 130; nothing is left on the hub.
TEST(Capacity, CtrlCMidStageLeavesTheStagesSoFarMarkedInterruptedAndNothingOnTheHub) {
  FakeHub hub;
  Folder dir("sigint");
  setenv("HUB_STRESS_TEST_STATE_DIR", (dir.path() + "/state").c_str(), 1);  // BackgroundTool takes the test's environment
  BackgroundTool tool({"-e", hub.url() + "/hub/api", "-t", FakeHub::token(), "capacity", "--rates", "20,40,80", "--stage", "8s",
                       "--arrival", "uniform", "--think", "1s", "--json", dir / "report.json", "--html", dir / "report.html", "--csv",
                       dir.path()},
                      dir.path());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (tool.output().find("Stage 2/3") == std::string::npos && tool.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(tool.output().find("Stage 2/3"), std::string::npos) << tool.output();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  tool.signal(SIGINT);
  EXPECT_EQ(tool.wait(), 130) << tool.output();
  const json r = read_json(dir / "report.json");
  EXPECT_EQ(r["status"], "interrupted");
  EXPECT_EQ(verdicts(r), "held interrupted not reached");
  EXPECT_EQ(r["capacity"]["held_rate_per_min"], 20.0);
  EXPECT_TRUE(r["capacity"]["interrupted"].get<bool>());
  // those who arrived before the signal; who never did is not counted (5 were planned)
  EXPECT_GT(r["stages"][1]["arrived"].get<int>(), 0);
  EXPECT_LT(r["stages"][1]["arrived"].get<int>(), 5);
  EXPECT_TRUE(std::filesystem::exists(dir / "report.html"));
  EXPECT_TRUE(std::filesystem::exists(dir / "stages.csv"));
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
  unsetenv("HUB_STRESS_TEST_STATE_DIR");
}

// Two shards from one --start-at, each with half of every stage's rate, merged: every stage the
// merge judges is judged on the students of both shards together, as one run of them would be.
TEST(Capacity, TwoShardsMergeIntoTheCapacityTheirStudentsGiveTogether) {
  FakeHub hub({"--spawn-limit", "2", "--spawn-delay", "3"});
  Folder dir("shards");
  setenv("HUB_STRESS_TEST_STATE_DIR", (dir.path() + "/state").c_str(), 1);
  const std::string at = start_in(5);
  std::vector<std::unique_ptr<BackgroundTool>> tools;
  std::vector<std::string> paths;
  for (int i = 0; i < 2; ++i) {
    paths.push_back(dir / fmt::format("shard-{}.json", i));
    tools.push_back(std::make_unique<BackgroundTool>(
        with({"-e", hub.url() + "/hub/api", "-t", FakeHub::token(), "capacity", "--arrival", "uniform", "--think", "2s", "--threshold",
              "time_to_first_result_p95<12s", "--shard", fmt::format("{}/2", i), "--start-at", at, "--json", paths.back(), "-q"},
             kRates),
        dir.path(), fmt::format("shard-{}.out", i)));
  }
  for (auto& t : tools) {
    const int code = t->wait();
    EXPECT_TRUE(code == 0 || code == 99) << t->output();
  }
  unsetenv("HUB_STRESS_TEST_STATE_DIR");
  // every shard's students by stage
  std::map<int, std::vector<double>> ttfr;
  std::map<int, int> arrived, failed;
  for (const auto& path : paths) {
    const json r = read_json(path);
    for (const auto& st : r["samples"]["journey"]["students"]) {
      const int k = st["stage"].get<int>();
      ++arrived[k];
      if (st["time_to_first_result_s"].is_number()) {
        ttfr[k].push_back(st["time_to_first_result_s"].get<double>());
      } else {
        ++failed[k];
      }
    }
  }
  // no --threshold: the merge judges by the shards' own
  const auto m = run_tool(with(with({"merge"}, paths), {"--json", dir / "merged.json"}));
  EXPECT_TRUE(m.exit_code == 0 || m.exit_code == 99) << m.output;
  const json r = read_json(dir / "merged.json");
  ASSERT_EQ(r["stages"].size(), 4u);
  double held = -1;
  int judged = 0;
  for (int k = 0; k < 4; ++k) {
    const json& st = r["stages"][static_cast<std::size_t>(k)];
    const std::string v = st["verdict"].get<std::string>();
    if (v != "held" && v != "failed") continue;
    ++judged;
    EXPECT_EQ(st["arrived"], arrived[k]) << "stage " << k + 1;
    EXPECT_EQ(st["failed"], failed[k]) << "stage " << k + 1;
    const double p95 = ttfr[k].empty() ? -1 : hubstress::summarize(ttfr[k]).p95;
    EXPECT_DOUBLE_EQ(stage_p95(st, "time_to_first_result"), p95) << "stage " << k + 1;
    const bool holds = failed[k] == 0 && p95 >= 0 && p95 < 12;
    EXPECT_EQ(v, holds ? "held" : "failed") << "stage " << k + 1 << ": p95 " << p95 << ", " << failed[k] << " failed";
    if (holds) held = st["rate_per_min"].get<double>();
  }
  EXPECT_GT(judged, 0) << verdicts(r);
  EXPECT_EQ(held_rate(r), held) << r["capacity"]["line"];
  EXPECT_TRUE(held == 30 || held == 45) << "computed 40/min; " << verdicts(r) << "; " << r["capacity"]["line"];
  EXPECT_TRUE(hub.state()["users"].empty()) << hub.state().dump();
}

// The real local hub with real jupyterhub-singleuser servers and kernels: the search the issue
// asks for (30/min, stages of 30 s), ended by --max at the latest. A held rate, a reason or the
// hub's limit above --max, every report, and no user left.
TEST(Capacity, AgainstTheRealHubTheSearchEndsWithAHeldRateAndLeavesNothing) {
  LocalHub hub("singleuser");
  const std::string dir = hub.state_dir();
  const auto r = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "capacity", "--start", "20/min", "--stage", "30s", "--max", "30/min",
                           "--json", dir + "/report.json", "--html", dir + "/report.html", "--csv", dir});
  EXPECT_TRUE(r.exit_code == 0) << r.output;
  const json report = read_json(dir + "/report.json");
  EXPECT_EQ(report["status"], "complete");
  EXPECT_EQ(report["stages"].size(), 2u);  // 20 and 30/min: 10 and 15 real servers, enough for a search on 2 cores
  ASSERT_TRUE(report["capacity"]["held_rate_per_min"].is_number()) << report["capacity"]["line"];
  const std::string line = report["capacity"]["line"].get<std::string>();
  if (report["capacity"]["failed_rate_per_min"].is_number()) {
    EXPECT_FALSE(report["capacity"]["broke_first"].get<std::string>().empty()) << line;
  } else {
    EXPECT_NE(line.find("raise --max"), std::string::npos) << line;
  }
  EXPECT_NE(r.output.find("Capacity: " + line), std::string::npos) << r.output;
  EXPECT_GT(report["stages"][0]["arrived"].get<int>(), 5);
  EXPECT_TRUE(std::filesystem::exists(dir + "/report.html"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/stages.csv"));
  EXPECT_TRUE(hub.user_names().empty());
  EXPECT_TRUE(hub.active_server_users().empty());
}
