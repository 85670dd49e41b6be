// Fault tests: start_servers. The spawn window against a hub that answers 429, and the progress
// streams (no verdict, a ready event on a stream held open, a failed event).
#include "hubstress/hub/session.hpp"
#include "hubstress/scenarios/stress.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hs = hubstress;
using namespace hubstress::testing::fault;

// --- spawns against a hub that refuses them ---

TEST_F(Faults, AHubThatAnswers429ForEverEndsTheSpawnPhaseAfterOneDeadline) {
  // active_server_limit reached: 429 without Retry-After, for every start request
  hub->on("POST", "/hub/api/users/{}/server", [](const Call&, httplib::Response& res) {
    reply_error(res, 429, "Active user limit exceeded. Try again in a few minutes.");
  });
  hs::RetryPolicy policy = fast_policy(2);
  policy.max_delay_s = 0.2;  // caps the pause between tries too
  hs::Session session(options(policy));
  hs::SpawnStats stats;
  const std::vector<std::string> users{"hub-stress-test-1", "hub-stress-test-2", "hub-stress-test-3", "hub-stress-test-4"};
  const auto start = Clock::now();
  const auto records = hs::start_servers(session, users, 2, "", 1.0, stats);
  const double took = seconds_between(start, Clock::now());
  ASSERT_EQ(records.size(), users.size());
  for (const auto& r : records) {
    EXPECT_NE(r.state, hs::SpawnState::ready) << r.user;
    EXPECT_FALSE(r.reason.empty()) << r.user;
  }
  EXPECT_GE(stats.throttled, 2);
  EXPECT_EQ(stats.smallest_window, 1);
  EXPECT_LT(took, 4 * 1.0) << "one deadline for the whole queue, not one per user";
  EXPECT_NE(log_text().find("answered 429 to every start request"), std::string::npos) << log_text();
}

TEST_F(Faults, TheSpawnWindowWaitsAsLongAsRetryAfterSays) {
  // the hub's concurrent_spawn_limit is full of other people's spawns: 429 with Retry-After while
  // none of this run's spawns is pending
  hub->add_user("hub-stress-test-1");
  hub->on("POST", "/hub/api/users/{}/server", [](const Call& c, httplib::Response& res) {
    if (c.hit == 1) {
      res.set_header("Retry-After", "3");
      return reply_error(res, 429, "Too many users trying to log in right now. Try again in 3 seconds.");
    }
    res.status = 201;
  });
  hs::RetryPolicy policy = fast_policy();
  policy.max_delay_s = 10.0;  // the cap is above the hub's 3 s
  hs::Session session(options(policy));
  hs::SpawnStats stats;

  const auto records = hs::start_servers(session, {"hub-stress-test-1"}, 1, "", 60.0, stats);

  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].state, hs::SpawnState::ready) << records[0].reason;
  EXPECT_EQ(records[0].throttled, 1);
  EXPECT_EQ(stats.throttled, 1) << "the 429 goes to the spawn window, the engine does not sleep on it";
  const auto posts = hub->seen("POST", "/hub/api/users/hub-stress-test-1/server");
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_GE(seconds_between(posts[0].at, posts[1].at), 2.9) << "re-sent before the hub's Retry-After of 3 s";
  EXPECT_GE(stats.throttled_s, 2.9);
}

// --- progress streams ---

TEST_F(Faults, AProgressStreamWithoutAVerdictIsAskedAgainUntilTheDeadline) {
  hub->on("POST", "/hub/api/users/{}/server", [](const Call&, httplib::Response& res) { res.status = 202; });
  hub->on("GET", "/hub/api/users/{}/server/progress", [](const Call&, httplib::Response& res) {
    res.status = 200;  // an ingress that serves a page instead of the event stream
    res.set_content("<html>maintenance</html>", "text/html");
  });
  hs::Session session(options());
  hs::SpawnStats stats;
  const auto records = hs::start_servers(session, {"hub-stress-test-1"}, 1, "", 2.5, stats);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].state, hs::SpawnState::timed_out);
  const auto polls = hub->seen("GET", "/hub/api/users/hub-stress-test-1/server/progress").size();
  EXPECT_GE(polls, 2u);
  EXPECT_LE(polls, 4u) << "asked again about once a second, not in a tight loop";
}

