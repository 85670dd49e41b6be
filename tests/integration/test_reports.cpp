// The reports a real run produces: terminal table, JSON, CSV, HTML (rendered in headless Chromium).
#include "local_hub.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <csignal>
#include <thread>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

using hubstress::testing::BackgroundTool;
using hubstress::testing::LocalHub;
using hubstress::testing::run_tool;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int lines_in(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

// The DOM after Chromium has loaded and laid out the page (loopback-free: a file:// URL).
std::string rendered_dom(const std::string& html_path, const std::string& profile_dir) {
  const std::string cmd = "timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic "
                          "--disable-dev-shm-usage --no-first-run --disable-background-networking --disable-component-update --disable-sync "
                          "--user-data-dir='" + profile_dir + "' --dump-dom 'file://" + html_path + "' 2>/dev/null";
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  pclose(pipe);
  return out;
}

} // namespace

TEST(Reports, AllThreeOutputsAgreeAndTheHtmlChartsAreDrawnInChromium) {
  LocalHub hub;
  const std::string dir = hub.state_dir();
  const auto result = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "stress-test", "-c", "6", "-b", "3", "--json",
                                dir + "/r.json", "--csv", dir + "/csv", "--html", dir + "/r.html", "--threshold",
                                "ready_rate>=100%", "--threshold", "spawn_p95<120s"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::regex_search(result.output, std::regex("\\n  start server +6 +0 +0 "))) << result.output;
  EXPECT_NE(result.output.find("PASS ready_rate>=100%"), std::string::npos) << result.output;

  const auto report = nlohmann::json::parse(slurp(dir + "/r.json"));
  EXPECT_EQ(report["schema"], "hub-stress-test/report");
  EXPECT_EQ(report["schema_version"], 1);
  EXPECT_EQ(report["command"], "stress-test");
  EXPECT_EQ(report["spawn"]["ready"], 6);
  std::map<std::string, nlohmann::json> kinds;
  for (const auto& k : report["api"]["kinds"]) kinds[k["kind"].get<std::string>()] = k;
  EXPECT_EQ(kinds["start server"]["count"], 6);
  EXPECT_EQ(kinds["delete user"]["count"], 6);
  EXPECT_EQ(kinds["create users"]["count"], 2);
  EXPECT_GE(report["hub"]["samples"].size(), 2u);  // start and end at least: the token reads metrics
  ASSERT_EQ(report["thresholds"].size(), 2u);
  EXPECT_EQ(report["thresholds"][0]["passed"], true);
  // what was run and how it ended, the verdict first (issue 11)
  EXPECT_EQ(report["verdict"]["result"], "PASS");
  EXPECT_EQ(report["status"], "complete");
  EXPECT_EQ(report["hub_version"], "3.0.0");
  EXPECT_EQ(report["run"]["tool_version"], "0.1.0");
  EXPECT_EQ(report["run"]["batch_size"], 3);
  EXPECT_FALSE(report["run"]["run_id"].get<std::string>().empty());
  const std::string command_line = report["run"]["command_line"];
  EXPECT_NE(command_line.find("stress-test -c 6 -b 3"), std::string::npos) << command_line;
  EXPECT_NE(command_line.find("-t *** "), std::string::npos) << command_line;
  EXPECT_EQ(command_line.find(hub.token()), std::string::npos) << "the token is never in a report";
  EXPECT_EQ(report["users"]["requested"], 6);
  EXPECT_EQ(report["users"]["created"], 6);
  EXPECT_EQ(report["users"]["started"], 6);
  EXPECT_EQ(report["users"]["ready"], 6);
  const auto verdict = result.output.find("Verdict: PASS\n  - 6 of 6 servers ready\n");
  ASSERT_NE(verdict, std::string::npos) << result.output;
  EXPECT_LT(verdict, result.output.find("hub-stress-test stress-test: JupyterHub")) << "the terminal summary opens with the verdict";

  const std::string users = slurp(dir + "/csv/users.csv");
  EXPECT_EQ(lines_in(users), 7) << users;  // header + 6 users
  EXPECT_EQ(users.rfind("user,state,requested_at_s,ready_after_s,throttled,reason\n", 0), 0u) << users;
  int ready_rows = 0;
  for (auto p = users.find(",ready,"); p != std::string::npos; p = users.find(",ready,", p + 1)) ++ready_rows;
  EXPECT_EQ(ready_rows, 6) << users;
  EXPECT_GE(lines_in(slurp(dir + "/csv/requests.csv")), 1 + 6 * 3);

  const std::string dom = rendered_dom(dir + "/r.html", dir + "/chromium-profile");
  ASSERT_NE(dom.find("</html>"), std::string::npos) << "Chromium rendered nothing";
  for (const char* id : {"chart-ready", "chart-spawn-hist", "chart-latency", "chart-hub-cpu", "chart-hub-mem"}) {
    std::smatch m;
    const std::regex drawn(std::string("id=\"") + id + "\"[^>]*data-drawn=\"([0-9]+)x([0-9]+)\"");
    ASSERT_TRUE(std::regex_search(dom, m, drawn)) << id << " was not laid out";
    if (std::string(id) != "chart-hub-mem" && std::string(id) != "chart-hub-cpu") {
      // the run's own charts have data in both directions; the hub's may be one point or flat in 6 s
      EXPECT_GT(std::stoi(m[1].str()), 0) << id;
      EXPECT_GT(std::stoi(m[2].str()), 0) << id;
    }
  }
}

