// The engine without a network: a responder answers, so retries, ordering and dry-run are checked exactly.
#include "hubstress/http.hpp"
#include "hubstress/session.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>

using namespace hubstress;

namespace {
EngineOptions fast_retry_options() {
  EngineOptions o;
  o.base_url = "http://hub.invalid/hub/api";
  o.retry.base_delay_s = 0.001;
  o.retry.max_delay_s = 0.01;
  return o;
}

// A responder that gives every request the same answer.
std::function<Response(const Request&)> answering(long status, std::string body) {
  return [status, body](const Request&) {
    Response r;
    r.status = status;
    r.body = body;
    return r;
  };
}
} // namespace

TEST(Engine, RetriesUntilSuccessAndCounts) {
  auto o = fast_retry_options();
  int calls = 0;
  o.responder = [&](const Request&) {
    Response r;
    r.status = ++calls < 3 ? 503 : 200;
    return r;
  };
  int retries_seen = 0;
  o.on_retry = [&](const Request&, const Response&, double) { ++retries_seen; };
  HttpEngine engine(o);
  Response answer;
  engine.submit(Request{}, [&](Response r) { answer = std::move(r); });
  engine.run();
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.retries, 2);
  EXPECT_EQ(retries_seen, 2);
  EXPECT_EQ(calls, 3);
}

TEST(Engine, RetriesAreBounded) {
  auto o = fast_retry_options();
  o.retry.max_retries = 3;
  int calls = 0;
  o.responder = [&](const Request&) {
    ++calls;
    Response r;
    r.outcome = Outcome::connect_failed;
    r.error = "refused";
    return r;
  };
  HttpEngine engine(o);
  Response answer;
  engine.submit(Request{}, [&](Response r) { answer = std::move(r); });
  engine.run();
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(answer.outcome, Outcome::connect_failed);
  EXPECT_EQ(answer.retries, 3);
}

TEST(Engine, NoRetryWhenTheCallerHandlesIt) {
  auto o = fast_retry_options();
  int calls = 0;
  o.responder = [&](const Request&) {
    ++calls;
    Response r;
    r.status = 429;
    return r;
  };
  HttpEngine engine(o);
  Request req;
  req.retry = false;
  Response answer;
  engine.submit(req, [&](Response r) { answer = std::move(r); });
  engine.run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(answer.status, 429);
}

namespace {

// Three requests to /a, /b and /c, of which "/b" is answered 503 once and retried, so it finishes last.
EngineOptions b_retried_options() {
  auto o = fast_retry_options();
  o.responder = [](const Request& req) {
    Response r;
    r.status = req.path == "/b" ? 503 : 200;
    r.body = req.path;
    return r;
  };
  o.retry.max_retries = 1;
  return o;
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
  HttpEngine engine(b_retried_options());
  const auto answers = engine.run_all(requests_abc(), 2);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].body, "/a");
  EXPECT_EQ(answers[1].body, "/b");
  EXPECT_EQ(answers[1].retries, 1);
  EXPECT_EQ(answers[2].body, "/c");
}

TEST(Engine, RunAllTellsEachAnswerAsItArrives) {
  HttpEngine engine(b_retried_options());
  std::vector<std::string> heard;
  engine.run_all(requests_abc(), 3, [&](std::size_t i, const Response& r) { heard.push_back(std::to_string(i) + r.body); });
  EXPECT_EQ(heard, (std::vector<std::string>{"0/a", "2/c", "1/b"}));  // in the order they were answered
}

TEST(Engine, TimersRunInOrder) {
  auto o = fast_retry_options();
  o.responder = [](const Request&) { return Response{}; };
  HttpEngine engine(o);
  std::vector<int> order;
  engine.after(0.02, [&] { order.push_back(2); });
  engine.after(0.0, [&] { order.push_back(1); });
  engine.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(DryRun, AnswersLikeAHubThatAgrees) {
  Request create;
  create.method = "POST";
  create.path = "/users";
  create.body = R"({"usernames": ["hub-stress-test-1", "hub-stress-test-2"]})";
  const Response created = dry_run_answer(create);
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(nlohmann::json::parse(created.body).size(), 2u);

  Request list;
  list.path = "/users?offset=0&limit=200";
  EXPECT_TRUE(nlohmann::json::parse(dry_run_answer(list).body)["items"].empty());

  Request stop;
  stop.method = "DELETE";
  stop.path = "/users/x/server";
  EXPECT_EQ(dry_run_answer(stop).status, 204);
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
  EngineOptions o;  // the default policy, only with short waits
  o.base_url = "http://hub.invalid/hub/api";
  o.retry.base_delay_s = 0.001;
  o.retry.max_delay_s = 0.01;
  int calls = 0;
  o.responder = [&](const Request&) {
    ++calls;
    Response r;
    r.status = 503;
    return r;
  };
  HttpEngine engine(o);
  Response answer;
  engine.submit(Request{}, [&](Response r) { answer = std::move(r); });
  engine.run();
  EXPECT_EQ(calls, 5);  // README: at most 4 retries
  EXPECT_EQ(answer.retries, 4);
  EXPECT_EQ(answer.status, 503);
}

TEST(Engine, AStreamHandsOverEachEventInOrderAndStopsWhenTold) {
  auto o = fast_retry_options();
  o.responder = answering(200, "data: one\n\n: a comment\n\nevent: progress\ndata: two\n\ndata: three\n\ndata: four\n\n");
  HttpEngine engine(o);
  std::vector<std::string> seen;
  Response end;
  Request req;
  req.timeout = std::chrono::seconds(5);
  engine.stream(
      req,
      [&](const engine::SseEvent& e) {
        seen.push_back(e.type + ":" + e.data);
        return e.data != "three";  // close after the third
      },
      [&](Response r) { end = std::move(r); });
  engine.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"message:one", "progress:two", "message:three"}));
  EXPECT_TRUE(end.ok()) << end.describe();
}

TEST(Engine, AnExceptionFromAStreamEventLeavesRunUntil) {
  auto o = fast_retry_options();
  o.responder = answering(200, "data: x\n\n");
  HttpEngine engine(o);
  bool done_called = false;
  engine.stream(
      Request{}, [](const engine::SseEvent&) -> bool { throw std::runtime_error("bad event"); },
      [&](Response) { done_called = true; });
  EXPECT_THROW(engine.run(), std::runtime_error);
  EXPECT_FALSE(done_called);
}

TEST(Session, EachCallCarriesTheKindItWasBuiltWith) {
  SessionOptions so;
  so.endpoint = "http://hub.invalid";
  so.responder = answering(200, "{}");
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
