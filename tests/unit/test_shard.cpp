// Shards: the share and the names of each, --start-at times, a shard's report read back, and the
// merge of several into the whole test (counts summed, percentiles from every sample together).
#include "hubstress/report/report.hpp"
#include "hubstress/scenarios/journey.hpp"
#include "hubstress/scenarios/shard.hpp"
#include "hubstress/model/capacity.hpp"

#include <fmt/format.h>

#include <gtest/gtest.h>

#include <set>

using namespace hubstress;
using nlohmann::json;

TEST(Shard, ParsesIndexOverCount) {
  const ShardSpec s = parse_shard("2/4");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(to_string(s), "2/4");
  EXPECT_THROW(parse_shard("4/4"), std::invalid_argument);   // the index counts from 0
  EXPECT_THROW(parse_shard("-1/4"), std::invalid_argument);
  EXPECT_THROW(parse_shard("1/0"), std::invalid_argument);
  EXPECT_THROW(parse_shard("1"), std::invalid_argument);
  EXPECT_THROW(parse_shard("a/4"), std::invalid_argument);
  EXPECT_THROW(parse_shard("1/4x"), std::invalid_argument);
  try {
    parse_shard("4/4");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("0 to 3"), std::string::npos) << e.what();
  }
}

TEST(Shard, IndexFromTheJob) {
  const ShardSpec s = shard_from_job_index(8, "5");
  EXPECT_EQ(s.index, 5);
  EXPECT_EQ(s.count, 8);
  EXPECT_THROW(shard_from_job_index(8, nullptr), std::invalid_argument);
  EXPECT_THROW(shard_from_job_index(8, "8"), std::invalid_argument);
  EXPECT_THROW(shard_from_job_index(8, "x"), std::invalid_argument);
  EXPECT_THROW(shard_from_job_index(0, "0"), std::invalid_argument);
}

TEST(Shard, SharesAddUpToTheWhole) {
  for (int total : {1, 7, 10, 100, 10001}) {
    for (int n : {1, 3, 4, 7}) {
      if (total < n) continue;
      int sum = 0, lo = total, hi = 0;
      for (int i = 0; i < n; ++i) {
        const int share = share_of(total, ShardSpec{i, n});
        sum += share;
        lo = std::min(lo, share);
        hi = std::max(hi, share);
      }
      EXPECT_EQ(sum, total) << total << " over " << n;
      EXPECT_LE(hi - lo, 1) << total << " over " << n;
    }
  }
}

TEST(Shard, ShardsNeverPickTheSameNameWhateverEachSawOnTheHub) {
  // each shard numbers after the highest it saw, and the shards saw different hubs (one listed
  // the users before another had created its own)
  std::set<std::string> all;
  const std::vector<std::vector<std::string>> seen{{}, {"hub-stress-test-3"}, {"hub-stress-test-9", "hub-stress-test-12"}, {"hub-stress-test-1"}};
  for (int i = 0; i < 4; ++i) {
    const auto names = next_user_names(seen[static_cast<std::size_t>(i)], 50, kDefaultPrefix, name_slot(ShardSpec{i, 4}));
    for (const auto& name : names) {
      EXPECT_TRUE(all.insert(name).second) << name << " taken twice";
      EXPECT_TRUE(is_stress_test_user(name)) << name;  // a plain purge still finds it
    }
  }
  EXPECT_EQ(all.size(), 200u);
}

TEST(Shard, NumbersOfOneSlot) {
  const NameSlot second_of_four = name_slot(ShardSpec{1, 4});
  EXPECT_EQ(next_number("0", second_of_four), "2");
  EXPECT_EQ(next_number("2", second_of_four), "6");
  EXPECT_EQ(next_number("7", second_of_four), "10");
  EXPECT_EQ(next_number("99999999999999999999", second_of_four), "100000000000000000002");  // past 64 bits
  EXPECT_TRUE(in_slot("10", second_of_four));
  EXPECT_FALSE(in_slot("11", second_of_four));
  EXPECT_EQ(next_number("41", NameSlot{}), "42");  // a plain run: every number, as the Python script
  EXPECT_EQ(number_mod("12345678901234567890123", 7), 3u);  // Python: 12345678901234567890123 % 7
  EXPECT_EQ(number_mod("12345678901234567890124", 7), 4u);
}

