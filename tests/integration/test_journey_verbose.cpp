// What `-v` shows of a journey, through the tool as a person runs it (against the fake hub): every
// student request with its method, URL and status, and never a token. And `journey --dry-run`:
// the whole class played, the hub sent nothing.
#include "local_hub.hpp"

#include "../support/fake_hub.hpp"

#include <gtest/gtest.h>

#include <regex>

using hubstress::testing::FakeHub;
using hubstress::testing::run_tool;

TEST(JourneyVerbose, VerboseShowsEveryStudentRequestAndNoToken) {
  FakeHub hub;
  const std::string state = "HUB_STRESS_TEST_STATE_DIR=" + ::testing::TempDir() + "hst-verbose-state";
  const auto r = run_tool({"-e", hub.url(), "-t", FakeHub::token(), "-v", "journey", "-c", "2", "--cells", "1"}, {state});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // a DEBUG line per answer: method, URL, status, seconds (SPEC §3), the students' among them
  for (const std::string pattern :
       {R"(POST http://127\.0\.0\.1:\d+/hub/api/users/hub-stress-test-\d+/server 202 )",
        R"(GET http://127\.0\.0\.1:\d+/hub/api/users/hub-stress-test-\d+/server/progress 200 )",
        R"(GET http://127\.0\.0\.1:\d+/user/hub-stress-test-\d+/api/status 200 )",
        R"(POST http://127\.0\.0\.1:\d+/user/hub-stress-test-\d+/api/kernels 201 )",
        R"(GET http://127\.0\.0\.1:\d+/user/hub-stress-test-\d+/api/kernels/[-0-9a-f]+/channels\?session_id=[0-9a-f]+ 101 )",
        R"(DELETE http://127\.0\.0\.1:\d+/user/hub-stress-test-\d+/api/kernels/[-0-9a-f]+ 204 )"}) {
    EXPECT_TRUE(std::regex_search(r.output, std::regex(pattern))) << "no line like " << pattern << "\n" << r.output;
  }
  EXPECT_EQ(r.output.find(FakeHub::token()), std::string::npos) << "the admin token in the output";
  EXPECT_FALSE(std::regex_search(r.output, std::regex("tok-[0-9a-f]{16}"))) << "a student's token in the output\n" << r.output;
  EXPECT_NE(r.output.find("token=***"), std::string::npos) << r.output;
  // the requests of the students are in the API table too
  EXPECT_NE(r.output.find("start kernel"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("kernel websocket"), std::string::npos) << r.output;
}

TEST(JourneyVerbose, ADryRunPlaysTheWholeClassAndTheHubSeesNoRequest) {
  FakeHub hub;
  const auto r = run_tool({"-e", hub.url(), "-t", FakeHub::token(), "--dry-run", "journey", "-c", "3", "--cells", "2", "--think", "0.1s"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[dry-run] would send POST http://127.0.0.1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("/api/kernels"), std::string::npos) << "the students' kernel starts are said\n" << r.output;
  EXPECT_NE(r.output.find("[dry-run] would open the WebSocket"), std::string::npos) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(Students: 3 arrived over .*, 3 completed, 0 failed)"))) << r.output;
  EXPECT_EQ(hub.state()["requests"], 0) << "a dry run sent requests to the hub";
}
