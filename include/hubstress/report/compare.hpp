#pragma once
// `compare A.json B.json`: two runs side by side ("before and after we changed the hub"), from
// their JSON reports (docs/report-schema.md): every figure both reports have, with its change.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hubstress {

struct CompareRow {
  std::string section;         // "run", "servers", "students", "step kernel", "api start server", "hub"
  std::string metric;          // "p95", "failure rate", ...
  std::string unit;            // "s", "%", "MB", "" for counts
  std::optional<double> a, b;  // missing when that report does not have it
  // (b - a) / a in percent; nothing when either is missing or a is 0
  std::optional<double> change_pct() const;
};

struct Comparison {
  std::string a_title, b_title;  // "stress-test at 2026-11-27T18:00:00Z, JupyterHub 3.0.0, status complete, verdict PASS"
  std::vector<CompareRow> rows;
};

// Throws std::invalid_argument with one line when the two cannot be compared: not reports of this
// tool, another schema version, or runs of different commands.
Comparison compare_reports(const nlohmann::json& a, const nlohmann::json& b);

std::string render_compare_terminal(const Comparison& c);
// One self-contained HTML page (no network).
std::string render_compare_html(const Comparison& c);

} // namespace hubstress
