#include "hubstress/model/hub_metrics.hpp"
#include "hubstress/report/summary.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace hubstress;

namespace {

// GET /hub/metrics of a local JupyterHub 3.0.0 (Debian's package) after creating 2 users and
// starting 1 server: tests/unit/data/hub_metrics_3.0.txt.
std::string real_sample() {
  const auto path = std::filesystem::path(HST_UNIT_DATA) / "hub_metrics_3.0.txt";
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const PromSample* find(const std::vector<PromSample>& samples, const std::string& name) {
  for (const auto& s : samples) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

} // namespace

TEST(Prometheus, RealJupyterHub30Sample) {
  const std::string text = real_sample();
  ASSERT_FALSE(text.empty());
  std::size_t skipped = 99;
  const auto samples = parse_prometheus(text, &skipped);
  EXPECT_EQ(skipped, 0u);

  std::size_t lines = 0, comments = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++lines;
    if (line[0] == '#') ++comments;
  }
  EXPECT_EQ(samples.size(), lines - comments);  // every sample line parsed

  const PromSample* python = find(samples, "python_info");
  ASSERT_NE(python, nullptr);
  EXPECT_EQ(python->label("implementation"), "CPython");
  EXPECT_EQ(python->label("major"), "3");
  EXPECT_FALSE(python->label("nope").has_value());

  const PromSample* bucket = find(samples, "jupyterhub_request_duration_seconds_bucket");
  ASSERT_NE(bucket, nullptr);
  EXPECT_EQ(bucket->label("handler"), "jupyterhub.apihandlers.hub.RootAPIHandler");
  EXPECT_EQ(bucket->label("le"), "0.005");
  EXPECT_EQ(bucket->labels.size(), 4u);

  const HubSample h = extract_hub_sample(samples, 12.5);
  EXPECT_DOUBLE_EQ(h.t_s, 12.5);
  EXPECT_DOUBLE_EQ(*h.cpu_seconds_total, 0.59);
  EXPECT_DOUBLE_EQ(*h.resident_memory_bytes, 7.9200256e+07);
  EXPECT_DOUBLE_EQ(*h.running_servers, 1);
  EXPECT_DOUBLE_EQ(*h.total_users, 2);
  EXPECT_DOUBLE_EQ(*h.start_time_s, 1.79571822528e+09);
  // four handler/method/code label sets, one request each
  EXPECT_DOUBLE_EQ(*h.request_count, 4);
  EXPECT_NEAR(*h.request_duration_sum_s, 0.0010151863098144531 + 0.0275270938873291 + 0.48774003982543945 + 0.0075075626373291016,
              1e-12);
  // statuses success/failure/already-pending/throttled/too-many-users summed: one success
  EXPECT_DOUBLE_EQ(*h.spawn_count, 1);
  EXPECT_NEAR(*h.spawn_duration_sum_s, 0.48018868799999836, 1e-12);
}

// The watcher's parse reads only the series a HubSample keeps, and must read them as the full parse
// does: every field, every label set summed, a malformed line of those series still not taken.
TEST(Prometheus, TheWatchersParseReadsWhatTheFullParseReads) {
  const std::string text = real_sample() +
                           "myhub_event_loop_interval_seconds_sum 3.5\n"
                           "myhub_event_loop_interval_seconds_count 7\n"
                           "jupyterhub_running_servers{broken 9\n"     // malformed: not taken
                           "some_other_metric{label=\"x\" 12\n";      // malformed and not read at all
  const HubSample full = extract_hub_sample(parse_prometheus(text), 4.0);
  const HubSample quick = hub_sample_from(text, 4.0);
  EXPECT_DOUBLE_EQ(quick.t_s, 4.0);
  for (const auto& field : hub_sample_fields()) {
    const std::optional<double>& a = full.*(field.field);
    const std::optional<double>& b = quick.*(field.field);
    ASSERT_EQ(a.has_value(), b.has_value()) << field.name;
    if (a) {
      EXPECT_DOUBLE_EQ(*a, *b) << field.name;
    }
  }
  EXPECT_DOUBLE_EQ(quick.running_servers.value_or(-1), 1);
  EXPECT_DOUBLE_EQ(quick.event_loop_count.value_or(-1), 7);
  EXPECT_DOUBLE_EQ(quick.spawn_count.value_or(-1), 1);
}

TEST(Prometheus, LabelsEscapesSpecialValuesAndTimestamps) {
  const std::string text =
      "# HELP x something\n"
      "# TYPE x gauge\n"
      "a{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\nbye\",odd=\"\\t\"} 1.5\n"
      "b NaN\n"
      "c +Inf\n"
      "d -Inf 1700000000000\n"
      "e{le=\"+Inf\",} 3\r\n"
      "   f_total   7e3   \n"
      "g{ a = \"1\" , b=\"2\" } -0.25\n"
      "h{} 0\n"
      "i:j 2\n";
  std::size_t skipped = 1;
  const auto s = parse_prometheus(text, &skipped);
  EXPECT_EQ(skipped, 0u);
  ASSERT_EQ(s.size(), 9u);
  EXPECT_EQ(s[0].name, "a");
  EXPECT_EQ(s[0].label("path"), "C:\\dir");
  EXPECT_EQ(s[0].label("msg"), "say \"hi\"\nbye");
  EXPECT_EQ(s[0].label("odd"), "\\t");  // unknown escapes stay as written
  EXPECT_DOUBLE_EQ(s[0].value, 1.5);
  EXPECT_TRUE(std::isnan(s[1].value));
  EXPECT_TRUE(std::isinf(s[2].value) && s[2].value > 0);
  EXPECT_TRUE(std::isinf(s[3].value) && s[3].value < 0);
  EXPECT_EQ(s[3].timestamp_ms, 1700000000000);
  EXPECT_FALSE(s[2].timestamp_ms.has_value());
  EXPECT_EQ(s[4].label("le"), "+Inf");
  EXPECT_DOUBLE_EQ(s[4].value, 3);
  EXPECT_EQ(s[5].name, "f_total");
  EXPECT_DOUBLE_EQ(s[5].value, 7000);
  EXPECT_EQ(s[6].label("a"), "1");
  EXPECT_EQ(s[6].label("b"), "2");
  EXPECT_DOUBLE_EQ(s[6].value, -0.25);
  EXPECT_TRUE(s[7].labels.empty());
  EXPECT_EQ(s[8].name, "i:j");
}

TEST(Prometheus, GarbageLinesAreSkippedAndCounted) {
  const std::string text = "garbage\n"
                           "{} 1\n"
                           "a{b=\"unterminated} 1\n"
                           "a{b=\"x\" 1\n"
                           "a{b=c} 1\n"
                           "a{=\"x\"} 1\n"
                           "a{b=\"x\"}\n"
                           "a 1 2 3\n"
                           "a 1 notatimestamp\n"
                           "a one\n"
                           "a ++1\n"
                           "a 0x10\n"
                           "1abc 2\n"
                           "a{b=\"x\"c=\"y\"} 1\n"
                           "a{b=\"\\\n"
                           "<html><body>Login</body></html>\n"
                           "\n"
                           "   \n"
                           "# comment only\n"
                           "ok 1\n";
  std::size_t skipped = 0;
  const auto s = parse_prometheus(text, &skipped);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].name, "ok");
  EXPECT_EQ(skipped, 16u);

  // a NUL inside a line is just garbage
  const std::string with_nul("x 1\nbad\0line 2\ny 2", 18);
  const auto t = parse_prometheus(with_nul, &skipped);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].name, "y");
  EXPECT_EQ(skipped, 1u);

  EXPECT_TRUE(parse_prometheus("").empty());
  EXPECT_TRUE(parse_prometheus("\n\n\n").empty());
}

