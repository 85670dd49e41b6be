#include "records.hpp"
#include "hubstress/report/report.hpp"
#include "hubstress/report/summary.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

using namespace hubstress;

namespace {

RequestRecord rec(std::string method, std::string route, long status, double latency_s, int retries = 0,
                  Outcome outcome = Outcome::ok, double start_s = 0) {
  return make_record(std::move(method), std::move(route), status, latency_s, start_s, retries, outcome);
}

SpawnRecord spawn(std::string user, SpawnState state, double requested_at_s, double ready_after_s, std::string reason = {}) {
  SpawnRecord s;
  s.user = std::move(user);
  s.state = state;
  s.requested_at_s = requested_at_s;
  s.ready_after_s = ready_after_s;
  s.reason = std::move(reason);
  return s;
}

const ApiStats* find_kind(const Summary& s, const std::string& kind) {
  for (const auto& a : s.api) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

} // namespace

TEST(Classify, EveryKindFromRouteTemplates) {
  EXPECT_EQ(classify_request("GET", "/"), ApiKind::version);
  EXPECT_EQ(classify_request("GET", "/users"), ApiKind::list_users);
  EXPECT_EQ(classify_request("POST", "/users"), ApiKind::create_users);
  EXPECT_EQ(classify_request("GET", "/users/{name}"), ApiKind::get_user);
  EXPECT_EQ(classify_request("POST", "/users/{name}/server"), ApiKind::start_server);
  EXPECT_EQ(classify_request("GET", "/users/{name}/server/progress"), ApiKind::progress);
  EXPECT_EQ(classify_request("DELETE", "/users/{name}/server"), ApiKind::stop_server);
  EXPECT_EQ(classify_request("DELETE", "/users/{name}"), ApiKind::delete_user);
  EXPECT_EQ(classify_request("POST", "/users/{name}/activity"), ApiKind::activity);
  EXPECT_EQ(classify_request("GET", "/hub/metrics"), ApiKind::metrics);
}

TEST(Classify, ConcretePathsQueriesAndPrefixes) {
  EXPECT_EQ(classify_request("GET", ""), ApiKind::version);
  EXPECT_EQ(classify_request("GET", "/users?offset=0&limit=200"), ApiKind::list_users);
  EXPECT_EQ(classify_request("post", "/users/hub-stress-test-7/server"), ApiKind::start_server);
  EXPECT_EQ(classify_request("DELETE", "/users/alice/"), ApiKind::delete_user);
  EXPECT_EQ(classify_request("GET", "/hub/api/users/alice/server/progress"), ApiKind::progress);
  EXPECT_EQ(classify_request("GET", "http://127.0.0.1:8081/hub/metrics"), ApiKind::metrics);
  EXPECT_EQ(classify_request("GET", "https://hub.example.org/hub/api/"), ApiKind::version);
}

TEST(Classify, EverythingElseIsOther) {
  EXPECT_EQ(classify_request("PUT", "/users"), ApiKind::other);
  EXPECT_EQ(classify_request("POST", "/"), ApiKind::other);
  EXPECT_EQ(classify_request("GET", "/users/{name}/server"), ApiKind::other);
  EXPECT_EQ(classify_request("GET", "/groups"), ApiKind::other);
  EXPECT_EQ(classify_request("GET", "/users/a/b/c/d/e"), ApiKind::other);
  EXPECT_EQ(classify_request("POST", "/hub/metrics"), ApiKind::other);
  EXPECT_STREQ(to_string(ApiKind::start_server), "start server");
  EXPECT_STREQ(to_string(ApiKind::list_users), "list users");
}

TEST(BuildSummary, PerKindStatsFromRecords) {
  const std::vector<RequestRecord> records{
      rec("GET", "/", 200, 0.010),
      rec("POST", "/users/{name}/server", 201, 0.5),
      rec("POST", "/users/{name}/server", 202, 1.0, 1),
      rec("POST", "/users/{name}/server", 429, 0.2),
      rec("POST", "/users/{name}/server", 500, 3.0, 2),
      rec("POST", "/users/{name}/server", 0, 30.0, 3, Outcome::timeout),
      rec("DELETE", "/users/{name}", 204, 0.1),
      rec("DELETE", "/users/{name}", 404, 0.3),
  };
  SummaryInputs in;
  in.records = &records;
  const Summary s = build_summary(in);

  ASSERT_EQ(s.api.size(), 3u);  // version, start server, delete user: in ApiKind order
  EXPECT_EQ(s.api[0].kind, "version");
  EXPECT_EQ(s.api[1].kind, "start server");
  EXPECT_EQ(s.api[2].kind, "delete user");

  const ApiStats* start = find_kind(s, "start server");
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->count, 5u);
  EXPECT_EQ(start->errors, 3u);
  EXPECT_EQ(start->retries, 6u);
  const std::map<std::string, std::size_t> expected{{"429", 1}, {"500", 1}, {"timeout", 1}};
  EXPECT_EQ(start->errors_by_status, expected);
  // the timeout had no answer: its 30 s are not a latency
  EXPECT_EQ(start->latency_s.count, 4u);
  EXPECT_DOUBLE_EQ(start->latency_s.min, 0.2);
  EXPECT_DOUBLE_EQ(start->latency_s.p50, 0.5);
  EXPECT_DOUBLE_EQ(start->latency_s.max, 3.0);
  EXPECT_DOUBLE_EQ(start->latency_s.p99, 3.0);

