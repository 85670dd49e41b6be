#include "hubstress/hub/url.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using hubstress::normalize_api_url;

TEST(NormalizeApiUrl, KeepsApiUrl) {
  EXPECT_EQ(normalize_api_url("https://hub.example.org/hub/api"), "https://hub.example.org/hub/api");
  EXPECT_EQ(normalize_api_url("https://hub.example.org/hub/api/"), "https://hub.example.org/hub/api");
}

TEST(NormalizeApiUrl, FindsApiFromHubAndRoot) {
  EXPECT_EQ(normalize_api_url("https://hub.example.org"), "https://hub.example.org/hub/api");
  EXPECT_EQ(normalize_api_url("https://hub.example.org/"), "https://hub.example.org/hub/api");
  EXPECT_EQ(normalize_api_url("https://hub.example.org/hub"), "https://hub.example.org/hub/api");
  EXPECT_EQ(normalize_api_url("http://127.0.0.1:8000/hub/"), "http://127.0.0.1:8000/hub/api");
  EXPECT_EQ(normalize_api_url("https://example.org/jupyter/"), "https://example.org/jupyter/hub/api");
}

TEST(NormalizeApiUrl, SchemeIsCaseInsensitive) {
  EXPECT_EQ(normalize_api_url("HTTP://127.0.0.1:8000"), "http://127.0.0.1:8000/hub/api");
}

TEST(NormalizeApiUrl, RejectsBadInput) {
  EXPECT_THROW(normalize_api_url(""), std::invalid_argument);
  EXPECT_THROW(normalize_api_url("hub.example.org"), std::invalid_argument);
  EXPECT_THROW(normalize_api_url("ftp://hub.example.org"), std::invalid_argument);
  EXPECT_THROW(normalize_api_url("https://"), std::invalid_argument);
  EXPECT_THROW(normalize_api_url("https://hub/hub/api?x=1"), std::invalid_argument);
}

// Issue 22 item 5: an endpoint refused shows no credentials, and no query (it may hold a token).
TEST(NormalizeApiUrl, ARefusedEndpointShowsNoCredentials) {
  for (const char* bad : {"http://admin:s3cretpw@127.0.0.1:1/hub/api?x=1", "http://admin:s3cretpw@127.0.0.1:1/hub/api#frag",
                          "ftp://admin:s3cretpw@127.0.0.1:1/hub/api", "admin:s3cretpw@127.0.0.1:1/hub/api",
                          "http://admin:s3cretpw@/hub/api", "http://127.0.0.1:1/hub/api?token=s3cretpw"}) {
    try {
      normalize_api_url(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find("s3cretpw"), std::string::npos) << what;
      EXPECT_EQ(what.rfind("endpoint '", 0), 0u) << what;
    }
  }
}

TEST(UrlEscape, EscapesPathCharacters) {
  EXPECT_EQ(hubstress::url_escape("hub-stress-test-1"), "hub-stress-test-1");
  EXPECT_EQ(hubstress::url_escape("a b/c@d"), "a%20b%2Fc%40d");
}

TEST(RootOfApiUrl, WhereHubAndUserPathsLive) {
  EXPECT_EQ(hubstress::root_of_api_url("https://hub.example.org/hub/api"), "https://hub.example.org");
  EXPECT_EQ(hubstress::root_of_api_url("https://x.org/prefix/hub/api"), "https://x.org/prefix");
  EXPECT_EQ(hubstress::root_of_api_url(hubstress::normalize_api_url("http://127.0.0.1:8000/")), "http://127.0.0.1:8000");
}

