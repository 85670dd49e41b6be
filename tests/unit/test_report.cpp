#include "hubstress/report/report.hpp"
#include "hubstress/report/thresholds.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include "records.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

using namespace hubstress;
using nlohmann::json;

namespace {

RequestRecord rec(std::string method, std::string route, long status, double latency_s, double start_s, int retries = 0,
                  Outcome outcome = Outcome::ok) {
  return make_record(std::move(method), std::move(route), status, latency_s, start_s, retries, outcome);
}

const std::string kEvilReason = "<script>alert(\"x\")</script>, \"quoted\"\nsecond line \x1b[31mred";

struct Fixture {
  std::vector<RequestRecord> records;
  StressResult stress;
  ActivityResult activity;
  std::vector<HubSample> hub;
  Summary summary;

  Fixture() {
    records = {
        rec("GET", "/", 200, 0.002, 0.0),
        rec("GET", "/users", 200, 0.040, 0.1),
        rec("POST", "/users", 201, 0.120, 0.2),
        rec("POST", "/users/{name}/server", 201, 0.400, 0.5),
        rec("POST", "/users/{name}/server", 202, 0.600, 0.6, 1),
        rec("POST", "/users/{name}/server", 429, 0.050, 0.7),
        rec("GET", "/users/{name}/server/progress", 200, 3.500, 1.2),
        rec("GET", "/users/{name}/server/progress", 0, 30.0, 1.3, 2, Outcome::timeout),
        rec("DELETE", "/users/{name}/server", 204, 0.300, 5.1),
        rec("DELETE", "/users/{name}", 204, 0.080, 5.6),
        rec("GET", "/hub/metrics", 200, 0.010, 5.9),
    };
    stress.phases = {{"find", 0.014}, {"create", 0.254}, {"spawn", 6.119}, {"delete", 2.365}};
    stress.created = {"hub-stress-test-1", "hub-stress-test-2", "hub-stress-test-3", "u-<i>"};
    auto add = [&](std::string user, SpawnState state, double req, double ready, int throttled, std::string reason) {
      SpawnRecord s;
      s.user = std::move(user);
      s.state = state;
      s.requested_at_s = req;
      s.ready_after_s = ready;
      s.throttled = throttled;
      s.reason = std::move(reason);
      stress.spawns.push_back(s);
    };
    add("hub-stress-test-1", SpawnState::ready, 0.0, 4.052, 0, "");
    add("hub-stress-test-2", SpawnState::ready, 0.1, 0.7, 1, "");
    add("hub-stress-test-3", SpawnState::failed, 0.2, -1, 0, kEvilReason);
    add("u-<i>", SpawnState::not_started, -1, -1, 0, "");
    stress.spawn_stats = {1, 2.5, 1};
    stress.deleted = true;

    activity.used = {"hub-stress-test-1"};
    activity.post_s = {0.1, 0.2};
    activity.ping_s = {0.01, 0.02, 0.03};
    activity.post_errors = 1;
    activity.workers = 1;

    for (int i = 0; i < 3; ++i) {
      HubSample h;
      h.t_s = i * 5.0;
      h.cpu_seconds_total = 1.0 + i;
      h.resident_memory_bytes = 80e6 + i * 1e6;
      h.running_servers = i;
      h.start_time_s = 1.7e9;
      hub.push_back(h);
    }

    SummaryInputs in;
    in.command = "stress-test";
    in.endpoint = "http://127.0.0.1:41219/hub/api";
    in.hub_version = "3.0.0";
    in.started_at = "2026-11-26T18:27:34.291000Z";
    in.duration_s = 8.752;
    in.records = &records;
    in.stress = &stress;
    in.activity = &activity;
    in.hub_samples = &hub;
    summary = build_summary(in);
    summary.thresholds = evaluate_all({parse_threshold("spawn_p95<90s"), parse_threshold("errors<1")}, summary);
  }
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A fresh directory for one test, removed at the end.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::path(testing::TempDir()) / ("hst-report-" + std::to_string(::getpid()) + "-" + name)) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// The text of <svg id="ID" ...>...</svg>, or "" when absent.
std::string svg(const std::string& html, const std::string& id) {
  const auto start = html.find("<svg id=\"" + id + "\"");
  if (start == std::string::npos) return {};
  const auto end = html.find("</svg>", start);
  return end == std::string::npos ? std::string() : html.substr(start, end - start);
}

// Per kind of API call, what the Fixture's records give, worked out by hand (not read back from the
// summary under test): nearest-rank percentiles, latency of answered requests only.
struct ExpectedApi {
  const char* kind;
  std::size_t count, errors, retries, answered;
  double min, p50, p90, p95, p99, max, mean;
  std::map<std::string, std::size_t> by_status;
};

const std::vector<ExpectedApi>& expected_api() {
  static const std::vector<ExpectedApi> rows{
      {"version", 1, 0, 0, 1, 0.002, 0.002, 0.002, 0.002, 0.002, 0.002, 0.002, {}},
      {"list users", 1, 0, 0, 1, 0.040, 0.040, 0.040, 0.040, 0.040, 0.040, 0.040, {}},
      {"create users", 1, 0, 0, 1, 0.120, 0.120, 0.120, 0.120, 0.120, 0.120, 0.120, {}},
      // 0.05 0.4 0.6: p50 rank ceil(1.5) = 2; p90 ceil(2.7) = 3
      {"start server", 3, 1, 1, 3, 0.050, 0.400, 0.600, 0.600, 0.600, 0.600, 0.35, {{"429", 1}}},
      // the timed-out one has no latency
      {"progress", 2, 1, 2, 1, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, {{"timeout", 1}}},
      {"stop server", 1, 0, 0, 1, 0.300, 0.300, 0.300, 0.300, 0.300, 0.300, 0.300, {}},
      {"delete user", 1, 0, 0, 1, 0.080, 0.080, 0.080, 0.080, 0.080, 0.080, 0.080, {}},
      {"metrics", 1, 0, 0, 1, 0.010, 0.010, 0.010, 0.010, 0.010, 0.010, 0.010, {}},
      // ten answered: 0.002 0.01 0.04 0.05 0.08 0.12 0.3 0.4 0.6 3.5; p50 rank 5, p90 rank 9, p95 ceil(9.5) = 10
      {"all", 11, 2, 3, 10, 0.002, 0.080, 0.600, 3.5, 3.5, 3.5, 0.5102, {{"429", 1}, {"timeout", 1}}},
  };
  return rows;
}

void expect_api(const json& got, const ExpectedApi& want) {
  EXPECT_EQ(got["kind"], want.kind);
  EXPECT_EQ(got["count"], want.count) << want.kind;
  EXPECT_EQ(got["errors"], want.errors) << want.kind;
  EXPECT_EQ(got["retries"], want.retries) << want.kind;
  EXPECT_EQ(got["errors_by_status"], json(want.by_status)) << want.kind;
  const json& lat = got["latency_s"];
  EXPECT_EQ(lat["count"], want.answered) << want.kind;
  EXPECT_DOUBLE_EQ(lat["min"].get<double>(), want.min) << want.kind;
  EXPECT_DOUBLE_EQ(lat["p50"].get<double>(), want.p50) << want.kind;
  EXPECT_DOUBLE_EQ(lat["p90"].get<double>(), want.p90) << want.kind;
  EXPECT_DOUBLE_EQ(lat["p95"].get<double>(), want.p95) << want.kind;
  EXPECT_DOUBLE_EQ(lat["p99"].get<double>(), want.p99) << want.kind;
  EXPECT_DOUBLE_EQ(lat["max"].get<double>(), want.max) << want.kind;
  EXPECT_NEAR(lat["mean"].get<double>(), want.mean, 1e-9) << want.kind;
}

} // namespace