  const ApiStats* del = find_kind(s, "delete user");
  ASSERT_NE(del, nullptr);
  EXPECT_EQ(del->errors, 1u);
  EXPECT_EQ(del->errors_by_status.at("404"), 1u);

  EXPECT_EQ(s.api_all.kind, "all");
  EXPECT_EQ(s.api_all.count, 8u);
  EXPECT_EQ(s.api_all.errors, 4u);
  EXPECT_EQ(s.api_all.retries, 6u);
  EXPECT_EQ(s.api_all.latency_s.count, 7u);
  EXPECT_DOUBLE_EQ(s.api_all.latency_s.max, 3.0);
  EXPECT_EQ(s.throttle.answers_429, 1u);
  EXPECT_FALSE(s.spawn.has_value());
  EXPECT_FALSE(s.activity.has_value());
  EXPECT_FALSE(s.hub.has_value());
}

TEST(BuildSummary, LatencyOverTimeBucketsBySecond) {
  const std::vector<RequestRecord> records{
      rec("GET", "/", 200, 0.1, 0, Outcome::ok, 0.2),   rec("GET", "/", 200, 0.3, 0, Outcome::ok, 0.9),
      rec("GET", "/", 503, 0.5, 0, Outcome::ok, 2.5),   rec("GET", "/", 0, 9.0, 0, Outcome::connect_failed, 2.7),
  };
  SummaryInputs in;
  in.records = &records;
  const Summary s = build_summary(in);
  ASSERT_EQ(s.latency_over_time.size(), 2u);
  EXPECT_EQ(s.latency_over_time[0].t_s, 0);
  EXPECT_EQ(s.latency_over_time[0].count, 2u);
  EXPECT_EQ(s.latency_over_time[0].errors, 0u);
  EXPECT_DOUBLE_EQ(s.latency_over_time[0].p95_s, 0.3);
  EXPECT_EQ(s.latency_over_time[1].t_s, 2);
  EXPECT_EQ(s.latency_over_time[1].count, 2u);
  EXPECT_EQ(s.latency_over_time[1].errors, 2u);
  EXPECT_DOUBLE_EQ(s.latency_over_time[1].p95_s, 0.5);  // the connect failure has no latency
  EXPECT_EQ(s.api_all.errors_by_status.at("connection failed"), 1u);
}

