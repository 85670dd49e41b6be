// compare: two reports side by side, every figure both have with its change; reports that cannot
// be compared are refused with one line.
#include "hubstress/report/compare.hpp"
#include "hubstress/report/report.hpp"
#include "hubstress/report/summary.hpp"

#include <gtest/gtest.h>

using namespace hubstress;
using nlohmann::json;

namespace {

// A stress-test report whose servers were ready after `ready_s` seconds (one failed when `fail`).
json stress_report(const std::vector<double>& ready_s, bool fail) {
  StressResult r;
  for (std::size_t i = 0; i < ready_s.size(); ++i) {
    SpawnRecord s;
    s.user = "u-" + std::to_string(i);
    s.state = SpawnState::ready;
    s.requested_at_s = 0;
    s.ready_after_s = ready_s[i];
    r.spawns.push_back(s);
    r.created.push_back(s.user);
  }
  if (fail) {
    SpawnRecord s;
    s.user = "u-x";
    s.state = SpawnState::failed;
    r.spawns.push_back(s);
    r.created.push_back(s.user);
  }
  std::vector<RequestRecord> records(1);
  records[0].kind = ApiKind::stop_server;
  records[0].status = 204;
  records[0].latency_s = ready_s.front() / 10;
  SummaryInputs in;
  in.command = "stress-test";
  in.stress = &r;
  in.records = &records;
  in.requested_users = static_cast<int>(r.created.size());
  return to_json(build_summary(in));
}

const CompareRow* row(const Comparison& c, const std::string& section, const std::string& metric) {
  for (const auto& r : c.rows) {
    if (r.section == section && r.metric == metric) return &r;
  }
  return nullptr;
}

} // namespace

TEST(Compare, EveryFigureOfBothRunsWithItsChange) {
  const auto c = compare_reports(stress_report({1, 2, 3, 4}, false), stress_report({2, 4, 6, 8}, true));
  const auto* p50 = row(c, "spawn to ready", "p50");
  ASSERT_NE(p50, nullptr);
  EXPECT_DOUBLE_EQ(*p50->a, 2);
  EXPECT_DOUBLE_EQ(*p50->b, 4);
  EXPECT_DOUBLE_EQ(*p50->change_pct(), 100);
  const auto* failures = row(c, "servers", "failure rate");
  ASSERT_NE(failures, nullptr);
  EXPECT_DOUBLE_EQ(*failures->a, 0);
  EXPECT_DOUBLE_EQ(*failures->b, 20);
  EXPECT_FALSE(failures->change_pct()) << "no percentage of a change from 0";
  const auto* stop = row(c, "api stop server", "p95");
  ASSERT_NE(stop, nullptr);
  EXPECT_DOUBLE_EQ(*stop->b, 0.2);
  EXPECT_EQ(row(c, "step kernel", "p95"), nullptr) << "a stress-test has no journey steps";
  const std::string text = render_compare_terminal(c);
  EXPECT_NE(text.find("+100.0 %"), std::string::npos) << text;
  EXPECT_NE(text.find("A: stress-test at"), std::string::npos) << text;
  const std::string html = render_compare_html(c);
  EXPECT_NE(html.find("<table id=\"compare\">"), std::string::npos);
  EXPECT_NE(html.find("spawn to ready"), std::string::npos);
}

TEST(Compare, ReportsThatCannotBeComparedAreRefusedWithOneLine) {
  const json stress = stress_report({1}, false);
  json journey = stress;
  journey["command"] = "journey";
  json other_version = stress;
  other_version["schema_version"] = 2;
  for (const auto& [a, b] : std::vector<std::pair<json, json>>{
           {stress, journey}, {stress, other_version}, {stress, json{{"hello", 1}}}, {json::array(), stress}}) {
    try {
      compare_reports(a, b);
      ADD_FAILURE() << "compared " << b.dump().substr(0, 80);
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}