TEST(ReportJson, SchemaFieldsPresentWithHandWorkedValues) {
  const Fixture f;
  const json j = to_json(f.summary);
  EXPECT_EQ(j.at("schema"), "hub-stress-test/report");
  EXPECT_EQ(j.at("schema_version"), 1);
  for (const char* key : {"command", "endpoint", "hub_version", "started_at", "duration_s", "phases", "api", "latency_over_time",
                          "spawn", "throttle", "activity", "hub", "thresholds"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["command"], "stress-test");
  EXPECT_EQ(j["endpoint"], "http://127.0.0.1:41219/hub/api");
  EXPECT_EQ(j["hub_version"], "3.0.0");
  EXPECT_EQ(j["started_at"], "2026-11-26T18:27:34.291000Z");
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 8.752);
  ASSERT_EQ(j["phases"].size(), 4u);
  EXPECT_EQ(j["phases"][2]["name"], "spawn");
  EXPECT_DOUBLE_EQ(j["phases"][2]["seconds"].get<double>(), 6.119);

  // the kinds that were called, in ApiKind order, then "all"
  const json& kinds = j["api"]["kinds"];
  const auto& want = expected_api();
  ASSERT_EQ(kinds.size(), want.size() - 1);
  for (std::size_t i = 0; i + 1 < want.size(); ++i) expect_api(kinds[i], want[i]);
  expect_api(j["api"]["all"], want.back());

  const json& sp = j["spawn"];
  EXPECT_EQ(sp["servers"], 4);
  EXPECT_EQ(sp["ready"], 2);
  EXPECT_EQ(sp["failed"], 1);
  EXPECT_EQ(sp["timed_out"], 0);
  EXPECT_EQ(sp["unfinished"], 1);
  EXPECT_DOUBLE_EQ(sp["ready_rate_pct"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(sp["failure_rate_pct"].get<double>(), 50.0);
  // ready after 0.7 and 4.052 s
  EXPECT_EQ(sp["ready_s"]["count"], 2);
  EXPECT_DOUBLE_EQ(sp["ready_s"]["min"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(sp["ready_s"]["p50"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(sp["ready_s"]["p90"].get<double>(), 4.052);
  EXPECT_DOUBLE_EQ(sp["ready_s"]["p95"].get<double>(), 4.052);
  EXPECT_DOUBLE_EQ(sp["ready_s"]["max"].get<double>(), 4.052);
  EXPECT_NEAR(sp["ready_s"]["mean"].get<double>(), 2.376, 1e-9);
  // buckets <=0.5 <=1 <=2 <=5 <=10 <=20 <=30 <=60 <=120 <=300 >300: 0.7 in <=1, 4.052 in <=5
  const std::vector<std::size_t> buckets{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  ASSERT_EQ(sp["histogram"].size(), buckets.size());
  EXPECT_DOUBLE_EQ(sp["histogram"][0]["le_s"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(sp["histogram"][9]["le_s"].get<double>(), 300);
  EXPECT_TRUE(sp["histogram"].back()["le_s"].is_null());  // +inf
  for (std::size_t i = 0; i < buckets.size(); ++i) EXPECT_EQ(sp["histogram"][i]["count"], buckets[i]) << i;
  // one failed with the hub's reason, one never started; equal counts keep start order
  ASSERT_EQ(sp["failures"].size(), 2u);
  EXPECT_EQ(sp["failures"][0]["reason"], kEvilReason);
  EXPECT_EQ(sp["failures"][0]["count"], 1);
  EXPECT_EQ(sp["failures"][0]["example_users"], json({"hub-stress-test-3"}));
  EXPECT_EQ(sp["failures"][1]["reason"], "not started");
  EXPECT_EQ(sp["failures"][1]["example_users"], json({"u-<i>"}));
  // requested at 0.1 + 0.7, then at 0.0 + 4.052
  ASSERT_EQ(sp["ready_over_time"].size(), 2u);
  EXPECT_DOUBLE_EQ(sp["ready_over_time"][0]["t_s"].get<double>(), 0.8);
  EXPECT_EQ(sp["ready_over_time"][0]["ready"], 1);
  EXPECT_DOUBLE_EQ(sp["ready_over_time"][1]["t_s"].get<double>(), 4.052);
  EXPECT_EQ(sp["ready_over_time"][1]["ready"], 2);

  EXPECT_EQ(j["throttle"]["answers_429"], 1);
  EXPECT_EQ(j["throttle"]["start_429"], 1);
  EXPECT_DOUBLE_EQ(j["throttle"]["throttled_s"].get<double>(), 2.5);
  EXPECT_EQ(j["throttle"]["smallest_window"], 1);

  // by whole second of start: [0,1) six requests (the 429 among them), [1,2) the two progress streams,
  // [5,6) three; p95 of the answered ones
  const json& lot = j["latency_over_time"];
  ASSERT_EQ(lot.size(), 3u);
  const long t[] = {0, 1, 5};
  const std::size_t count[] = {6, 2, 3}, errors[] = {1, 1, 0};
  const double p95[] = {0.6, 3.5, 0.3};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lot[i]["t_s"], t[i]) << i;
    EXPECT_EQ(lot[i]["count"], count[i]) << i;
    EXPECT_EQ(lot[i]["errors"], errors[i]) << i;
    EXPECT_DOUBLE_EQ(lot[i]["p95_s"].get<double>(), p95[i]) << i;
  }

  EXPECT_EQ(j["activity"]["users"], 1);
  EXPECT_EQ(j["activity"]["workers"], 1);
  EXPECT_EQ(j["activity"]["post_errors"], 1);
  EXPECT_EQ(j["activity"]["ping_s"]["count"], 3);
  EXPECT_DOUBLE_EQ(j["activity"]["ping_s"]["p50"].get<double>(), 0.02);
  EXPECT_DOUBLE_EQ(j["activity"]["post_s"]["max"].get<double>(), 0.2);
  EXPECT_EQ(j["hub"]["samples"].size(), 3u);
  EXPECT_TRUE(j["hub"]["samples"][0]["request_count"].is_null());
  // one CPU second per 5 s between scrapes: 20 %; memory 80, 81, 82 MB
  EXPECT_TRUE(j["hub"]["series"][0]["cpu_pct"].is_null());
  EXPECT_DOUBLE_EQ(j["hub"]["series"][1]["cpu_pct"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(j["hub"]["series"][2]["cpu_pct"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(j["hub"]["peak_cpu_pct"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(j["hub"]["peak_memory_bytes"].get<double>(), 82e6);
  EXPECT_EQ(j["hub"]["restarts"], 0);

  ASSERT_EQ(j["thresholds"].size(), 2u);
  EXPECT_EQ(j["thresholds"][0]["text"], "spawn_p95<90s");
  EXPECT_EQ(j["thresholds"][0]["passed"], true);
  EXPECT_DOUBLE_EQ(j["thresholds"][0]["actual"].get<double>(), 4.052);
  EXPECT_EQ(j["thresholds"][1]["passed"], false);
  EXPECT_DOUBLE_EQ(j["thresholds"][1]["actual"].get<double>(), 2);  // the 429 and the timeout
  EXPECT_EQ(j["thresholds"][1]["unit"], "");

  // the whole thing survives a round trip
  EXPECT_EQ(json::parse(j.dump()), j);
}

TEST(ReportJson, AbsentPartsAreNullAndInvalidUtf8IsRepaired) {
  StressResult stress;
  SpawnRecord bad;
  bad.user = "u-1";
  bad.state = SpawnState::failed;
  bad.reason = std::string("cut inside \xC3", 12);  // a body cut in the middle of "é"
  stress.spawns.push_back(bad);
  SummaryInputs in;
  in.stress = &stress;
  const json j = to_json(build_summary(in));
  EXPECT_TRUE(j["activity"].is_null());
  EXPECT_TRUE(j["hub"].is_null());
  EXPECT_TRUE(j["api"]["kinds"].empty());
  EXPECT_TRUE(j["thresholds"].empty());
  std::string dumped;
  ASSERT_NO_THROW(dumped = j.dump());
  EXPECT_NE(dumped.find("cut inside \xEF\xBF\xBD"), std::string::npos);

  const json none = to_json(build_summary(SummaryInputs{}));
  EXPECT_TRUE(none["spawn"].is_null());
  EXPECT_EQ(none["schema_version"], kReportSchemaVersion);
}

TEST(ReportTerminal, TableHasEverySection) {
  const Fixture f;
  const std::string t = render_terminal(f.summary);
  for (const char* needle :
       {"hub-stress-test stress-test: JupyterHub 3.0.0 at http://127.0.0.1:41219/hub/api", "Started 2026-11-26T18:27:34.291000Z, took 8.752 s",
        "Phase", "spawn", "6.119", "API call", "start server", "progress", "metrics", "429:1", "timeout:1",
        "Servers: 4 started, 2 ready (50.0 %), 1 failed, 0 timed out, 1 unfinished", "Spawn to ready", "<=5 s", ">300 s",
        "Failures by reason", "e.g. hub-stress-test-3", "not started", "429 answers: 1 (1 to start requests)",
        "narrowest spawn window 1", "Activity: 1 users, 1 workers", "Hub metrics: 3 scrapes", "Thresholds",
        "PASS spawn_p95<90s", "FAIL errors<1"}) {
    EXPECT_NE(t.find(needle), std::string::npos) << needle << "\n" << t;
  }
  EXPECT_EQ(t.back(), '\n');
  // hub text cannot move the cursor or colour the terminal, and stays on one line
  EXPECT_EQ(t.find('\x1b'), std::string::npos);
  EXPECT_NE(t.find("\"quoted\" second line"), std::string::npos);
}

// The rows as a reader sees them, with the hand-worked figures of expected_api().
TEST(ReportTerminal, RowsCarryTheHandWorkedFigures) {
  const Fixture f;
  const std::string t = render_terminal(f.summary);
  for (const char* row : {
           R"(\n  start server +3 +1 +1 +0\.050 +0\.400 +0\.600 +0\.600 +0\.600 +0\.600 +429:1\n)",
           R"(\n  progress +2 +1 +2 +3\.500 +3\.500 +3\.500 +3\.500 +3\.500 +3\.500 +timeout:1\n)",
           R"(\n  all +11 +2 +3 +0\.002 +0\.080 +0\.600 +3\.500 +3\.500 +3\.500 +429:1 timeout:1\n)",
           R"(\n  seconds +2 +0\.700 +0\.700 +4\.052 +4\.052 +4\.052 +4\.052 +2\.376\n)",
           R"(\n  <=1 s +1 +#{40}\n)",
           R"(\n  <=2 s +0\n)",
           R"(\n  <=5 s +1 +#{40}\n)",
       }) {
    EXPECT_TRUE(std::regex_search(t, std::regex(row))) << row << "\n" << t;
  }
}

TEST(ReportTerminal, ApiColumnsAreAligned) {
  const Fixture f;
  const auto all = lines(render_terminal(f.summary));
  const auto header = std::find_if(all.begin(), all.end(), [](const std::string& l) { return l.rfind("API call", 0) == 0; });
  ASSERT_NE(header, all.end());
  const std::size_t count_end = header->find("count") + 5;
  const std::size_t p95_end = header->find("p95") + 3;
  std::size_t rows = 0;
  for (auto it = header + 1; it != all.end() && it->rfind("  ", 0) == 0; ++it, ++rows) {
    ASSERT_GT(it->size(), p95_end) << *it;
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>((*it)[count_end - 1]))) << *it;
    EXPECT_EQ((*it)[count_end], ' ') << *it;
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>((*it)[p95_end - 1])) || (*it)[p95_end - 1] == '-') << *it;
  }
  EXPECT_EQ(rows, f.summary.api.size() + 1);  // every kind, then "all"
}

TEST(ReportCsv, FieldQuoting) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  EXPECT_EQ(csv_field("inner space"), "inner space");
}

TEST(ReportCsv, WritesUsersRequestsAndApi) {
  const Fixture f;
  TempDir tmp("csv");
  const auto dir = tmp.path / "nested" / "out";
  write_csv(f.summary, &f.stress, f.records, dir.string());

  const std::string users = read_file(dir / "users.csv");
  const auto u = lines(users);
  ASSERT_GE(u.size(), 5u);
  EXPECT_EQ(u[0], "user,state,requested_at_s,ready_after_s,throttled,reason");
  EXPECT_EQ(u[1], "hub-stress-test-1,ready,0.000000,4.052000,0,");
  EXPECT_EQ(u[2], "hub-stress-test-2,ready,0.100000,0.700000,1,");
  // the failed one: no ready time, the reason quoted (its newline is inside the quotes)
  EXPECT_NE(users.find("hub-stress-test-3,failed,0.200000,,0,\"<script>alert(\"\"x\"\")</script>, \"\"quoted\"\"\nsecond line"),
            std::string::npos)
      << users;
  EXPECT_NE(users.find("\nu-<i>,not started,,,0,\n"), std::string::npos) << users;

  const auto r = lines(read_file(dir / "requests.csv"));
  ASSERT_EQ(r.size(), f.records.size() + 1);
  EXPECT_EQ(r[0], "start_s,method,route,status,outcome,latency_s,total_s,retries");
  EXPECT_EQ(r[1], "0.000000,GET,/,200,ok,0.002000,0.002000,0");
  EXPECT_EQ(r[8], "1.300000,GET,/users/{name}/server/progress,0,timeout,30.000000,30.000000,2");

  const auto a = lines(read_file(dir / "api.csv"));
  ASSERT_EQ(a.size(), f.summary.api.size() + 2);
  EXPECT_EQ(a[0], "kind,count,errors,retries,min_s,p50_s,p90_s,p95_s,p99_s,max_s");
  EXPECT_EQ(a[4], "start server,3,1,1,0.050000,0.400000,0.600000,0.600000,0.600000,0.600000");
  EXPECT_EQ(a.back(), "all,11,2,3,0.002000,0.080000,0.600000,3.500000,3.500000,3.500000");

  // again into the same directory: overwritten, not appended
  write_csv(f.summary, &f.stress, f.records, dir.string());
  EXPECT_EQ(lines(read_file(dir / "requests.csv")).size(), f.records.size() + 1);
}

TEST(ReportCsv, NoStressMeansNoUsersFileAndBadDirThrows) {
  const Fixture f;
  TempDir tmp("csv2");
  write_csv(f.summary, nullptr, {}, tmp.path.string());
  EXPECT_FALSE(std::filesystem::exists(tmp.path / "users.csv"));
  EXPECT_EQ(lines(read_file(tmp.path / "requests.csv")).size(), 1u);

  std::ofstream(tmp.path / "a-file") << "x";
  EXPECT_THROW(write_csv(f.summary, nullptr, {}, (tmp.path / "a-file").string()), std::runtime_error);
  EXPECT_THROW(write_csv(f.summary, nullptr, {}, (tmp.path / "a-file" / "below").string()), std::runtime_error);
}

TEST(ReportHtml, SelfContainedWithEveryChart) {
  const Fixture f;
  const std::string h = render_html(f.summary);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(h.find("</html>"), std::string::npos);

  // nothing is fetched: no external references of any kind
  for (const char* banned : {"src=", "href=", "<link", "<img", "<iframe", "<object", "<embed", "url(", "@import", "xlink",
                             "fetch(", "XMLHttpRequest"}) {
    EXPECT_EQ(h.find(banned), std::string::npos) << banned;
  }
  // one inline script, ours: it marks each chart with the size the browser drew it at
  const auto script = h.find("<script");
  ASSERT_NE(script, std::string::npos);
  EXPECT_EQ(h.find("<script", script + 1), std::string::npos);
  EXPECT_EQ(h.compare(script, 45, "<script>document.querySelectorAll('svg.chart'"), 0);
  // a URL may appear only as text, never inside a tag
  for (std::size_t lt = h.find('<'); lt != std::string::npos; lt = h.find('<', lt + 1)) {
    const std::string tag = h.substr(lt, h.find('>', lt) - lt);
    EXPECT_EQ(tag.find("http"), std::string::npos) << tag;
    EXPECT_EQ(tag.find("//"), std::string::npos) << tag;
  }
  EXPECT_NE(h.find("<td>http://127.0.0.1:41219/hub/api</td>"), std::string::npos);

  for (const char* id : {"chart-ready", "chart-latency", "chart-hub-cpu", "chart-hub-mem"}) {
    const std::string chart = svg(h, id);
    ASSERT_FALSE(chart.empty()) << id;
    const auto points = chart.find("<polyline class=\"data\" style=\"stroke:");
    ASSERT_NE(points, std::string::npos) << id;
    EXPECT_NE(chart.find(','), std::string::npos) << id;
    EXPECT_NE(chart.find("class=\"axis-label\""), std::string::npos) << id;
  }
  const std::string hist = svg(h, "chart-spawn-hist");
  ASSERT_FALSE(hist.empty());
  std::size_t bars = 0;
  for (auto p = hist.find("<rect class=\"bar\""); p != std::string::npos; p = hist.find("<rect class=\"bar\"", p + 1)) ++bars;
  EXPECT_EQ(bars, f.summary.spawn->histogram.counts.size());
  EXPECT_NE(hist.find("<title>&lt;=1 s: 1</title>"), std::string::npos);  // 0.7 s
  EXPECT_NE(hist.find("<title>&lt;=5 s: 1</title>"), std::string::npos);  // 4.052 s
  EXPECT_NE(hist.find("seconds from start request to ready"), std::string::npos);

  // the step curve of servers ready ends at 2
  const std::string ready = svg(h, "chart-ready");
  EXPECT_NE(ready.find(">servers</text>"), std::string::npos);
}

TEST(ReportHtml, TextFromTheHubIsEscaped) {
  const Fixture f;
  const std::string h = render_html(f.summary);
  EXPECT_EQ(h.find("<script>alert"), std::string::npos);
  EXPECT_EQ(h.find("<i>"), std::string::npos);
  EXPECT_NE(h.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(h.find("u-&lt;i&gt;"), std::string::npos);
  EXPECT_EQ(html_escape("a&b<c>\"d'e"), "a&amp;b&lt;c&gt;&quot;d&#39;e");
  EXPECT_EQ(html_escape(std::string("x\xFFy")), "x\xEF\xBF\xBDy");
}

TEST(ReportHtml, ChartsWithoutDataBecomeNotes) {
  const std::string h = render_html(build_summary(SummaryInputs{}));
  for (const char* id : {"chart-ready", "chart-spawn-hist", "chart-latency", "chart-hub-cpu", "chart-hub-mem"}) {
    EXPECT_TRUE(svg(h, id).empty()) << id;
  }
  EXPECT_NE(h.find("No API requests recorded."), std::string::npos);
}

TEST(ReportHtml, EveryChartOverTimeSharesTheRunsTimeAxisWithThePhasesAsBands) {
  StressResult stress;
  for (int i = 0; i < 4; ++i) {
    SpawnRecord s;
    s.user = "u-" + std::to_string(i);
    s.state = SpawnState::ready;
    s.requested_at_s = 0.5 * i;
    s.ready_after_s = 2 + i;
    stress.spawns.push_back(s);
  }
  stress.phases = {{"find", 0.1, 0.2}, {"create", 0.4, 0.3}, {"spawn", 7.0, 0.7}, {"delete", 3.0, 7.7}};
  std::vector<RequestRecord> records;
  for (int t = 0; t < 11; t += 2) {
    RequestRecord r;
    r.kind = t < 8 ? ApiKind::start_server : ApiKind::delete_user;
    r.status = t == 4 ? 500 : 200;
    r.start_s = t + 0.25;
    r.latency_s = 0.1 * t;
    records.push_back(r);
  }
  std::vector<HubSample> samples;
  for (int t = 0; t <= 10; t += 2) {
    HubSample h;
    h.t_s = t;
    h.cpu_seconds_total = 0.2 * t;
    h.resident_memory_bytes = 80e6;
    h.running_servers = t / 2;
    samples.push_back(h);
  }
  SummaryInputs in;
  in.command = "stress-test";
  in.duration_s = 10.7;
  in.stress = &stress;
  in.records = &records;
  in.hub_samples = &samples;
  const std::string html = render_html(build_summary(in));
  std::smatch m;
  std::set<std::string> axes;
  std::set<std::string> ids;
  for (auto it = html.cbegin(); std::regex_search(it, html.cend(), m, std::regex(R"re(<svg id="([a-z-]+)" class="chart timechart" data-x-max="([0-9.]+)")re"));
       it = m[0].second) {
    ids.insert(m[1].str());
    axes.insert(m[2].str());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"chart-rate", "chart-latency", "chart-ready", "chart-hub-cpu", "chart-hub-mem"}));
  EXPECT_EQ(axes, (std::set<std::string>{"12"})) << "one time axis: 10.7 s rounded up to a whole 2-second tick";
  // each of the five has the four phases as bands, named in their tooltips
  int bands = 0;
  for (auto p = html.find("<rect class=\"band"); p != std::string::npos; p = html.find("<rect class=\"band", p + 1)) ++bands;
  EXPECT_EQ(bands, 5 * 4);
  EXPECT_NE(html.find("<title>spawn: 7.000 s from 0.700 s</title>"), std::string::npos);
  // per-second series break where seconds had no request: 0.25, 2.25 ... never one line across a gap
  // (start server: t = 0, 2, 4, 6 with nothing in between: four pieces in each of its two charts, not one line)
  int pieces = 0;
  for (const char* id : {"chart-rate", "chart-latency"}) {
    const std::string chart = svg(html, id);
    for (auto p = chart.find("<polyline class=\"data\" style=\"stroke:#1f77b4\""); p != std::string::npos;
         p = chart.find("<polyline class=\"data\" style=\"stroke:#1f77b4\"", p + 1)) {
      ++pieces;
    }
  }
  EXPECT_EQ(pieces, 8);
  EXPECT_NE(html.find("<title>start server at 4 s: 0.4 s</title>"), std::string::npos) << "readable tooltips";
  EXPECT_NE(html.find("class=\"reference\""), std::string::npos) << "the hub CPU chart marks one full core";
}

TEST(ReportHub, PeaksPerPhaseKeepTheLoadApartFromTheCleanUp) {
  StressResult stress;
  stress.phases = {{"spawn", 6.0, 0.0}, {"delete", 4.0, 6.0}};
  std::vector<HubSample> samples;
  const double cpu_total[] = {0, 0.2, 0.6, 0.8, 2.6, 3.0};  // per 2 s: 10 %, 20 %, 10 %, 90 %, 20 %
  for (int i = 0; i < 6; ++i) {
    HubSample h;
    h.t_s = 2.0 * i;
    h.cpu_seconds_total = cpu_total[i];
    h.resident_memory_bytes = 80e6 + 1e6 * i;
    samples.push_back(h);
  }
  SummaryInputs in;
  in.stress = &stress;
  in.hub_samples = &samples;
  const Summary s = build_summary(in);
  ASSERT_TRUE(s.hub);
  ASSERT_EQ(s.hub->phase_peaks.size(), 2u);
  EXPECT_EQ(s.hub->phase_peaks[0].phase, "spawn");
  EXPECT_NEAR(*s.hub->phase_peaks[0].cpu_pct, 20.0, 1e-9);   // scrapes at 2, 4, 6 s
  EXPECT_NEAR(*s.hub->phase_peaks[1].cpu_pct, 90.0, 1e-9);   // at 6, 8, 10 s: the clean-up's peak
  EXPECT_NEAR(*s.hub->phase_peaks[1].memory_bytes, 85e6, 1);
  EXPECT_NE(render_terminal(s).find("Hub peak CPU by phase: spawn 20.0 %, delete 90.0 %"), std::string::npos) << render_terminal(s);
}