TEST(Histogram, BucketEdgesAreInclusiveUpperBounds) {
  Histogram h = make_spawn_histogram();
  ASSERT_EQ(h.upper_bounds_s.size(), 10u);
  ASSERT_EQ(h.counts.size(), 11u);
  h.add(0.5);    // <= 0.5
  h.add(0.51);   // <= 1
  h.add(4.0);    // <= 5
  h.add(300.0);  // <= 300
  h.add(301.0);  // +inf
  h.add(std::nan(""));
  EXPECT_EQ(h.counts[0], 1u);
  EXPECT_EQ(h.counts[1], 1u);
  EXPECT_EQ(h.counts[3], 1u);
  EXPECT_EQ(h.counts[9], 1u);
  EXPECT_EQ(h.counts[10], 1u);
  EXPECT_EQ(h.total(), 5u);
}

TEST(Histogram, MergeAddsBucketWise) {
  Histogram a = make_spawn_histogram();
  Histogram b = make_spawn_histogram();
  a.add(0.1);
  a.add(7);
  b.add(0.2);
  b.add(500);
  b.add(15);
  const Histogram m = merge(a, b);
  EXPECT_EQ(m.upper_bounds_s, spawn_histogram_bounds());
  EXPECT_EQ(m.total(), 5u);
  EXPECT_EQ(m.counts[0], 2u);
  EXPECT_EQ(m.counts[4], 1u);   // 7 s: <= 10
  EXPECT_EQ(m.counts[5], 1u);   // 15 s: <= 20
  EXPECT_EQ(m.counts[10], 1u);  // 500 s: +inf
  // merging is symmetric and an empty histogram is neutral
  EXPECT_EQ(merge(b, a).counts, m.counts);
  EXPECT_EQ(merge(m, make_spawn_histogram()).counts, m.counts);
  // the inputs are untouched
  EXPECT_EQ(a.total(), 2u);
  EXPECT_EQ(b.total(), 3u);
}

