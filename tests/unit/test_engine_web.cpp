// The engine's pure parts: event-stream parsing, cookie rules, URLs, form encoding.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/sse.hpp"
#include "hubstress/engine/web.hpp"

#include <gtest/gtest.h>

namespace engine = hubstress::engine;

TEST(SseParser, EventsEndAtABlankLineWhateverTheLineEndings) {
  engine::SseParser parser;
  auto events = parser.feed("data: {\"progress\": 10}\n\nevent: ready\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\r");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "message");
  EXPECT_EQ(events[0].data, "{\"progress\": 10}");
  EXPECT_EQ(events[1].type, "ready");
  EXPECT_EQ(events[1].data, "a\nb");
  EXPECT_EQ(events[2].data, "c");
}

TEST(SseParser, AnEventSplitAcrossChunksComesWhenItsBlankLineDoes) {
  engine::SseParser parser;
  EXPECT_TRUE(parser.feed("da").empty());
  EXPECT_TRUE(parser.feed("ta: one\r").empty());
  EXPECT_TRUE(parser.feed("\n").empty()); // the LF of a CRLF split over two chunks is not a blank line
  auto events = parser.feed("\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "one");
}

TEST(SseParser, CommentsIdsAndEventsWithoutDataAreHandledAsTheSpecSays) {
  engine::SseParser parser;
  auto events = parser.feed(": keep-alive\n\nid: 7\nevent: ping\n\ndata:no-space\nretry: 10\n\n");
  ASSERT_EQ(events.size(), 1u); // the comment and the data-less "ping" dispatch nothing
  EXPECT_EQ(events[0].data, "no-space");
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[0].type, "message"); // the type does not carry over to the next event
}

TEST(SplitUrl, SchemesPortsAndTargets) {
  auto u = engine::split_url("HTTP://Hub.Example.org/hub/api/users?x=1#frag");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "hub.example.org");
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/hub/api/users?x=1");
  EXPECT_EQ(u->path(), "/hub/api/users");
  auto w = engine::split_url("wss://[::1]:8443?q");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->port, "8443");
  EXPECT_EQ(w->target, "/?q");
  EXPECT_EQ(engine::split_url("https://h")->port, "443");
  EXPECT_FALSE(engine::split_url("ftp://h/x").has_value());
  EXPECT_FALSE(engine::split_url("/relative").has_value());
}

TEST(Cookies, ParsedFromLibcurlsCookieList) {
  auto c = engine::parse_cookie_line("#HttpOnly_.example.org\tTRUE\t/hub/\tTRUE\t1999999999\tjupyterhub-session-id\tabc");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->http_only);
  EXPECT_EQ(c->domain, "example.org");
  EXPECT_TRUE(c->include_subdomains);
  EXPECT_EQ(c->path, "/hub/");
  EXPECT_TRUE(c->secure);
  EXPECT_EQ(c->expires, 1999999999);
  EXPECT_EQ(c->name, "jupyterhub-session-id");
  EXPECT_EQ(c->value, "abc");
  EXPECT_FALSE(engine::parse_cookie_line("# Netscape HTTP Cookie File").has_value());
  EXPECT_FALSE(engine::parse_cookie_line("127.0.0.1\tFALSE\t/").has_value());
}

TEST(Cookies, SentWhereABrowserWouldSendThem) {
  const engine::CookieJar jar = {
      {"127.0.0.1", false, "/hub/", false, false, 0, "_xsrf", "hub"},
      {"127.0.0.1", false, "/user/alice/", false, false, 0, "_xsrf", "server"},
      {"127.0.0.1", false, "/user/alice", false, false, 0, "alice-only", "1"},
      {"127.0.0.1", false, "/", true, false, 0, "secure-only", "1"},
      {"127.0.0.1", false, "/", false, false, 100, "expired", "1"},
      {"example.org", true, "/", false, false, 0, "wide", "1"},
      {"example.org", false, "/", false, false, 0, "narrow", "1"},
  };
  auto names = [&](const std::string& url) {
    std::string out;
    for (const auto& c : engine::cookies_for(jar, url, 1000)) out += c.name + "=" + c.value + " ";
    return out;
  };
  // the most specific path first; the hub's _xsrf is not sent to the user's server
  EXPECT_EQ(names("ws://127.0.0.1:8000/user/alice/api/kernels/1/channels"), "_xsrf=server alice-only=1 ");
  EXPECT_EQ(names("http://127.0.0.1:8000/hub/login"), "_xsrf=hub ");
  EXPECT_EQ(names("http://127.0.0.1:8000/user/alicexyz/"), ""); // "/user/alice" is not a prefix at a '/'
  EXPECT_EQ(names("https://127.0.0.1/"), "secure-only=1 ");
  EXPECT_EQ(names("http://hub.example.org/"), "wide=1 ");
  EXPECT_EQ(names("http://example.org/"), "wide=1 narrow=1 ");
  EXPECT_EQ(names("http://badexample.org/"), "");
  EXPECT_EQ(engine::cookie_header(engine::cookies_for(jar, "http://example.org/", 1000)), "wide=1; narrow=1");
}

TEST(FormEncode, AsABrowserEncodesAForm) {
  EXPECT_EQ(engine::form_encode({{"username", "student 1"}, {"password", "p&ss=w%rd/é"}, {"_xsrf", "2|ab|cd|1"}}),
            "username=student+1&password=p%26ss%3Dw%25rd%2F%C3%A9&_xsrf=2%7Cab%7Ccd%7C1");
  EXPECT_EQ(engine::form_encode({}), "");
}

TEST(BodyInALine, AnHtmlPageIsItsTitleNeverThePage) {
  using hubstress::engine::body_in_a_line;
  EXPECT_EQ(body_in_a_line("<!DOCTYPE HTML>\n<html>\n<head><title>403 Forbidden</title></head><body><p>long page</p></body></html>"),
            "an HTML page titled '403 Forbidden'");
  EXPECT_EQ(body_in_a_line("  <html><body>no title</body></html>"), "an HTML page");
  EXPECT_EQ(body_in_a_line("{\"status\": 403,\n\"message\": \"Forbidden\"}"), "{\"status\": 403, \"message\": \"Forbidden\"}");
  const std::string long_text(400, 'x');
  EXPECT_EQ(body_in_a_line(long_text), std::string(300, 'x') + "...");
}
