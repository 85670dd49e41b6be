// The hub client without a network: its transport's responder answers, so retries, ordering,
// records, redaction and dry-run are checked exactly.
#include "hubstress/hub/client.hpp"
#include "hubstress/hub/session.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>

using namespace hubstress;

namespace {

// A hub that answers each request as the test says.
using Answers = std::function<engine::Answer(const engine::Request&)>;

// One run's context and one client on it, answered by `responder`.
struct Harness {
  explicit Harness(Answers responder, int max_retries = 4, std::string token = {}) {
    CallSettings s;
    s.retry.base_delay_s = 0.001;
    s.retry.max_delay_s = 0.01;
    s.retry.max_retries = max_retries;
    s.stand_in.http = std::move(responder);
    context.emplace(loop, s);
    client.emplace(*context, "http://hub.invalid/hub/api", std::move(token));
  }
  Response call(Request request) {
    Response out;
    loop.block_on([](HubClient& c, Request r, Response& o) -> Task<void> { o = co_await c.call(std::move(r)); }(*client, std::move(request), out));
    return out;
  }
  engine::Loop loop;
  std::optional<CallContext> context;
  std::optional<HubClient> client;
};

// A responder that gives every request the same answer.
Answers answering(long status, std::string body) {
  return [status, body](const engine::Request&) {
    engine::Answer r;
    r.status = status;
    r.body = body;
    return r;
  };
}

Task<void> collect(HubClient& c, std::vector<Request> requests, std::size_t window, std::vector<Response>& out,
                   std::function<void(std::size_t, const Response&)> each = {}) {
  out = co_await c.call_all(std::move(requests), window, std::move(each));
}

} // namespace

TEST(Engine, RetriesUntilSuccessAndCounts) {
  int calls = 0;
  Harness h([&](const engine::Request&) {
    engine::Answer r;
    r.status = ++calls < 3 ? 503 : 200;
    return r;
  });
  const Response answer = h.call(Request{});
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.retries, 2);
  EXPECT_EQ(h.context->retries(), 2);
  EXPECT_EQ(calls, 3);
}

TEST(Engine, RetriesAreBounded) {
  int calls = 0;
  Harness h(
      [&](const engine::Request&) {
        ++calls;
        engine::Answer r;
        r.errc = engine::Errc::connect_failed;
        r.reason = "refused";
        return r;
      },
      3);
  const Response answer = h.call(Request{});
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(answer.outcome, Outcome::connect_failed);
  EXPECT_EQ(answer.retries, 3);
}

TEST(Engine, NoRetryWhenTheCallerHandlesIt) {
  int calls = 0;
  Harness h([&](const engine::Request&) {
    ++calls;
    engine::Answer r;
    r.status = 429;
    return r;
  });
  Request req;
  req.retry = false;
  const Response answer = h.call(req);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(answer.status, 429);
}

namespace {

// Three requests to /a, /b and /c, of which "/b" is answered 503 once and retried, so it finishes last.
Answers b_retried() {
  return [](const engine::Request& req) {
    engine::Answer r;
    r.status = req.url == "/b" ? 503 : 200;
    r.body = req.url;
    return r;
  };
}
std::vector<Request> requests_abc() {
  std::vector<Request> reqs(3);
  reqs[0].path = "/a";
  reqs[1].path = "/b";
  reqs[2].path = "/c";
  return reqs;
}

} // namespace

TEST(Engine, RunAllKeepsInputOrder) {
  Harness h(b_retried(), 1);
  std::vector<Response> answers;
  h.loop.block_on(collect(*h.client, requests_abc(), 2, answers));
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].body, "/a");
  EXPECT_EQ(answers[1].body, "/b");
  EXPECT_EQ(answers[1].retries, 1);
  EXPECT_EQ(answers[2].body, "/c");
}