TEST(Histogram, MergeRefusesDifferentEdgesAndBadEdgesAreRejected) {
  Histogram a = make_spawn_histogram();
  Histogram b = make_histogram({1, 2, 3});
  EXPECT_THROW(merge(a, b), std::invalid_argument);
  EXPECT_THROW(make_histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(make_histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(make_histogram({1, INFINITY}), std::invalid_argument);
  Histogram none = make_histogram({});
  none.add(3);
  EXPECT_EQ(none.counts.size(), 1u);
  EXPECT_EQ(none.total(), 1u);
}

TEST(BuildSummary, SpawnPhaseFailuresGroupedByReason) {
  StressResult stress;
  stress.phases = {{"find", 0.1}, {"create", 0.2}, {"spawn", 9.0}, {"delete", 1.0}};
  stress.spawns = {
      spawn("u-1", SpawnState::ready, 0.0, 4.0),
      spawn("u-2", SpawnState::failed, 0.1, -1, "Spawner failed for u-2: out of memory"),
      spawn("u-3", SpawnState::ready, 0.2, 1.0),
      spawn("u-4", SpawnState::failed, 0.3, -1, "Spawner failed for u-4: out of memory"),
      spawn("u-5", SpawnState::timed_out, 0.4, -1, "not ready within 300 s"),
      spawn("u-6", SpawnState::failed, 0.5, -1, "Spawner failed for u-6: out of memory"),
      spawn("u-7", SpawnState::failed, 0.6, -1, "Spawner failed for u-7: out of memory"),
      spawn("u-8", SpawnState::not_started, -1, -1),
  };
  stress.spawn_stats.throttled = 3;
  stress.spawn_stats.throttled_s = 12.5;
  stress.spawn_stats.smallest_window = 2;
  SummaryInputs in;
  in.stress = &stress;
  const Summary s = build_summary(in);

  ASSERT_TRUE(s.spawn.has_value());
  const SpawnSummary& sp = *s.spawn;
  EXPECT_EQ(sp.servers, 8u);
  EXPECT_EQ(sp.ready, 2u);
  EXPECT_EQ(sp.failed, 4u);
  EXPECT_EQ(sp.timed_out, 1u);
  EXPECT_EQ(sp.unfinished, 1u);
  EXPECT_DOUBLE_EQ(sp.ready_rate_pct, 25.0);
  EXPECT_DOUBLE_EQ(sp.failure_rate_pct, 75.0);
  EXPECT_EQ(sp.ready_s.count, 2u);
  EXPECT_DOUBLE_EQ(sp.ready_s.max, 4.0);
  EXPECT_EQ(sp.histogram.total(), 2u);

  ASSERT_EQ(sp.failures.size(), 3u);
  EXPECT_EQ(sp.failures[0].reason, "Spawner failed for {user}: out of memory");
  EXPECT_EQ(sp.failures[0].count, 4u);
  const std::vector<std::string> examples{"u-2", "u-4", "u-6"};  // at most 3, in start order
  EXPECT_EQ(sp.failures[0].examples, examples);
  EXPECT_EQ(sp.failures[1].reason, "not ready within 300 s");
  EXPECT_EQ(sp.failures[1].count, 1u);
  EXPECT_EQ(sp.failures[2].reason, "not started");  // no reason given: the state
  EXPECT_EQ(sp.failures[2].examples, std::vector<std::string>{"u-8"});

  // ready over time: sorted by requested_at + ready_after, cumulative
  ASSERT_EQ(sp.ready_over_time.size(), 2u);
  EXPECT_DOUBLE_EQ(sp.ready_over_time[0].t_s, 1.2);
  EXPECT_EQ(sp.ready_over_time[0].ready, 1u);
  EXPECT_DOUBLE_EQ(sp.ready_over_time[1].t_s, 4.0);
  EXPECT_EQ(sp.ready_over_time[1].ready, 2u);

  EXPECT_EQ(s.phases.size(), 4u);
  EXPECT_EQ(s.throttle.start_429, 3);
  EXPECT_DOUBLE_EQ(s.throttle.throttled_s, 12.5);
  EXPECT_EQ(s.throttle.smallest_window, 2);
}

TEST(BuildSummary, NoServersMeansNoRates) {
  StressResult stress;
  SummaryInputs in;
  in.stress = &stress;
  const Summary s = build_summary(in);
  ASSERT_TRUE(s.spawn.has_value());
  EXPECT_EQ(s.spawn->servers, 0u);
  EXPECT_DOUBLE_EQ(s.spawn->ready_rate_pct, 0);
  EXPECT_DOUBLE_EQ(s.spawn->failure_rate_pct, 0);
  EXPECT_TRUE(s.spawn->failures.empty());
}

TEST(BuildSummary, MetaFieldsAndEndpointWithoutCredentials) {
  SummaryInputs in;
  in.command = "stress-test";
  in.endpoint = "https://admin:s3cret@hub.example.org/hub/api?token=abc#x";
  in.hub_version = "3.0.0";
  in.started_at = "2026-11-26T18:27:34.291000Z";
  in.duration_s = 8.75;
  const Summary s = build_summary(in);
  EXPECT_EQ(s.command, "stress-test");
  EXPECT_EQ(s.endpoint, "https://hub.example.org/hub/api");
  EXPECT_EQ(s.hub_version, "3.0.0");
  EXPECT_EQ(s.started_at, "2026-11-26T18:27:34.291000Z");
  EXPECT_DOUBLE_EQ(s.duration_s, 8.75);
  EXPECT_EQ(s.api_all.kind, "all");
  EXPECT_EQ(s.api_all.count, 0u);

  in.endpoint = "http://127.0.0.1:8081/hub/api";
  EXPECT_EQ(build_summary(in).endpoint, "http://127.0.0.1:8081/hub/api");
}

TEST(BuildSummary, Activity) {
  ActivityResult a;
  a.used = {"u-1", "u-2", "u-3"};
  a.post_s = {0.1, 0.2, 0.3, 0.4};
  a.ping_s = {0.05};
  a.post_errors = 2;
  a.ping_errors = 1;
  a.workers = 3;
  SummaryInputs in;
  in.activity = &a;
  const Summary s = build_summary(in);
  ASSERT_TRUE(s.activity.has_value());
  EXPECT_EQ(s.activity->users, 3u);
  EXPECT_EQ(s.activity->workers, 3);
  EXPECT_EQ(s.activity->post_s.count, 4u);
  EXPECT_DOUBLE_EQ(s.activity->post_s.p50, 0.2);
  EXPECT_DOUBLE_EQ(s.activity->post_s.max, 0.4);
  EXPECT_EQ(s.activity->ping_s.count, 1u);
  EXPECT_EQ(s.activity->post_errors, 2);
  EXPECT_EQ(s.activity->ping_errors, 1);
}

TEST(BuildSummary, HubSeriesCpuRestartsAndMeans) {
  std::vector<HubSample> samples(4);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i].t_s = static_cast<double>(i) * 10;
    samples[i].start_time_s = 1000;
    samples[i].resident_memory_bytes = 100e6 + static_cast<double>(i) * 10e6;
    samples[i].request_count = 10.0 * static_cast<double>(i);
    samples[i].request_duration_sum_s = 0.5 * static_cast<double>(i);
  }
  samples[0].cpu_seconds_total = 1.0;
  samples[1].cpu_seconds_total = 6.0;   // 5 CPU s in 10 s: 50 %
  samples[2].cpu_seconds_total = 16.0;  // 100 %
  samples[3].cpu_seconds_total = 18.0;  // 20 %
  std::swap(samples[0], samples[3]);    // any order in
  SummaryInputs in;
  in.hub_samples = &samples;
  Summary s = build_summary(in);
  ASSERT_TRUE(s.hub.has_value());
  ASSERT_EQ(s.hub->series.size(), 4u);
  EXPECT_FALSE(s.hub->series[0].cpu_pct.has_value());
  EXPECT_DOUBLE_EQ(*s.hub->series[1].cpu_pct, 50.0);
  EXPECT_DOUBLE_EQ(*s.hub->series[2].cpu_pct, 100.0);
  EXPECT_DOUBLE_EQ(*s.hub->series[3].cpu_pct, 20.0);
  EXPECT_DOUBLE_EQ(*s.hub->peak_cpu_pct, 100.0);
  EXPECT_DOUBLE_EQ(*s.hub->peak_memory_bytes, 130e6);
  EXPECT_EQ(s.hub->restarts, 0);
  EXPECT_DOUBLE_EQ(*s.hub->request_mean_s, 0.05);
  EXPECT_FALSE(s.hub->spawn_mean_s.has_value());

  // a restart: no CPU across it, no means over the run
  samples[1].start_time_s = 2000;
  samples[2].start_time_s = 2000;
  samples[0].start_time_s = 2000;  // (the t=30 sample, swapped above)
  s = build_summary(in);
  EXPECT_EQ(s.hub->restarts, 1);
  EXPECT_FALSE(s.hub->series[1].cpu_pct.has_value());
  EXPECT_FALSE(s.hub->request_mean_s.has_value());

  const std::vector<HubSample> none;
  in.hub_samples = &none;
  EXPECT_FALSE(build_summary(in).hub.has_value());
}

