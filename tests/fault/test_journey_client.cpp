// A journey's own requests on the one hub client (issue 20), against tests/support/fake_hub.py:
// every student request is a record with its kind, a hub that throttles spawns shows its 429s in
// every report as stress-test's do, and no reason ever shows a student's token or the password.
#include "hubstress/scenarios/journey.hpp"
#include "hubstress/report/report.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/report/summary.hpp"

#include "../support/fake_hub.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using hubstress::testing::FakeHub;
using hubstress::testing::session_options;
namespace hs = hubstress;

namespace {

hs::JourneyOptions options(int count) {
  hs::JourneyOptions o;
  o.count = count;
  o.cells = 1;
  o.step_timeout_s = 20;
  o.server_timeout_s = 20;
  return o;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

TEST(JourneyClient, ASpawnLimitsFourTwentyNinesAreInTheSummaryJsonAndRequestsCsv) {
  // one pending spawn at a time, each 1 s: four students arriving at once wait their turn
  FakeHub hub({"--spawn-limit", "1", "--spawn-delay", "1"});
  hs::Session session(session_options(hub));
  const auto o = options(4);
  const auto r = hs::journey(session, o);
  ASSERT_EQ(r.students.size(), 4u);
  for (const auto& s : r.students) EXPECT_TRUE(s.ok()) << s.user << ": " << s.failed_step << ": " << s.reason;
  const int answered_429 = hub.state()["answers_429"].get<int>();
  ASSERT_GE(answered_429, 3) << "the fake hub did not throttle";

  int recorded = 0;
  for (const auto& rec : session.records()) recorded += rec.kind == hs::ApiKind::start_server && rec.status == 429;
  EXPECT_EQ(recorded, answered_429) << "every 429 the hub sent is a start-server record";
  EXPECT_EQ(r.spawn_stats.throttled, answered_429);
  EXPECT_GT(r.spawn_stats.throttled_s, 0.5) << "students waited Retry-After (1 s) before re-sending";

  hs::SummaryInputs in;
  in.command = "journey";
  in.records = &session.records();
  in.journey = &r;
  in.journey_options = &o;
  in.requested_users = o.count;
  const hs::Summary summary = hs::build_summary(in);
  const std::string text = hs::render_terminal(summary);
  const std::string line = "429 answers: " + std::to_string(answered_429) + " (" + std::to_string(answered_429) + " to start requests)";
  EXPECT_NE(text.find(line), std::string::npos) << text;
  const auto json = hs::to_json(summary);
  EXPECT_EQ(json["throttle"]["answers_429"], answered_429);
  EXPECT_EQ(json["throttle"]["start_429"], answered_429);

  const auto dir = std::filesystem::temp_directory_path() / ("hst-journey-429-" + std::to_string(::getpid()));
  hs::write_csv(summary, nullptr, session.records(), dir.string(), &r);
  const std::string csv = read(dir / "requests.csv");
  std::filesystem::remove_all(dir);
  int rows = 0;
  for (std::size_t at = csv.find(",429,"); at != std::string::npos; at = csv.find(",429,", at + 1)) ++rows;
  EXPECT_EQ(rows, answered_429) << csv.substr(0, 2000);
  EXPECT_NE(csv.find("/user/{name}/api/kernels"), std::string::npos) << "the students' kernel starts are rows too";
}

TEST(JourneyClient, AReasonNeverShowsTheStudentsTokenNorThePassword) {
  FakeHub hub({"--echo"});
  {
    hs::Session session(session_options(hub));
    const auto r = hs::journey(session, options(2));  // --auth token: the kernel start echoes its Authorization
    ASSERT_EQ(r.students.size(), 2u);
    for (const auto& s : r.students) {
      EXPECT_EQ(s.failed_step, "kernel") << s.reason;
      EXPECT_NE(s.reason.find("Authorization: token ***"), std::string::npos) << s.reason;
      EXPECT_EQ(s.reason.find("tok-"), std::string::npos) << "a student's token in its reason: " << s.reason;
    }
  }
  hs::Session session(session_options(hub));
  auto o = options(2);
  o.auth = hs::JourneyAuth::form;
  o.password = "correct-horse-battery";
  const auto r = hs::journey(session, o);  // the login's refusal echoes the form: username and password
  ASSERT_EQ(r.students.size(), 2u);
  for (const auto& s : r.students) {
    EXPECT_EQ(s.failed_step, "login") << s.reason;
    EXPECT_NE(s.reason.find("password=***"), std::string::npos) << s.reason;
    EXPECT_EQ(s.reason.find("correct-horse-battery"), std::string::npos) << "the password in a reason: " << s.reason;
  }
}
