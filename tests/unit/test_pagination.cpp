#include "hubstress/hub/errors.hpp"
#include "hubstress/hub/users.hpp"

#include <gtest/gtest.h>

using namespace hubstress;
using nlohmann::json;

TEST(UserPage, PaginatedReplyWithNext) {
  const auto body = json::parse(R"({"items": [{"name": "a"}, {"name": "b"}],
    "_pagination": {"offset": 0, "limit": 2, "total": 5,
                    "next": {"offset": 2, "limit": 2, "url": "http://internal:8081/hub/api/users?offset=2&limit=2"}}})");
  const UserPage page = parse_user_page(body);
  ASSERT_EQ(page.users.size(), 2u);
  EXPECT_EQ(page.users[1]["name"], "b");
  EXPECT_EQ(page.next_offset, 2);
  EXPECT_EQ(page.next_limit, 2);
  EXPECT_EQ(page.total, 5);
}

TEST(UserPage, LastPage) {
  const auto body = json::parse(R"({"items": [{"name": "a"}], "_pagination": {"offset": 4, "limit": 2, "total": 5, "next": null}})");
  EXPECT_FALSE(parse_user_page(body).next_offset.has_value());
}

TEST(UserPage, PlainListOfOldHubs) {
  const UserPage page = parse_user_page(json::parse(R"([{"name": "a"}, {"name": "b"}, {"name": "c"}])"));
  EXPECT_EQ(page.users.size(), 3u);
  EXPECT_FALSE(page.next_offset.has_value());
}

TEST(UserPage, UnexpectedShapesAreErrors) {
  EXPECT_THROW(parse_user_page(json::parse(R"({"status": 200})")), HubError);
  EXPECT_THROW(parse_user_page(json::parse(R"("users")")), HubError);
  EXPECT_THROW(parse_user_page(json::parse(R"({"items": [{"nom": "a"}]})")), HubError);
  EXPECT_THROW(parse_user_page(json::parse(R"({"items": [], "_pagination": {"next": {"limit": 2}}})")), HubError);
}

TEST(UserPage, PathUsesOurOwnEndpoint) {
  EXPECT_EQ(users_page_path(200, 200), "/users?offset=200&limit=200");
  EXPECT_EQ(users_page_path(0, 50, "state=active"), "/users?offset=0&limit=50&state=active");
}

TEST(ActiveServer, DefaultServerPresence) {
  EXPECT_TRUE(has_active_server(json::parse(R"({"name": "a", "servers": {"": {"ready": true}}})")));
  EXPECT_FALSE(has_active_server(json::parse(R"({"name": "a", "servers": {}})")));
  EXPECT_FALSE(has_active_server(json::parse(R"({"name": "a"})")));
}