TEST(Reports, AViolatedThresholdExitsNinetyNineAfterAnOtherwiseGoodRun) {
  LocalHub hub;
  const auto result = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "purge", "--threshold", "api_max<1ms",
                                "--threshold", "errors<1"});
  EXPECT_EQ(result.exit_code, 99) << result.output;
  EXPECT_NE(result.output.find("FAIL api_max<1ms"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("PASS errors<1"), std::string::npos) << result.output;
}

TEST(Reports, AnInterruptedRunWritesEveryReportMarkedInterruptedWithTheSpawnsSoFar) {
  LocalHub hub;
  const std::string dir = hub.state_dir();
  BackgroundTool tool({"-e", hub.endpoint(), "-t", hub.token(), "stress-test", "-c", "40", "-b", "4", "--json", dir + "/i.json",
                       "--html", dir + "/i.html", "--csv", dir + "/csv"},
                      dir);
  for (int i = 0; i < 600 && hub.active_server_users().size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  tool.signal(SIGINT);
  EXPECT_EQ(tool.wait(), 130) << tool.output();
  const auto report = nlohmann::json::parse(slurp(dir + "/i.json"));
  EXPECT_EQ(report["status"], "interrupted");
  EXPECT_EQ(report["verdict"]["result"], "INTERRUPTED");
  EXPECT_EQ(report["users"]["requested"], 40);
  EXPECT_EQ(report["users"]["created"], 40);
  EXPECT_GE(report["users"]["started"].get<int>(), 2) << "the spawns measured before the signal";
  EXPECT_LT(report["users"]["started"].get<int>(), 40);
  EXPECT_EQ(report["spawn"]["servers"], 40);
  const std::string html = slurp(dir + "/i.html");
  EXPECT_NE(html.find("id=\"verdict\""), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_GE(lines_in(slurp(dir + "/csv/users.csv")), 41);
  EXPECT_TRUE(hub.active_server_users().empty());
}

TEST(Reports, ARunThatFailedWritesItsReportsMarkedFailedWithTheReason) {
  // nothing listens on port 9: the run cannot even ask the hub its version
  const std::string dir = ::testing::TempDir();
  const auto result = run_tool({"-e", "http://127.0.0.1:9/hub/api", "-t", "not-a-real-token", "stress-test", "-c", "3", "--json",
                                dir + "/f.json", "--html", dir + "/f.html"});
  EXPECT_EQ(result.exit_code, 128) << result.output;
  const auto report = nlohmann::json::parse(slurp(dir + "/f.json"));
  EXPECT_EQ(report["status"], "failed");
  EXPECT_EQ(report["verdict"]["result"], "FAIL");
  EXPECT_NE(report["error"].get<std::string>().find("cannot reach the hub"), std::string::npos) << report.dump();
  EXPECT_EQ(report["verdict"]["why"][0], report["error"]);
  EXPECT_EQ(report["users"]["created"], 0);
  EXPECT_EQ(slurp(dir + "/f.json").find("not-a-real-token"), std::string::npos);
  EXPECT_NE(slurp(dir + "/f.html").find("</html>"), std::string::npos);
}

TEST(Reports, AThresholdPerKindOfCallPassesAndFailsOnARealRun) {
  LocalHub hub;
  auto run = [&](const std::string& threshold) {
    return run_tool({"-e", hub.endpoint(), "-t", hub.token(), "stress-test", "-c", "3", "--threshold", threshold});
  };
  const auto passed = run("api_p95{kind:delete user}<30s");
  EXPECT_EQ(passed.exit_code, 0) << passed.output;
  EXPECT_NE(passed.output.find("PASS api_p95{kind:delete user}<30s"), std::string::npos) << passed.output;
  const auto failed = run("api_max{kind:start server}<1ms");
  EXPECT_EQ(failed.exit_code, 99) << failed.output;
  EXPECT_NE(failed.output.find("FAIL api_max{kind:start server}<1ms"), std::string::npos) << failed.output;
  EXPECT_EQ(run("api_p95{kind:start}<1s").exit_code, 1) << "an unknown kind is bad input";
}

TEST(Reports, CompareTwoRealRunsSideBySide) {
  LocalHub hub;
  const std::string dir = hub.state_dir();
  for (const char* count : {"2", "4"}) {
    const auto run = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "stress-test", "-c", count, "-q", "--json",
                               dir + "/run-" + count + ".json"});
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  const auto result = run_tool({"compare", dir + "/run-2.json", dir + "/run-4.json", "--html", dir + "/compare.html"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::regex_search(result.output, std::regex("users +requested +2 +4 +\\+100\\.0 %"))) << result.output;
  // the setting that differs comes first; spawn to ready's p95 is a row of its own when the change is
  // beyond noise, else in its section's folded line (2 and 4 servers: noise, most likely)
  EXPECT_TRUE(std::regex_search(result.output, std::regex("Settings that differ:\n +count +2 +-> 4"))) << result.output;
  EXPECT_TRUE(std::regex_search(result.output, std::regex("spawn to ready +(p95 \\(s\\) +[0-9.]+ +[0-9.]+|2 / 4 +[^\n]*p95 [-+][0-9.]+ %)")))
      << result.output;
  const std::string html = slurp(dir + "/compare.html");
  EXPECT_NE(html.find("<table id=\"compare\">"), std::string::npos);
  EXPECT_NE(html.find("spawn to ready"), std::string::npos);
  const auto refused = run_tool({"compare", dir + "/run-2.json", dir + "/compare.html"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("is not JSON"), std::string::npos) << refused.output;
}