TEST(Engine, RunAllTellsEachAnswerAsItArrives) {
  Harness h(b_retried(), 1);
  std::vector<std::string> heard;
  std::vector<Response> answers;
  h.loop.block_on(collect(*h.client, requests_abc(), 3, answers,
                          [&](std::size_t i, const Response& r) { heard.push_back(std::to_string(i) + r.body); }));
  EXPECT_EQ(heard, (std::vector<std::string>{"0/a", "2/c", "1/b"}));  // in the order they were answered
}

TEST(Engine, AnInterruptEndsARetryWaitAtOnce) {
  int calls = 0;
  Harness h([&](const engine::Request&) {
    ++calls;
    engine::Answer r;
    r.status = 503;
    r.headers = "Retry-After: 3600\r\n";  // a wait nobody sits out: the interrupt ends it
    return r;
  });
  h.context->interrupt();
  const Response answer = h.call(Request{});
  EXPECT_EQ(answer.outcome, Outcome::interrupted);
  EXPECT_EQ(calls, 0);  // never sent: the run was interrupted before
  Request cleanup;
  cleanup.interruptible = false;  // a clean-up request goes on after a first signal
  cleanup.retry = false;
  EXPECT_EQ(h.call(cleanup).status, 503);
  EXPECT_EQ(calls, 1);
}

TEST(Engine, EveryAnswerIsARecordWithItsKindAndSecretsAreHidden) {
  // a hub (or a proxy) that echoes what it was sent: the student's token, the admin's, a password
  Harness h([](const engine::Request& r) {
    engine::Answer a;
    a.status = 200;
    a.body = "echo " + r.body;
    return a;
  }, 4, "student-token-123");
  h.context->add_secret("admin-token-456");
  h.context->add_secret("hunter2-password");
  h.context->add_secret("abc");  // too short to hide: it would blank ordinary text
  Request r;
  r.kind = ApiKind::start_kernel;
  r.method = "POST";
  r.route = "/user/{name}/api/kernels";
  r.body = "student-token-123 admin-token-456 hunter2-password abc";
  const Response answer = h.call(r);
  EXPECT_EQ(answer.body, "echo *** *** *** abc");
  ASSERT_EQ(h.context->records().size(), 1u);
  EXPECT_EQ(h.context->records()[0].kind, ApiKind::start_kernel);
  EXPECT_EQ(h.context->records()[0].route, "/user/{name}/api/kernels");
  EXPECT_EQ(h.context->redact("a student-token-123 reason"), "a *** reason");
}

TEST(DryRun, AnswersLikeAHubThatAgrees) {
  const engine::Responder hub = dry_run_hub("printed");
  const engine::Answer created = hub.http(engine::Request::post_json("/users", R"({"usernames": ["hub-stress-test-1", "hub-stress-test-2"]})"));
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(nlohmann::json::parse(created.body).size(), 2u);

  EXPECT_TRUE(nlohmann::json::parse(hub.http(engine::Request::get("/users?offset=0&limit=200")).body)["items"].empty());
  EXPECT_EQ(hub.http(engine::Request::del("/users/x/server")).status, 204);

  // its kernel: a kernel_info_reply, then for a cell busy, the printed output, an ok reply, idle
  const auto info = hub.ws("ws://h/k", R"({"header": {"msg_id": "i1", "msg_type": "kernel_info_request"}})");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(info[0])["header"]["msg_type"], "kernel_info_reply");
  const auto cell = hub.ws("ws://h/k", R"({"header": {"msg_id": "e1", "msg_type": "execute_request"}})");
  ASSERT_EQ(cell.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(cell[1])["content"]["text"], "printed");
  EXPECT_EQ(nlohmann::json::parse(cell[2])["parent_header"]["msg_id"], "e1");
}