TEST(ApiKinds, EachKindsMethodAndRouteClassifyBackToIt) {
  // two definitions written apart (the table of kinds and the route classifier) agree
  for (std::size_t k = 0; k < kApiKindCount; ++k) {
    const auto kind = static_cast<ApiKind>(k);
    if (kind == ApiKind::other) {
      EXPECT_STREQ(method_of(kind), "");
      continue;
    }
    EXPECT_EQ(classify_request(method_of(kind), route_of(kind)), kind) << to_string(kind);
  }
}

TEST(SummarySpawns, PendingServersRiseAtEachStartRequestAndFallWhenTheSpawnEnds) {
  StressResult stress;
  auto add = [&](double requested, double ended, SpawnState state) {
    SpawnRecord s;
    s.user = "u-" + std::to_string(stress.spawns.size());
    s.state = state;
    s.requested_at_s = requested;
    s.ended_at_s = ended;
    if (state == SpawnState::ready) s.ready_after_s = ended - requested;
    stress.spawns.push_back(s);
  };
  add(0, 3, SpawnState::ready);
  add(1, 2, SpawnState::failed);
  add(1.5, -1, SpawnState::requested);  // still pending when the run ended
  SummaryInputs in;
  in.stress = &stress;
  const auto pending = build_summary(in).spawn->pending_over_time;
  std::vector<std::pair<double, std::size_t>> got;
  for (const auto& p : pending) got.emplace_back(p.t_s, p.ready);
  EXPECT_EQ(got, (std::vector<std::pair<double, std::size_t>>{{0, 1}, {1, 2}, {1.5, 3}, {2, 2}, {3, 1}}));
}

