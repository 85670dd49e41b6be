#include "hubstress/report/compare.hpp"

#include "hubstress/report/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hubstress {

using nlohmann::json;

namespace {

std::optional<double> number_at(const json& doc, const std::string& pointer) {
  const json::json_pointer p(pointer);
  if (!doc.contains(p)) return std::nullopt;
  const json& v = doc.at(p);
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

std::string text_at(const json& doc, const char* key) {
  return doc.contains(key) && doc[key].is_string() ? doc[key].get<std::string>() : std::string();
}

std::string title(const json& r) {
  std::string t = text_at(r, "command") + " at " + text_at(r, "started_at") + ", JupyterHub " + text_at(r, "hub_version");
  if (!text_at(r, "status").empty()) t += ", status " + text_at(r, "status");
  if (r.contains("verdict") && r["verdict"].is_object() && r["verdict"].contains("result")) {
    t += ", verdict " + r["verdict"]["result"].get<std::string>();
  }
  if (r.contains("capacity") && r["capacity"].is_object() && r["capacity"].contains("line") && r["capacity"]["line"].is_string()) {
    t += "\n   capacity: " + r["capacity"]["line"].get<std::string>();
  }
  return t;
}

class Rows {
public:
  Rows(const json& a, const json& b, std::vector<CompareRow>& out) : a_(a), b_(b), out_(out) {}

  // One row from the same place in both reports; left out when neither has it.
  void add(const std::string& section, const std::string& metric, const std::string& unit, const std::string& pointer,
           double scale = 1.0) {
    add_from(section, metric, unit, pointer, pointer, scale);
  }
  void add_from(const std::string& section, const std::string& metric, const std::string& unit, const std::string& in_a,
                const std::string& in_b, double scale = 1.0) {
    auto a = number_at(a_, in_a), b = number_at(b_, in_b);
    if (!a && !b) return;
    if (a) *a *= scale;
    if (b) *b *= scale;
    out_.push_back({section, metric, unit, a, b});
  }
  // The percentiles of a distribution (docs/report-schema.md) and how many values it has.
  void distribution(const std::string& section, const std::string& in_a, const std::string& in_b) {
    add_from(section, "count", "", in_a + "/count", in_b + "/count");
    for (const char* stat : {"p50", "p90", "p95", "p99", "max"}) add_from(section, stat, "s", in_a + "/" + stat, in_b + "/" + stat);
  }

private:
  const json& a_;
  const json& b_;
  std::vector<CompareRow>& out_;
};

// Index of the array element whose `key` is `value`, as a JSON pointer, or "" when there is none.
std::string element(const json& doc, const std::string& array, const char* key, const std::string& value) {
  const json::json_pointer p(array);
  if (!doc.contains(p) || !doc.at(p).is_array()) return "";
  const json& items = doc.at(p);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].contains(key) && items[i][key] == value) return array + "/" + std::to_string(i);
  }
  return "";
}