TEST_F(Faults, ASpawnIsReadyWhenItsReadyEventArrivesNotWhenTheStreamCloses) {
  // hub-stress-test-1's progress stream says ready after 0.5 s and then stays open (a proxy that
  // holds streams open), sending a comment every 100 ms until the client goes; hub-stress-test-2's
  // says ready after 5 s. The first spawn is ready at its event, and the tool closes that stream
  // then, not when the phase ends.
  using namespace std::chrono_literals;
  struct Seen {  // shared with the server's thread, which may outlive this test's frame when it fails
    std::mutex mu;
    std::optional<Clock::time_point> ready_sent, closed;
  };
  auto seen = std::make_shared<Seen>();
  hub->on("POST", "/hub/api/users/{}/server", [](const Call&, httplib::Response& res) { res.status = 202; });
  hub->on("GET", "/hub/api/users/{}/server/progress", [seen](const Call& c, httplib::Response& res) {
    const bool first = c.args.at(0) == "hub-stress-test-1";
    res.status = 200;
    res.set_chunked_content_provider("text/event-stream", [seen, first](size_t, httplib::DataSink& sink) {
      const std::string pending = "data: {\"progress\": 50, \"message\": \"pending\"}\n\n";
      const std::string ready = "data: {\"progress\": 100, \"ready\": true, \"message\": \"ready\"}\n\n";
      const std::string ping = ": ping\n\n";
      sink.write(pending.data(), pending.size());
      std::this_thread::sleep_for(first ? 500ms : 5s);
      sink.write(ready.data(), ready.size());
      if (first) {
        {
          std::lock_guard<std::mutex> lock(seen->mu);
          seen->ready_sent = Clock::now();
        }
        for (int i = 0; i < 150; ++i) {
          std::this_thread::sleep_for(100ms);
          if (!sink.write(ping.data(), ping.size())) {
            std::lock_guard<std::mutex> lock(seen->mu);
            seen->closed = Clock::now();
            break;
          }
        }
      }
      sink.done();
      return true;
    });
  });
  hs::Session session(options());
  hs::SpawnStats stats;
  const auto start = Clock::now();
  const auto records = hs::start_servers(session, {"hub-stress-test-1", "hub-stress-test-2"}, 2, "", 60.0, stats);
  const double took = seconds_between(start, Clock::now());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].state, hs::SpawnState::ready) << records[0].reason;
  EXPECT_EQ(records[1].state, hs::SpawnState::ready) << records[1].reason;
  EXPECT_GE(records[0].ready_after_s, 0.4) << "ready only once the ready event came, not at the first event";
  EXPECT_LT(records[0].ready_after_s, 3.0) << "the ready time is the ready event's, not the stream's end";
  EXPECT_GE(took, 4.5) << "the phase lasts until the second server's ready event";
  EXPECT_LT(took, 12.0) << "the phase ends at the last ready event, not when the held stream ends (15 s)";
  std::lock_guard<std::mutex> lock(seen->mu);
  ASSERT_TRUE(seen->ready_sent.has_value());
  ASSERT_TRUE(seen->closed.has_value()) << "the tool never closed the held stream";
  EXPECT_LT(seconds_between(*seen->ready_sent, *seen->closed), 2.5)
      << "the stream is closed at its ready event, not when the phase ends (about 4.5 s later)";
}

TEST_F(Faults, AFailedEventEndsTheSpawnWithTheSpawnersMessage) {
  hub->on("POST", "/hub/api/users/{}/server", [](const Call&, httplib::Response& res) { res.status = 202; });
  hub->on("GET", "/hub/api/users/{}/server/progress", [](const Call&, httplib::Response& res) {
    res.status = 200;
    res.set_content(": comment line\n\n"
                    "data: {\"progress\": 10, \"message\": \"Server requested\"}\n\n"
                    "data: {\"progress\": 100, \"failed\": true, \"message\": \"Spawn failed: no image\"}\n\n",
                    "text/event-stream");
  });
  hs::Session session(options());
  hs::SpawnStats stats;
  const auto records = hs::start_servers(session, {"hub-stress-test-1"}, 1, "", 10.0, stats);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].state, hs::SpawnState::failed);
  EXPECT_EQ(records[0].reason, "Spawn failed: no image");
}