TEST(Summary, AKernelWebSocketsHandshakeIsNoErrorButAFailedOneIs) {
  RequestRecord upgraded;
  upgraded.kind = ApiKind::kernel_socket;
  upgraded.status = 101;
  EXPECT_FALSE(is_error(upgraded));
  RequestRecord refused = upgraded;
  refused.status = 403;
  EXPECT_TRUE(is_error(refused));
  RequestRecord cut = upgraded;
  cut.outcome = Outcome::transport_failed;
  EXPECT_TRUE(is_error(cut));
  RequestRecord informational;
  informational.status = 100;
  EXPECT_TRUE(is_error(informational));
}

TEST(BuildSummary, StressAndActivityStateTheirRates) {
  StressResult stress;
  stress.phases = {{"find", 0.1}, {"create", 0.2}, {"spawn", 30.0}, {"delete", 1.0}};
  for (int i = 0; i < 6; ++i) stress.spawns.push_back(spawn("u-" + std::to_string(i), SpawnState::ready, i, 2.0));
  SummaryInputs in;
  in.stress = &stress;
  Summary s = build_summary(in);
  ASSERT_TRUE(s.spawn);
  EXPECT_DOUBLE_EQ(s.spawn->ready_per_min, 12.0);  // 6 in 30 s
  EXPECT_NE(render_terminal(s).find("; 12.0 ready a minute"), std::string::npos) << render_terminal(s);
  EXPECT_NE(render_html(s).find("; 12.0 ready a minute"), std::string::npos);
  EXPECT_DOUBLE_EQ(to_json(s)["spawn"]["ready_per_min"].get<double>(), 12.0);

  ActivityResult a;
  a.used = {"u-1"};
  a.post_s = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
  std::vector<RequestRecord> records;
  for (int i = 0; i < 8; ++i) {
    RequestRecord r;
    r.kind = ApiKind::activity;
    r.status = 200;
    r.start_s = 10.0 + i * 0.5;  // from 10 s to 13.6 s: 8 in 3.6 s
    r.total_s = 0.1;
    records.push_back(r);
  }
  SummaryInputs ai;
  ai.activity = &a;
  ai.records = &records;
  s = build_summary(ai);
  ASSERT_TRUE(s.activity);
  EXPECT_NEAR(s.activity->updates_per_s, 8 / 3.6, 1e-9);
  EXPECT_NE(render_terminal(s).find("; 2.2 updates a second"), std::string::npos) << render_terminal(s);
  EXPECT_NEAR(to_json(s)["activity"]["updates_per_s"].get<double>(), 8 / 3.6, 1e-9);
  EXPECT_NE(render_html(s).find("; 2.2 updates a second"), std::string::npos);
}