TEST(Shard, StartAtTimes) {
  const UtcTime t = parse_utc_time("2026-11-27T20:30:00Z");
  EXPECT_DOUBLE_EQ(unix_seconds(t), 1795811400.0);
  EXPECT_EQ(format_utc_time(t), "2026-11-27T20:30:00.000Z");
  EXPECT_EQ(parse_utc_time("2026-11-27 20:30:00"), t);
  EXPECT_EQ(parse_utc_time("2026-11-27T20:30:00+00:00"), t);
  EXPECT_EQ(format_utc_time(parse_utc_time("2026-11-27T20:30:00.25Z")), "2026-11-27T20:30:00.250Z");
  for (const char* bad : {"", "20:30", "2026-11-27", "2026-11-27T20:30:00+02:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-11-27T24:00:00Z", "tomorrow", "2026-11-27T20:30:00Zx", "2026-11-27T20:-1:00Z",
                          "2026-11-27T20:30:0x1p3Z", "2026-11-27T20:30:1e1Z", "2026-2-3T4:5:6", "2026-11-27T20:30:00.Z",
                          " 2026-11-27T20:30:00Z", "+2026-11-27T20:30:00Z"}) {
    EXPECT_THROW(parse_utc_time(bad), std::invalid_argument) << bad;
  }
}

namespace {

RequestRecord record(ApiKind kind, long status, double start_s, double latency_s) {
  RequestRecord r;
  r.kind = kind;
  r.method = "POST";
  r.route = "/users/{name}/server";
  r.status = status;
  r.start_s = start_s;
  r.latency_s = latency_s;
  r.total_s = latency_s;
  return r;
}

// Shard `index` of `count` of a stress-test: its servers ready after `ready_s`, one failed when `fail`.
json shard_report(int index, int count, const std::vector<double>& ready_s, bool fail, double session_start, const std::string& start_at = "") {
  RunData d;
  d.command = "stress-test";
  d.endpoint = "http://127.0.0.1:8081/hub/api";
  d.hub_version = "3.0.0";
  d.started_at = "2026-11-27T20:30:00.000000Z";
  d.duration_s = 30;
  d.session_start_unix_s = session_start;
  StressResult s;
  s.phases = {{"find", 0.1, 0.0}, {"create", 0.5, 0.1}, {"spawn", 20, 0.6}, {"delete", 5, 20.6}};
  for (std::size_t i = 0; i < ready_s.size() + (fail ? 1 : 0); ++i) {
    SpawnRecord r;
    r.user = "hub-stress-test-" + std::to_string(index + 1 + static_cast<int>(i) * count);
    r.requested_at_s = 0.5 * static_cast<double>(i);
    if (i < ready_s.size()) {
      r.state = SpawnState::ready;
      r.ready_after_s = ready_s[i];
      r.ended_at_s = r.requested_at_s + r.ready_after_s;
      d.records.push_back(record(ApiKind::start_server, 202, 0.6 + r.requested_at_s, ready_s[i] / 100));
    } else {
      r.state = SpawnState::failed;
      r.reason = "Spawn failed: boom";
      r.ended_at_s = r.requested_at_s + 1;
      d.records.push_back(record(ApiKind::start_server, 500, 0.6 + r.requested_at_s, 0.2));
    }
    s.created.push_back(r.user);
    s.spawns.push_back(r);
  }
  s.spawn_stats.smallest_window = 5;
  d.stress = s;
  d.requested_users = static_cast<int>(s.created.size());
  d.hub_samples = {HubSample{1.0, 10.0, 1e8, 0, 0, 1.0, {}, {}, {}, {}, {}, {}, {}, {}}};
  d.run.run_id = "run-" + std::to_string(index);
  d.run.batch_size = 5;
  d.run.shard = ShardInfo{index, count, d.requested_users, start_at, 0, "hub-stress-test"};  // of_one_test sets the whole test's count
  json doc = to_json(build_summary(summary_inputs(d)));
  doc["samples"] = run_data_json(d);
  return doc;
}

std::vector<ShardReport> read_all(const std::vector<json>& docs) {
  std::vector<ShardReport> out;
  for (const auto& d : docs) out.push_back(read_shard_report(d));
  return out;
}

// total_count of every shard set to the test's whole count (shard_report knows only its own)
std::vector<json> of_one_test(std::vector<json> docs) {
  int total = 0;
  for (const auto& d : docs) total += d["samples"]["requested_users"].get<int>();
  for (auto& d : docs) d["shard"]["total_count"] = total;
  return docs;
}

} // namespace