// Issue 23 item 10: an endpoint ending in /api that is not the hub's became .../api/hub/api and the
// run failed on an HTTP 302; it is refused with the URL to pass.
TEST(NormalizeApiUrl, AnEndpointEndingInApiThatIsNotTheHubsSaysWhatToPass) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"http://hub/api", "endpoint 'http://hub/api' ends in /api but the hub's API is .../hub/api: pass http://hub/hub/api "
                         "(or the hub's root URL, http://hub/)"},
      {"http://hub/api/", "pass http://hub/hub/api (or the hub's root URL, http://hub/)"},
      {"https://hub:8000/user/alice/api", "pass https://hub:8000/hub/api (or the hub's root URL, https://hub:8000/)"},
      {"https://hub/prefix/user/alice/api", "pass https://hub/prefix/hub/api (or the hub's root URL, https://hub/prefix)"},
      {"https://hub/prefix/api", "pass https://hub/prefix/hub/api"},
      {"https://admin:secret@hub/api", "pass https://***@hub/hub/api"},
  };
  for (const auto& [endpoint, expected] : cases) {
    try {
      normalize_api_url(endpoint);
      ADD_FAILURE() << "accepted " << endpoint;
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_EQ(message.find("secret"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
  // the hub's own API, its hub URL, a root under a prefix and a user named "api" are as before
  EXPECT_EQ(normalize_api_url("http://hub/hub/api/"), "http://hub/hub/api");
  EXPECT_EQ(normalize_api_url("http://hub/apis"), "http://hub/apis/hub/api");
  EXPECT_EQ(normalize_api_url("http://hub/prefix/hub"), "http://hub/prefix/hub/api");
}

// Issue 22 item 2: the purge guard compares hubs by where they lead, not by the URL's text.
TEST(SameHub, OneHubSpelledDifferently) {
  using hubstress::same_hub;
  const std::vector<std::string> spellings{
      "http://127.0.0.1:8765/hub/api", "http://localhost:8765/hub/api",  "http://LOCALHOST:8765/hub/api/",
      "http://127.0.0.1:8765/",        "http://127.0.0.1:8765",          "http://127.0.0.1:8765/hub/",
      "HTTP://127.0.0.1:8765//hub/api", "http://[::1]:8765/hub/api",     "http://***@127.0.0.1:8765/hub/api",
      "http://admin:pw@localhost:8765/hub/api"};
  for (const auto& a : spellings) {
    for (const auto& b : spellings) EXPECT_TRUE(same_hub(a, b)) << a << " and " << b;
  }
  // the scheme's default port, written or not
  EXPECT_TRUE(same_hub("http://127.0.0.1/hub/api", "http://localhost:80/hub/api"));
  EXPECT_TRUE(same_hub("https://localhost/x/hub/api", "https://127.0.0.1:443/x/"));
}

TEST(SameHub, AnotherPortPathOrHostIsAnotherHub) {
  using hubstress::same_hub;
  EXPECT_FALSE(same_hub("http://127.0.0.1:8765/hub/api", "http://127.0.0.1:8766/hub/api"));
  EXPECT_FALSE(same_hub("http://localhost/hub/api", "https://localhost/hub/api"));  // 80 and 443
  EXPECT_FALSE(same_hub("http://127.0.0.1:8765/a/hub/api", "http://127.0.0.1:8765/b/hub/api"));
  EXPECT_FALSE(same_hub("http://127.0.0.1:8765/hub/api", "http://192.0.2.7:8765/hub/api"));  // TEST-NET-1: not this machine
  EXPECT_FALSE(same_hub("http://127.0.0.1:8765/hub/api", "not a url"));
}

TEST(HubPlace, PortAndPathAsWritten) {
  // (no name here that only a DNS server knows: tests send nothing beyond this machine)
  const auto place = hubstress::hub_place("https://***@LocalHost:8443/prefix/hub/");
  EXPECT_EQ(place.host, "localhost");
  EXPECT_EQ(place.port, 8443);
  EXPECT_EQ(place.path, "/prefix/hub/api");
  EXPECT_EQ(hubstress::hub_place("http://[::1]/").host, "::1");
  EXPECT_EQ(hubstress::hub_place("http://[::1]/").port, 80);
  EXPECT_EQ(hubstress::hub_place("http://localhost:9/").addresses, std::set<std::string>{"local"});
  EXPECT_THROW(hubstress::hub_place("http://h:99999x/"), std::invalid_argument);
}
