#include "hubstress/hub/url.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

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