TEST(Merge, AShardReportReadsBackAsItWasWritten) {
  const json doc = shard_report(1, 2, {1.5, 2.25, 7.125}, true, 1795811400.0);
  const ShardReport r = read_shard_report(doc);
  EXPECT_EQ(r.shard.index, 1);
  EXPECT_EQ(r.shard.count, 2);
  ASSERT_TRUE(r.data.stress);
  EXPECT_EQ(r.data.stress->spawns.size(), 4u);
  EXPECT_EQ(r.data.stress->spawns[3].state, SpawnState::failed);
  EXPECT_EQ(r.data.stress->spawns[3].reason, "Spawn failed: boom");
  EXPECT_EQ(r.data.records.size(), 4u);
  EXPECT_EQ(r.data.records[3].status, 500);
  // the report rebuilt from what it carries is the report it was written with
  json again = to_json(build_summary(summary_inputs(r.data)));
  json original = doc;
  original.erase("samples");
  EXPECT_EQ(again.dump(), original.dump());
}

TEST(Merge, CountsAreSumsAndPercentilesComeFromEverySampleTogether) {
  const std::vector<double> a{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, b{20, 30, 40}, c{0.5, 0.75};
  const auto docs = of_one_test({shard_report(0, 3, a, false, 1000.0), shard_report(1, 3, b, true, 1000.25), shard_report(2, 3, c, false, 1001.5)});
  const MergedRun m = merge_shards(read_all(docs), {"a.json", "b.json", "c.json"});
  EXPECT_TRUE(m.missing.empty());
  ASSERT_EQ(m.shards.size(), 3u);
  EXPECT_DOUBLE_EQ(m.shards[2].offset_s, 1.5);
  const Summary merged = build_summary(summary_inputs(m.data));
  ASSERT_TRUE(merged.spawn);
  EXPECT_EQ(merged.spawn->servers, 16u);
  EXPECT_EQ(merged.spawn->ready, 15u);
  EXPECT_EQ(merged.spawn->failed, 1u);
  EXPECT_EQ(merged.users->requested, 16);
  EXPECT_EQ(merged.users->created, 16);
  EXPECT_EQ(merged.api_all.count, 16u);
  EXPECT_EQ(merged.api_all.errors, 1u);
  EXPECT_EQ(merged.throttle.smallest_window, 15);
  std::vector<double> every(a);
  every.insert(every.end(), b.begin(), b.end());
  every.insert(every.end(), c.begin(), c.end());
  const Distribution want = summarize(every);
  EXPECT_EQ(merged.spawn->ready_s.p50, want.p50);
  EXPECT_EQ(merged.spawn->ready_s.p95, want.p95);
  EXPECT_EQ(merged.spawn->ready_s.max, want.max);
  EXPECT_EQ(merged.spawn->ready_s.mean, want.mean);
  // one time axis: the last shard's spawn phase began 1.5 s after the first's
  ASSERT_EQ(merged.phases.size(), 4u);
  EXPECT_EQ(merged.phases[2].name, "spawn");
  EXPECT_DOUBLE_EQ(merged.phases[2].start_s, 0.6);
  EXPECT_DOUBLE_EQ(merged.phases[2].seconds, 21.5);
  // shard 2's first server was ready 0.5 s into its spawn phase, which began 1.5 s after the first shard's
  auto ready_at = [&](double t) {
    return std::any_of(merged.spawn->ready_over_time.begin(), merged.spawn->ready_over_time.end(),
                       [&](const ReadyPoint& p) { return p.t_s == t; });
  };
  EXPECT_TRUE(ready_at(1.5 + 0.5));
  EXPECT_FALSE(ready_at(0.5));
  EXPECT_EQ(m.data.run.status, "complete");
}

TEST(Merge, RefusesReportsOfDifferentTests) {
  auto docs = of_one_test({shard_report(0, 2, {1}, false, 1000.0), shard_report(1, 2, {2}, false, 1000.0)});
  auto refused = [&](json changed, const std::string& says) {
    std::vector<json> two{docs[0], std::move(changed)};
    try {
      merge_shards(read_all(two), {"a.json", "b.json"});
      ADD_FAILURE() << "merged: " << says;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("b.json"), std::string::npos) << e.what();
    }
  };
  json other = docs[1];
  other["endpoint"] = "http://127.0.0.1:9999/hub/api";
  refused(other, "its hub is");
  other = docs[1];
  other["shard"]["start_at"] = "2026-11-27T21:00:00.000Z";
  refused(other, "its --start-at is");
  other = docs[1];
  other["command"] = "journey";
  refused(other, "its command is journey");
  other = docs[1];
  other["run"]["tool_version"] = "0.0.9";
  refused(other, "its tool version is 0.0.9");
  other = docs[1];
  other["shard"]["prefix"] = "load-test";
  refused(other, "its --prefix is load-test");
  other = docs[1];
  other["shard"]["index"] = 0;
  refused(other, "are both shard 0/2");
  other = docs[1];
  other["schema_version"] = 99;
  EXPECT_THROW(read_shard_report(other), std::invalid_argument);
  other = docs[1];
  other.erase("samples");
  EXPECT_THROW(read_shard_report(other), std::invalid_argument);
  other = docs[1];
  other["samples"]["records"]["rows"][0][4] = "exploded";
  EXPECT_THROW(read_shard_report(other), std::invalid_argument);
}

