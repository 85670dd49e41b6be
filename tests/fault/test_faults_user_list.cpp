// Fault tests: listing the hub's users. HTML instead of JSON, 403 and a token echoed back, pagination,
// and runs that stop when the list cannot be read.
#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/client.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/scenarios/stress.hpp"
#include "hubstress/hub/users.hpp"

#include "../support/fault_fixture.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace hs = hubstress;
using nlohmann::json;
using namespace hubstress::testing::fault;

namespace {

const char* kIngressPage =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

} // namespace

// --- HTML instead of JSON ---

TEST_F(Faults, AnHtml502FromTheIngressIsAWarningAndAnEmptyList) {
  hub->on("GET", "/hub/api/users", [](const Call&, httplib::Response& res) {
    res.status = 502;
    res.set_content(kIngressPage, "text/html");
  });
  const int max_retries = 2;
  hs::Session session(options(fast_policy(max_retries)));

  std::vector<std::string> found{"sentinel"};
  EXPECT_NO_THROW(found = hs::find_existing_stress_test_users(session));
  EXPECT_TRUE(found.empty());
  EXPECT_NE(log_text().find("warning Could not list the hub's users"), std::string::npos) << log_text();
  EXPECT_EQ(hub->seen("GET", "/hub/api/users").size(), static_cast<std::size_t>(max_retries + 1)) << "502 is retried";

  try {
    hs::list_users(session);
    ADD_FAILURE() << "list_users must throw on a 502";
  } catch (const hs::AuthError&) {
    ADD_FAILURE() << "a 502 is not an auth error";
  } catch (const hs::HubError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(one_line(what)) << what;
    EXPECT_NE(what.find("502"), std::string::npos) << what;
  }

  const hs::Response r = session.call(session.request("GET", "/users", "/users"));
  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(one_line(r.describe())) << r.describe();
  // the ingress's page is named by its title, never repeated (issue 23 item 4)
  EXPECT_EQ(r.describe(), "HTTP 502: an HTML page titled '502 Bad Gateway'") << r.describe();
}

TEST_F(Faults, AnHtml200ForTheUserListIsAWarningAndAnEmptyList) {
  hub->on("GET", "/hub/api/users", [](const Call&, httplib::Response& res) {
    res.status = 200;
    res.set_content("<!DOCTYPE html>\n<html><body>\n<h1>Sign in</h1>\n</body></html>\n", "text/html");
  });
  hs::Session session(options());

  std::vector<std::string> found{"sentinel"};
  EXPECT_NO_THROW(found = hs::find_existing_stress_test_users(session));
  EXPECT_TRUE(found.empty());
  EXPECT_NE(log_text().find("warning Could not list the hub's users"), std::string::npos) << log_text();
  EXPECT_EQ(hub->seen("GET", "/hub/api/users").size(), 1u) << "a 200 is not retried";

  try {
    hs::list_users(session);
    ADD_FAILURE() << "list_users must throw on HTML";
  } catch (const hs::AuthError&) {
    ADD_FAILURE() << "HTML is not an auth error";
  } catch (const hs::HubError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(one_line(what)) << what;
    EXPECT_NE(what.find("did not answer JSON"), std::string::npos) << what;
  }
}

TEST_F(Faults, AnEndpointThatServesHtmlIsNotTakenForAHub) {
  hub->on("GET", "/hub/api/", [](const Call&, httplib::Response& res) {
    res.status = 200;
    res.set_content(kIngressPage, "text/html");
  });
  hs::Session session(options());
  try {
    session.hub_version();
    ADD_FAILURE() << "an HTML page is not a hub version";
  } catch (const hs::HubError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(one_line(what)) << what;
    EXPECT_NE(what.find("did not answer JSON"), std::string::npos) << what;
  }
}

// --- 403 ---

TEST_F(Faults, A403OnTheUserListIsAnAuthErrorWithoutTheToken) {
  hub->on("GET", "/hub/api/users", [](const Call&, httplib::Response& res) {
    reply_error(res, 403, "Action is not authorized with current scopes; requires any of [list:users]");
  });
  hs::Session session(options());

  try {
    hs::find_existing_stress_test_users(session);
    ADD_FAILURE() << "a 403 must throw AuthError";
  } catch (const hs::AuthError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("invalid token or missing scopes"), std::string::npos) << what;
    EXPECT_NE(what.find("admin:users"), std::string::npos) << "names the scopes it needs: " << what;
    EXPECT_EQ(what.find(kToken), std::string::npos) << what;
    EXPECT_TRUE(one_line(what)) << what;
  }
  EXPECT_EQ(hub->seen("GET", "/hub/api/users").size(), 1u) << "a 403 is not retried";
  EXPECT_THROW(hs::list_users(session), hs::AuthError);
}