TEST(Session, DryRunRecordsEveryCallAndSendsNothing) {
  SessionOptions o;
  o.endpoint = "http://127.0.0.1:9";  // discard port: nothing listens, nothing must be sent
  o.token = "secret";
  o.dry_run = true;
  Session session(o);
  EXPECT_EQ(session.endpoint(), "http://127.0.0.1:9/hub/api");
  EXPECT_EQ(session.hub_version(), "dry-run");
  const Response r = session.call(session.request("DELETE", "/users/a", "/users/{name}"));
  EXPECT_EQ(r.status, 204);
  ASSERT_EQ(session.records().size(), 2u);
  EXPECT_EQ(session.records()[1].route, "/users/{name}");
  EXPECT_EQ(session.records()[1].method, "DELETE");
}

TEST(Engine, TheDefaultPolicyRetriesFourTimes) {
  int calls = 0;
  CallSettings s;  // the default policy, only with short waits
  s.retry.base_delay_s = 0.001;
  s.retry.max_delay_s = 0.01;
  s.stand_in.http = [&](const engine::Request&) {
    ++calls;
    engine::Answer r;
    r.status = 503;
    return r;
  };
  engine::Loop loop;
  CallContext context(loop, s);
  HubClient client(context, "http://hub.invalid/hub/api");
  Response answer;
  loop.block_on([](HubClient& c, Response& o) -> Task<void> {
    Request plain;  // named: a braced temporary inside co_await is destroyed twice by GCC 12
    o = co_await c.call(std::move(plain));
  }(client, answer));
  EXPECT_EQ(calls, 5);  // README: at most 4 retries
  EXPECT_EQ(answer.retries, 4);
  EXPECT_EQ(answer.status, 503);
}

TEST(Engine, AStreamHandsOverEachEventInOrderAndIsRecordedOnce) {
  Harness h(answering(200, "data: one\n\n: a comment\n\nevent: progress\ndata: two\n\ndata: three\n\ndata: four\n\n"));
  std::vector<std::string> seen;
  Request req;
  req.kind = ApiKind::progress;
  req.timeout = std::chrono::seconds(5);
  h.loop.block_on([](HubClient& c, Request r, std::vector<std::string>& out) -> Task<void> {
    HubStream stream = co_await c.stream(std::move(r));
    EXPECT_TRUE(stream.ok()) << stream.head().describe();
    for (;;) {
      auto next = co_await stream.next(std::chrono::seconds(1));
      if (!next) break;
      out.push_back(next.event.type + ":" + next.event.data);
      if (next.event.data == "three") break;  // close after the third
    }
  }(*h.client, req, seen));
  EXPECT_EQ(seen, (std::vector<std::string>{"message:one", "progress:two", "message:three"}));
  ASSERT_EQ(h.context->records().size(), 1u);
  EXPECT_EQ(h.context->records()[0].kind, ApiKind::progress);
  EXPECT_EQ(h.context->records()[0].status, 200);
}

TEST(Session, EachCallCarriesTheKindItWasBuiltWith) {
  SessionOptions so;
  so.endpoint = "http://hub.invalid";
  so.stand_in.http = answering(200, "{}");
  Session session(so);
  // a path that would classify as something else: the kind is what the caller said
  session.call(session.request(ApiKind::progress, "/users/alice"));
  session.call(session.request(ApiKind::create_users, "/users", "{\"usernames\": []}"));
  session.call(session.request("GET", "/user", "/user"));
  ASSERT_EQ(session.records().size(), 3u);
  EXPECT_EQ(session.records()[0].kind, ApiKind::progress);
  EXPECT_EQ(session.records()[0].method, "GET");
  EXPECT_EQ(session.records()[0].route, "/users/{name}/server/progress");
  EXPECT_EQ(session.records()[1].kind, ApiKind::create_users);
  EXPECT_EQ(session.records()[1].method, "POST");
  EXPECT_EQ(session.records()[1].route, "/users");
  EXPECT_EQ(session.records()[2].kind, ApiKind::other);
  EXPECT_EQ(session.records()[2].route, "/user");
}