std::vector<std::string> names_in(const json& a, const json& b, const std::string& array, const char* key) {
  std::vector<std::string> names;
  for (const json* doc : {&a, &b}) {
    const json::json_pointer p(array);
    if (!doc->contains(p) || !doc->at(p).is_array()) continue;
    for (const auto& item : doc->at(p)) {
      if (!item.contains(key) || !item[key].is_string()) continue;
      const std::string name = item[key];
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

std::string cell(const std::optional<double>& v, const std::string& unit) {
  if (!v) return "-";
  if (unit.empty()) return fmt::format("{:g}", *v);
  if (unit == "%") return fmt::format("{:.1f}", *v);
  if (unit == "MB") return fmt::format("{:.1f}", *v);
  if (unit == "/min") return fmt::format("{:g}", *v);
  return fmt::format("{:.3f}", *v);
}

std::string change(const CompareRow& r) {
  const auto c = r.change_pct();
  if (c) return std::fabs(*c) < 0.05 ? "0.0 %" : fmt::format("{:+.1f} %", *c);
  if (r.a && r.b) return *r.a == *r.b ? "=" : fmt::format("{:+g}", *r.b - *r.a);
  return "";
}

} // namespace

std::optional<double> CompareRow::change_pct() const {
  if (!a || !b || *a == 0) return std::nullopt;
  return (*b - *a) / std::fabs(*a) * 100.0;
}

Comparison compare_reports(const json& a, const json& b) {
  check_report(a, "compare");
  check_report(b, "compare");
  if (text_at(a, "command") != text_at(b, "command")) {
    throw std::invalid_argument("the first report is of " + text_at(a, "command") + ", the second of " + text_at(b, "command") +
                                ": compare two runs of one command");
  }
  Comparison c;
  c.a_title = title(a);
  c.b_title = title(b);
  Rows rows(a, b, c.rows);
  rows.add("capacity", "held rate", "/min", "/capacity/held_rate_per_min");
  rows.add("capacity", "population held", "", "/capacity/held_population");
  rows.add("capacity", "failed at", "/min", "/capacity/failed_rate_per_min");
  rows.add("run", "duration", "s", "/duration_s");
  for (const char* field : {"requested", "created", "started", "ready"}) rows.add("users", field, "", std::string("/users/") + field);
  rows.add("servers", "ready", "", "/spawn/ready");
  rows.add("servers", "failure rate", "%", "/spawn/failure_rate_pct");
  rows.distribution("spawn to ready", "/spawn/ready_s", "/spawn/ready_s");
  rows.add("students", "completed", "", "/journey/completed");
  rows.add("students", "failure rate", "%", "/journey/failure_rate_pct");
  rows.add("students", "late starts", "", "/journey/late_starts");
  for (const auto& step : names_in(a, b, "/journey/steps", "name")) {
    const std::string in_a = element(a, "/journey/steps", "name", step), in_b = element(b, "/journey/steps", "name", step);
    if (number_at(a, in_a + "/seconds/count").value_or(0) + number_at(b, in_b + "/seconds/count").value_or(0) == 0) continue;
    rows.distribution("step " + step, in_a + "/seconds", in_b + "/seconds");
  }
  rows.add("activity", "updates (2xx)", "", "/activity/post_s/count");
  rows.add("activity", "update p95", "s", "/activity/post_s/p95");
  for (const auto& kind : names_in(a, b, "/api/kinds", "kind")) {
    const std::string in_a = element(a, "/api/kinds", "kind", kind), in_b = element(b, "/api/kinds", "kind", kind);
    rows.add_from("api " + kind, "count", "", in_a + "/count", in_b + "/count");
    rows.add_from("api " + kind, "errors", "", in_a + "/errors", in_b + "/errors");
    for (const char* stat : {"p50", "p95", "p99"}) rows.add_from("api " + kind, stat, "s", in_a + "/latency_s/" + stat, in_b + "/latency_s/" + stat);
  }
  rows.add("throttle", "429 answers", "", "/throttle/answers_429");
  rows.add("hub", "peak CPU", "%", "/hub/peak_cpu_pct");
  rows.add("hub", "peak memory", "MB", "/hub/peak_memory_bytes", 1e-6);
  rows.add("hub", "mean request", "s", "/hub/request_mean_s");
  rows.add("hub", "mean spawn", "s", "/hub/spawn_mean_s");
  return c;
}

std::string render_compare_terminal(const Comparison& c) {
  std::string out = "A: " + c.a_title + "\nB: " + c.b_title + "\n\n";
  std::size_t w0 = 7, w1 = 6;
  for (const auto& r : c.rows) w0 = std::max(w0, r.section.size()), w1 = std::max(w1, r.metric.size() + r.unit.size() + 3);
  out += fmt::format("{:<{}}  {:<{}}  {:>12}  {:>12}  {:>10}\n", "section", w0, "metric", w1, "A", "B", "change");
  for (const auto& r : c.rows) {
    const std::string metric = r.unit.empty() ? r.metric : r.metric + " (" + r.unit + ")";
    out += fmt::format("{:<{}}  {:<{}}  {:>12}  {:>12}  {:>10}\n", r.section, w0, metric, w1, cell(r.a, r.unit), cell(r.b, r.unit),
                       change(r));
  }
  return out;
}

std::string render_compare_html(const Comparison& c) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>hub-stress-test compare</title>\n";
  h += "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
       "th,td{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}"
       "tr.first td{border-top:2px solid #ccc}</style>\n</head>\n<body>\n<h1>hub-stress-test compare</h1>\n";
  h += "<p><b>A</b>: " + html_escape(c.a_title) + "<br><b>B</b>: " + html_escape(c.b_title) + "</p>\n<table id=\"compare\">\n";
  h += "<tr><th>section</th><th>metric</th><th>A</th><th>B</th><th>change</th></tr>\n";
  std::string section;
  for (const auto& r : c.rows) {
    const bool first = r.section != section;
    section = r.section;
    const std::string metric = r.unit.empty() ? r.metric : r.metric + " (" + r.unit + ")";
    h += std::string(first ? "<tr class=\"first\">" : "<tr>") + "<td>" + (first ? html_escape(r.section) : "") + "</td><td>" +
         html_escape(metric) + "</td><td class=\"n\">" + cell(r.a, r.unit) + "</td><td class=\"n\">" + cell(r.b, r.unit) +
         "</td><td class=\"n\">" + html_escape(change(r)) + "</td></tr>\n";
  }
  return h + "</table>\n</body>\n</html>\n";
}

} // namespace hubstress
