// `journey` end to end against a real JupyterHub (3.0, or 5.2 as hub52.*) whose users get real
// jupyterhub-singleuser servers (the classic notebook server, or Notebook 7 on jupyter-server 2)
// with real ipykernel kernels. What the students did is
// checked from outside the tool: each cell writes a file into its student's home folder (only a
// kernel running the code can do that), the hub's log shows the kernels started, and no
// stress-test user is left on the hub.
#include "local_hub.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using hubstress::testing::LocalHub;
using hubstress::testing::read_json;
using hubstress::testing::run_tool;

namespace {

// A cell that leaves a mark only a kernel can leave, then prints what --expect looks for.
const std::string kCode = "import os; open('cell-ran-' + str(os.getpid()), 'a').write('x\\n'); print(6 * 7)";

int cell_marks(const LocalHub& hub, const std::string& user) {
  const auto home = std::filesystem::path(hub.state_dir()) / "home" / user;
  int lines = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(home, ec)) {
    if (entry.path().filename().string().rfind("cell-ran-", 0) != 0) continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) lines += line == "x";
  }
  return lines;
}

int count_in_file(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

} // namespace

TEST(Journey, FiveStudentsWithTokensRampUpAndRunTwoCellsInRealKernels) {
  LocalHub hub("singleuser");
  const std::string json_path = hub.state_dir() + "/journey.json";
  const auto result = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "journey", "-c", "5", "--ramp-up", "5s", "--cells",
                                "2", "--think", "1s", "--code", kCode, "--json", json_path, "-q"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::regex_search(result.output, std::regex("Students: 5 of 5 completed"))) << result.output;
  const auto report = read_json(json_path);
  ASSERT_TRUE(report["journey"].is_object()) << report.dump();
  EXPECT_EQ(report["journey"]["completed"], 5);
  EXPECT_EQ(report["journey"]["kernels_deleted"], 5);
  for (const auto& step : report["journey"]["steps"]) {
    const std::string name = step["name"];
    EXPECT_EQ(step["seconds"]["count"], name == "login" ? 0 : 5) << name;
  }
  for (int i = 1; i <= 5; ++i) {
    const std::string user = "hub-stress-test-" + std::to_string(i);
    EXPECT_EQ(cell_marks(hub, user), 2) << user << ": both cells ran in that student's own kernel";
  }
  EXPECT_EQ(count_in_file(hub.state_dir() + "/hub.log", "Kernel started:"), 5);
  for (int i = 1; i <= 5; ++i) {
    // each student acted as itself: the hub logs its start request under the student's own name
    const std::string user = "hub-stress-test-" + std::to_string(i);
    EXPECT_EQ(hub.requests_logged("POST /hub/api/users/" + user + "/server (" + user + "@"), 1) << user;
  }
  EXPECT_TRUE(hub.user_names().empty()) << "every stress-test user was removed";
  EXPECT_TRUE(hub.active_server_users().empty());
}

TEST(Journey, ThreeStudentsLogInThroughTheHubsFormAndGoThroughTheProxyWithCookies) {
  LocalHub hub("singleuser");
  const std::string csv_dir = hub.state_dir() + "/csv";
  const auto result = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "journey", "-c", "3", "--auth", "form",
                                "--password", "any-password", "--cells", "1", "--code", kCode, "--csv", csv_dir, "-q"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output.find("any-password"), std::string::npos) << "the password is never shown";
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(cell_marks(hub, "hub-stress-test-" + std::to_string(i)), 1);
  // the browser's way in: a login per student, the OAuth hop into each server, no token of its own
  EXPECT_EQ(hub.requests_logged("POST /hub/login"), 3);
  // logged by each user's server, not the hub (jupyter-server 2 on 5.2 writes no " log:" access
  // lines), and before its student went on to its kernel: read from the shared log as it is
  EXPECT_EQ(count_in_file(hub.state_dir() + "/hub.log", "/oauth_callback?code=[secret]&state=[secret] -> /user/"), 3);
  EXPECT_EQ(hub.requests_logged("/tokens"), 0);
  std::ifstream csv(csv_dir + "/journeys.csv");
  std::string header, line;
  std::getline(csv, header);
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    EXPECT_NE(line.find(",,true"), std::string::npos) << "no failed step, kernel deleted: " << line;
  }
  EXPECT_EQ(rows, 3);
  EXPECT_TRUE(hub.user_names().empty());
}