TEST(Merge, AMissingShardIsSaidAndFailsTheTest) {
  const auto docs = of_one_test({shard_report(0, 3, {1}, false, 1000.0), shard_report(2, 3, {2}, false, 1000.0)});
  const MergedRun m = merge_shards(read_all(docs), {"a.json", "c.json"});
  EXPECT_EQ(m.missing, std::vector<int>{1});
  EXPECT_EQ(m.data.run.status, "failed");
  EXPECT_NE(m.data.run.error.find("1 of 3 shards have no report (shard 1)"), std::string::npos) << m.data.run.error;
}

TEST(Shard, UniformArrivalsOfShardsInterleaveAsOneClassWould) {
  const auto whole = arrival_offsets(10, 60, Arrival::uniform, 1);
  std::vector<double> shards;
  for (int i = 0; i < 3; ++i) {
    const auto mine = arrival_offsets(share_of(10, ShardSpec{i, 3}), 60, Arrival::uniform, 1, ArrivalPlace{i, 3, 10});
    shards.insert(shards.end(), mine.begin(), mine.end());
  }
  std::sort(shards.begin(), shards.end());
  ASSERT_EQ(shards.size(), whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) EXPECT_DOUBLE_EQ(shards[i], whole[i]) << i;
}

TEST(Merge, AShardThatNeverReachedTheHubIsMergedAsAFailedShard) {
  auto docs = of_one_test({shard_report(0, 2, {1}, false, 1000.0), shard_report(1, 2, {2}, false, 1000.0)});
  docs[1]["hub_version"] = "unknown";
  docs[1]["status"] = "failed";
  docs[1]["error"] = "cannot reach the hub";
  const MergedRun m = merge_shards(read_all(docs), {"a.json", "b.json"});
  EXPECT_EQ(m.data.hub_version, "3.0.0");
  EXPECT_EQ(m.data.run.status, "failed");
  EXPECT_NE(m.data.run.error.find("shard 1: cannot reach the hub"), std::string::npos) << m.data.run.error;
}

