#pragma once
// `compare A.json B.json`: two runs side by side ("before and after we changed the hub"), from
// their JSON reports (docs/report-schema.md): their command lines, the settings that differ, then
// every figure both reports have with its change, each judged: a real change (better or worse),
// one that follows from the settings, or one within the noise of its sample size.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace hubstress {

// How a row's change reads; the terminal lists rows in this order of weight, the HTML colours them.
enum class CompareJudgement {
  settings,  // a count or the duration that follows from settings that differ: not a regression
  worse,     // beyond the noise of its sample size, the wrong way
  better,    // beyond the noise, the right way
  changed,   // beyond the noise, neither better nor worse (a count of calls)
  noise,     // within what the sample sizes can tell apart
  same,      // equal in both (or in neither)
};
const char* to_string(CompareJudgement j);

struct CompareRow {
  std::string section;         // "run", "servers", "students", "step kernel", "api start server", "hub"
  std::string metric;          // "p95", "failure rate", ...
  std::string unit;            // "s", "%", "MB", "" for counts
  std::optional<double> a, b;  // missing when that report does not have it
  std::optional<std::size_t> n_a, n_b;  // the sample size behind a percentile or a rate, when it has one
  CompareJudgement judgement = CompareJudgement::same;
  std::string why;             // one phrase: "follows cells", the 95 % intervals "A [0.301, no bound], B [0.290, 0.412]"
  // (b - a) / a in percent; nothing when either is missing or a is 0
  std::optional<double> change_pct() const;
};

// One setting of a run as its report carries it ("cells", "3").
struct CompareSetting {
  std::string name;
  std::string a, b;  // as shown; "-" when that report does not carry it
  bool differs() const { return a != b; }
};

// One journey step's percentiles in both runs, for the side-by-side chart (seconds; missing: no values).
struct CompareStep {
  std::string name;
  std::optional<double> a_p50, a_p95, b_p50, b_p95;
};

struct Comparison {
  std::string a_title, b_title;  // "stress-test at 2026-11-27T18:00:00Z, JupyterHub 3.0.0, status complete, verdict PASS"
  std::string a_command_line, b_command_line;  // as the reports carry them (secrets already ***)
  std::vector<CompareSetting> settings;         // every setting either report carries, in a fixed order
  std::vector<CompareRow> rows;                  // in report order (run, users, ..., hub), each judged
  std::vector<CompareStep> steps;                // journey and capacity: every step either run has values of
};

// Throws std::invalid_argument with one line when the two cannot be compared: not reports of this
// tool, another schema version, or runs of different commands.
Comparison compare_reports(const nlohmann::json& a, const nlohmann::json& b);

// How a change is judged noise, in words (the terminal and the HTML page end with it; README says the same).
extern const char* const kCompareNoiseRule;

std::string render_compare_terminal(const Comparison& c);
// One self-contained HTML page (no network).
std::string render_compare_html(const Comparison& c);

} // namespace hubstress