TEST_F(Faults, ATokenEchoedByTheHubIsNotRepeated) {
  // A proxy in front of the hub that echoes the request headers in its error pages.
  auto echo = [](const httplib::Request& req) {
    return "Forbidden. Request had Authorization: " + req.get_header_value("Authorization");
  };
  hub->on("GET", "/hub/api/users", [echo](const Call& c, httplib::Response& res) { reply_error(res, 403, echo(c.req)); });
  hub->on("GET", "/hub/api/users/{}", [echo](const Call& c, httplib::Response& res) {
    if (c.hit == 1) return reply_error(res, 503, echo(c.req));
    reply_json(res, 200, {{"name", c.args[0]}});
  });
  hs::Session session(options());

  std::string what;
  try {
    hs::find_existing_stress_test_users(session);
  } catch (const hs::AuthError& e) {
    what = e.what();
  }
  ASSERT_NE(what.find("invalid token or missing scopes"), std::string::npos) << what;
  const hs::Response r = session.call(session.request("GET", "/users/hub-stress-test-1", "/users/{name}"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.retries, 1);

  const bool in_error = what.find(kToken) != std::string::npos;
  const bool in_log = log_text().find(kToken) != std::string::npos;
  EXPECT_NE(what.find("***"), std::string::npos) << "the echoed token is shown redacted: " << what;
  EXPECT_FALSE(in_error);
  EXPECT_FALSE(in_log);
}

// --- pagination ---

TEST_F(Faults, PaginationFollowsOffsetsOnOurOwnEndpoint) {
  std::set<std::string> stress;
  for (int i = 1; i <= 450; ++i) {
    std::string name;
    switch (i) {
    case 1: name = "alice"; break;
    case 2: name = "hub-stress-test_2"; break;            // separators other than a dash
    case 3: name = "hub-stress-test.3"; break;
    case 4: name = "hub-stress-test04"; break;
    case 200: name = "hub-stress-tester"; break;           // last of page 1
    case 201: name = "hub-stress-test-admin"; break;       // first of page 2
    case 333: name = "hub-stress-test-"; break;
    case 401: name = "hub-stress-test-12a"; break;         // first of page 3
    case 450: name = "bob"; break;
    default: name = "hub-stress-test-" + std::to_string(i); stress.insert(name);
    }
    hub->add_user(name);
  }
  ASSERT_EQ(stress.size(), 441u);
  hs::Session session(options());

  const auto all = hs::list_users(session);
  ASSERT_EQ(all.size(), 450u);
  EXPECT_EQ(all.front()["name"], "alice");
  EXPECT_EQ(all.back()["name"], "bob");

  const auto pages = hub->seen("GET", "/hub/api/users");
  ASSERT_EQ(pages.size(), 3u) << "all three pages come from our endpoint (internal-hub is never used)";
  const std::vector<std::string> offsets{"0", "200", "400"};
  for (std::size_t i = 0; i < pages.size(); ++i) {
    EXPECT_EQ(param(pages[i], "offset"), offsets[i]);
    EXPECT_EQ(param(pages[i], "limit"), "200");
    EXPECT_NE(header(pages[i], "Accept").find("application/jupyterhub-pagination+json"), std::string::npos);
    EXPECT_EQ(header(pages[i], "Authorization"), "token fault-token-123");
  }

  const auto found = hs::find_existing_stress_test_users(session);
  EXPECT_EQ(std::set<std::string>(found.begin(), found.end()), stress);
  EXPECT_EQ(found.size(), stress.size()) << "no duplicates";
  EXPECT_EQ(hub->seen("GET", "/hub/api/users").size(), 6u);
}

TEST_F(Faults, PaginationUsesTheHubsSmallerPageLimit) {
  hub->max_page = 50;  // a hub configured with a smaller api_page_max_limit
  for (int i = 1; i <= 120; ++i) hub->add_user("hub-stress-test-" + std::to_string(i));
  hs::Session session(options());

  EXPECT_EQ(hs::find_existing_stress_test_users(session).size(), 120u);
  const auto pages = hub->seen("GET", "/hub/api/users");
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(param(pages[1], "offset"), "50");
  EXPECT_EQ(param(pages[2], "offset"), "100");
  EXPECT_EQ(param(pages[2], "limit"), "50");
}

// --- a list that cannot be read stops a run (issue 13) ---

TEST_F(Faults, StressTestsStopWhenTheUserListCannotBeRead) {
  // numbering after a list that failed would start at 1 and collide with users kept by earlier runs
  hub->add_user("hub-stress-test-1");
  hub->on("GET", "/hub/api/users", [](const Call&, httplib::Response& res) { reply_error(res, 500, "database is locked"); });
  hs::Session session(options());
  hs::StressOptions stress;
  stress.count = 2;
  stress.batch_size = 2;
  EXPECT_THROW(hs::stress_test(session, stress), hs::HubError);
  hs::ActivityOptions activity;
  activity.count = 2;
  EXPECT_THROW(hs::activity_stress_test(session, activity), hs::HubError);
  EXPECT_TRUE(hub->seen("POST").empty()) << "a user was created after a failed listing";
  EXPECT_TRUE(hub->seen("DELETE").empty());
}