TEST(Merge, OneShardsHubWatcherCountsNotEveryShards) {
  auto docs = of_one_test({shard_report(0, 2, {1}, false, 1000.0), shard_report(1, 2, {2}, false, 1000.0)});
  for (auto& d : docs) {
    for (int i = 0; i < 3; ++i) d["samples"]["records"]["rows"].push_back({"metrics", "GET", "/hub/metrics", 200, "ok", 1.0 * i, 0.01, 0.01, 0});
  }
  const Summary merged = build_summary(summary_inputs(merge_shards(read_all(docs), {"a.json", "b.json"}).data));
  std::size_t metrics = 0;
  for (const auto& a : merged.api) {
    if (a.kind == "metrics") metrics = a.count;
  }
  EXPECT_EQ(metrics, 3u);
  EXPECT_EQ(merged.api_all.count, 2u + 3u);
}

namespace {

// Shard `index` of 2 of a capacity search of two stages of 60 s: `ttfr[k]` its stage k students'
// times to first result, `verdicts` how it judged its stages.
json capacity_shard(int index, const std::vector<std::vector<double>>& ttfr, const std::vector<StageVerdict>& verdicts) {
  RunData d;
  d.command = "capacity";
  d.endpoint = "http://127.0.0.1:8081/hub/api";
  d.hub_version = "5.2.1";
  d.started_at = "2026-12-05T06:00:00.000000Z";
  d.duration_s = 150;
  d.session_start_unix_s = 1000.0;
  CapacityResult c;
  c.stage_s = 60;
  c.thresholds = {"time_to_first_result_p95<10s"};
  for (std::size_t k = 0; k < verdicts.size(); ++k) c.stages.push_back({10.0 * static_cast<double>(k + 1), 60.0 * static_cast<double>(k), 60, 0, 0, verdicts[k]});
  JourneyResult& j = c.journey;
  j.phases = {{"find", 0.1, 0.0}, {"create", 0.5, 0.1}, {"journeys", 140, 0.6}, {"delete", 2, 140.6}};
  for (std::size_t k = 0; k < ttfr.size(); ++k) {
    for (std::size_t i = 0; i < ttfr[k].size(); ++i) {
      StudentRecord s;
      s.user = fmt::format("hub-stress-test-{}", index + 1 + 2 * static_cast<int>(j.students.size()));
      s.stage = static_cast<int>(k);
      s.scheduled_s = 60.0 * static_cast<double>(k) + 5.0 * static_cast<double>(i);
      s.time_to_first_result_s = ttfr[k][i];
      s.steps = {{"first_result", s.scheduled_s, ttfr[k][i]}};
      j.created.push_back(s.user);
      j.students.push_back(s);
    }
  }
  j.deleted = true;
  place_students(c);
  d.journey = c.journey;
  d.journey_options = JourneyOptions{};
  d.capacity = c;
  d.requested_users = static_cast<int>(j.created.size());
  d.run.run_id = "run-" + std::to_string(index);
  d.run.shard = ShardInfo{index, 2, 100, "", 0, "hub-stress-test"};
  json doc = to_json(build_summary(summary_inputs(d)));
  doc["samples"] = run_data_json(d);
  return doc;
}

} // namespace