TEST(Prometheus, NanIsIgnoredAndMissingSeriesStayEmpty) {
  const auto s = parse_prometheus("process_cpu_seconds_total NaN\njupyterhub_running_servers 3\n");
  const HubSample h = extract_hub_sample(s, 0);
  EXPECT_FALSE(h.cpu_seconds_total.has_value());
  EXPECT_DOUBLE_EQ(*h.running_servers, 3);
  EXPECT_FALSE(h.resident_memory_bytes.has_value());
  EXPECT_FALSE(h.request_count.has_value());
  EXPECT_FALSE(h.spawn_count.has_value());
}

TEST(Prometheus, MutatedInputNeverCrashes) {
  const std::string base = real_sample();
  ASSERT_FALSE(base.empty());
  std::mt19937 rng(20261126);  // fixed seed: the same inputs every run
  const std::string specials = "{}\"\\=,# \n\r\t+-.eE0123456789NaInf";
  for (int round = 0; round < 300; ++round) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 40);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t pos = rng() % text.size();
      switch (rng() % 4) {
      case 0: text[pos] = specials[rng() % specials.size()]; break;
      case 1: text[pos] = static_cast<char>(rng() % 256); break;
      case 2: text.erase(pos, rng() % 20); break;
      default: text.insert(pos, 1, specials[rng() % specials.size()]); break;
      }
    }
    if (round % 10 == 0) text.resize(rng() % (text.size() + 1));  // cut anywhere
    std::size_t skipped = 0;
    std::vector<PromSample> samples;
    ASSERT_NO_THROW(samples = parse_prometheus(text, &skipped));
    ASSERT_NO_THROW(extract_hub_sample(samples, 0));
  }
}

TEST(Prometheus, TheProxysRouteTimesAndJupyterHub5sEventLoopInterval) {
  const HubSample h30 = extract_hub_sample(parse_prometheus(real_sample()), 0);
  ASSERT_TRUE(h30.proxy_add_count && h30.proxy_add_sum_s);
  EXPECT_DOUBLE_EQ(*h30.proxy_add_count, 1.0);  // success and failure label sets added up
  EXPECT_NEAR(*h30.proxy_add_sum_s, 0.0025, 1e-6);
  EXPECT_FALSE(h30.event_loop_count) << "3.0 exports no event-loop interval";
  // 5.x, with a JUPYTERHUB_METRICS_PREFIX of "myhub_": the interval is found whatever the prefix
  auto scrape = [](double t, double sum, double count) {
    return extract_hub_sample(parse_prometheus("# TYPE myhub_event_loop_interval_seconds histogram\n"
                                               "myhub_event_loop_interval_seconds_sum " + std::to_string(sum) + "\n"
                                               "myhub_event_loop_interval_seconds_count " + std::to_string(count) + "\n"),
                              t);
  };
  const HubSummary s = [&] {
    SummaryInputs in;
    const std::vector<HubSample> samples{scrape(0, 10, 100), scrape(2, 12, 110), scrape(4, 14.5, 115)};
    in.hub_samples = &samples;
    return *build_summary(in).hub;
  }();
  ASSERT_EQ(s.series.size(), 3u);
  EXPECT_FALSE(s.series[0].event_loop_interval_s);
  EXPECT_NEAR(*s.series[1].event_loop_interval_s, 0.2, 1e-9);  // 2 s over 10 intervals
  EXPECT_NEAR(*s.series[2].event_loop_interval_s, 0.5, 1e-9);  // saturating: 2.5 s over 5
  EXPECT_NEAR(*s.event_loop_mean_s, 4.5 / 15, 1e-9);
}