// A cell that raises in a real ipykernel: the student ends at first_result with the kernel's
// error, word for word, even when any output would do (--expect ''); its kernel is still deleted.
TEST(Journey, ACellThatRaisesInARealKernelEndsTheStudentAtItsFirstResultWithTheError) {
  LocalHub hub("singleuser");
  const std::string json_path = hub.state_dir() + "/journey.json";
  const auto result = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "journey", "-c", "1", "--cells", "1", "--code",
                                "1 / 0", "--expect", "", "--json", json_path, "-q"});
  EXPECT_EQ(result.exit_code, 128) << result.output;
  const std::string reason = "first_result: the cell raised ZeroDivisionError: division by zero";
  EXPECT_NE(result.output.find(reason), std::string::npos) << result.output;
  const auto report = read_json(json_path);
  EXPECT_EQ(report["journey"]["completed"], 0);
  EXPECT_EQ(report["journey"]["failed"], 1);
  EXPECT_EQ(report["journey"]["kernels_deleted"], 1);
  ASSERT_EQ(report["journey"]["failures"].size(), 1u) << report["journey"].dump();
  EXPECT_EQ(report["journey"]["failures"][0]["reason"], reason);
  EXPECT_TRUE(hub.user_names().empty());
  EXPECT_TRUE(hub.active_server_users().empty());
}

// JupyterHub 3.0 refuses a login with 200 and its form again (SPEC 6): that is a refused login,
// not a login, and the student goes no further.
TEST(Journey, ARealHubThatRefusesTheLoginEndsEveryStudentAtLogin) {
  setenv("HST_DUMMY_PASSWORD", "the-right-one", 1);  // read by tests/hub/jupyterhub_config.py
  LocalHub hub("mocksu");
  unsetenv("HST_DUMMY_PASSWORD");
  const auto result = run_tool({"-e", hub.endpoint(), "-t", hub.token(), "journey", "-c", "2", "--auth", "form", "--password",
                                "a-wrong-one", "-q"});
  EXPECT_EQ(result.exit_code, 128) << result.output;
  EXPECT_NE(result.output.find("2: login: login refused (the hub showed the login form again)"), std::string::npos)
      << result.output;
  EXPECT_EQ(hub.requests_logged("/spawn"), 0) << "a student whose login was refused asks for no server";
  EXPECT_TRUE(hub.user_names().empty());
}

TEST(Journey, AWrongExpectationFailsEveryStudentAtItsFirstCellAndThresholdsJudgeIt) {
  LocalHub hub("singleuser");
  const std::vector<std::string> base{"-e", hub.endpoint(), "-t", hub.token(), "journey", "-c", "2", "--cells", "1",
                                      "--expect", "43", "-q"};
  const auto result = run_tool(base);
  EXPECT_EQ(result.exit_code, 128) << result.output;
  EXPECT_NE(result.output.find("2: first_result: wrong output (expected '43'): '42 '"), std::string::npos) << result.output;
  EXPECT_TRUE(hub.user_names().empty());
  EXPECT_TRUE(hub.active_server_users().empty());

  auto with_threshold = base;
  with_threshold.insert(with_threshold.end(), {"--threshold", "journey_failure_rate<=100%", "--threshold", "kernel_p95<60s"});
  const auto judged = run_tool(with_threshold);
  EXPECT_EQ(judged.exit_code, 0) << "the thresholds, when given, judge the students' failures: " << judged.output;
  with_threshold.back() = "kernel_p95<1ms";
  EXPECT_EQ(run_tool(with_threshold).exit_code, 99);
  // a threshold on times alone does not judge the failures: they still fail the run
  auto times_only = base;
  times_only.insert(times_only.end(), {"--threshold", "kernel_p95<60s"});
  EXPECT_EQ(run_tool(times_only).exit_code, 128);
}