TEST(Merge, CapacityShardsGiveEveryStageAllTheirStudentsAndTheirThresholds) {
  using V = StageVerdict;
  // each shard held both stages on its own; stage 2's students of both: 8 s, 9 s, 12 s, 12 s
  const auto docs = std::vector<json>{capacity_shard(0, {{1, 2}, {8, 12}}, {V::held, V::held}),
                                      capacity_shard(1, {{3}, {9, 12}}, {V::held, V::held})};
  const MergedRun m = merge_shards(read_all(docs), {"a.json", "b.json"});
  ASSERT_TRUE(m.data.capacity);
  const CapacityResult& c = *m.data.capacity;
  ASSERT_EQ(c.stages.size(), 2u);
  EXPECT_EQ(c.stages[0].count, 3u);
  EXPECT_EQ(c.stages[1].count, 4u);
  EXPECT_EQ(c.stages[1].first, 3u);
  EXPECT_EQ(c.thresholds, std::vector<std::string>{"time_to_first_result_p95<10s"});
  EXPECT_EQ(m.data.requested_users, 7);  // its students, not a --count it does not have
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(c.journey.students[i].stage, 0) << i;
}

TEST(Merge, ACapacityStageNotEveryShardRanIsCutNotJudgedOnPartOfItsRate) {
  using V = StageVerdict;
  // shard 0 failed stage 1 on its own and never reached stage 2; shard 1 held both
  const auto docs = std::vector<json>{capacity_shard(0, {{1, 20}}, {V::failed, V::pending}),
                                      capacity_shard(1, {{3}, {4, 5}}, {V::held, V::held})};
  const MergedRun m = merge_shards(read_all(docs), {"a.json", "b.json"});
  ASSERT_TRUE(m.data.capacity);
  EXPECT_EQ(m.data.capacity->stages[0].verdict, V::held);  // to be judged again on all three
  EXPECT_EQ(m.data.capacity->stages[1].verdict, V::cut);
  EXPECT_NE(m.data.capacity->ended_by.find("not every shard ran stage 2"), std::string::npos) << m.data.capacity->ended_by;
  // a stage neither shard reached stays not reached
  const auto later = std::vector<json>{capacity_shard(0, {{1}}, {V::held, V::pending}), capacity_shard(1, {{3}}, {V::failed, V::pending})};
  EXPECT_EQ(merge_shards(read_all(later), {"a.json", "b.json"}).data.capacity->stages[1].verdict, V::pending);
}

// Issue 22 items 10 and 11: merge does not trust a report's fields.
TEST(Merge, FieldsNoShardWritesAreRefusedInOneLine) {
  const json good = shard_report(0, 2, {1}, false, 1000.0);
  const auto refused = [](json doc, const std::string& words) {
    try {
      read_shard_report(doc);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("[json.exception"), std::string::npos) << e.what();
    }
  };
  json d = good;
  d["shard"]["index"] = 7;
  refused(d, "shard index 7 of 2");
  d["shard"]["index"] = -3;
  refused(d, "shard index -3 of 2");
  d = good;
  d["shard"]["count"] = 2000000000;
  refused(d, "shard count 2000000000");
  d = good;
  d["duration_s"] = -5;
  refused(d, "duration_s");
  d = good;
  d["shard"]["prefix"] = "x; rm -rf ~ #";
  refused(d, "prefix");
  d = good;
  d["endpoint"] = "http://127.0.0.1:8081/hub/api\x1b[31m";
  refused(d, "endpoint");
  d = good;
  d["hub_version"] = 5;
  refused(d, "damaged shard report (type must be string, but is number)");
  // a terminal escape in free text is made harmless
  d = good;
  d["error"] = "boom\x1b[2J";
  EXPECT_EQ(read_shard_report(d).data.run.error, "boom?[2J");
}

TEST(Merge, AShardThatBeganAfterTheOthersEndedIsNotOfTheSameTest) {
  // a day of clock skew between the two shards' machines
  const auto docs = of_one_test({shard_report(0, 2, {1}, false, 1000.0), shard_report(1, 2, {2}, false, 1000.0 + 86400)});
  EXPECT_THROW(merge_shards(read_all(docs), {"a.json", "b.json"}), std::invalid_argument);
}
