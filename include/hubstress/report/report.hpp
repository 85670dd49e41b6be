#pragma once
// The run's reports, every one rendered from the same Summary (summary.hpp). Pure functions except
// write_csv, which writes files. None of them ever sees the token.
//
//   render_terminal(s)             end-of-run table for stdout
//   to_json(s)                     machine-readable report; fields in docs/report-schema.md
//   write_csv(s, stress, recs, d)  d/users.csv (stress-test), d/journeys.csv (journey), d/requests.csv, d/api.csv
//   render_html(s)                 one self-contained HTML page with inline SVG charts
#include "hubstress/report/summary.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace hubstress {

inline constexpr const char* kReportSchema = "hub-stress-test/report";
inline constexpr int kReportSchemaVersion = 1;

// Aligned plain text, one section per part of the run that happened: header, phases, API calls
// (count, errors by status, retries, latency min/p50/p90/p95/p99/max in seconds), spawn-to-ready
// distribution and histogram, failures by reason, 429s and time throttled, activity, hub metrics,
// thresholds. Control characters in text from the hub are replaced by spaces. Ends with a newline.
std::string render_terminal(const Summary& summary);

// {"schema": kReportSchema, "schema_version": kReportSchemaVersion, ...}: see docs/report-schema.md.
nlohmann::json to_json(const Summary& summary);
// Throws std::invalid_argument unless `report` is a JSON report of this schema version; `reader`
// ("compare", "merge") names what wants to read it.
void check_report(const nlohmann::json& report, std::string_view reader);
// What a report read back was refused for, in nlohmann's words without their
// "[json.exception.type_error.302] " tag (they name a field's type, never its value).
std::string json_error_text(const nlohmann::json::exception& e);

// Creates `dir` (and parents) when missing and writes, overwriting:
//   users.csv     user,state,requested_at_s,ready_after_s,throttled,reason   (only when `stress` is not null)
//                 activity-stress-test: user,updates,failed_updates,created_by_this_run  (when `activity` is not null)
//   requests.csv  start_s,method,route,status,outcome,latency_s,total_s,retries   (one row per record)
//   api.csv       kind,count,errors,retries,min_s,p50_s,p90_s,p95_s,p99_s,max_s   (summary.api, then "all")
// Seconds that do not apply (a server never requested or never ready) are empty cells.
// Throws std::runtime_error naming the path when a directory or file cannot be written.
void write_csv(const Summary& summary, const StressResult* stress, const std::vector<RequestRecord>& records,
               const std::string& dir, const JourneyResult* journey = nullptr, const ActivityResult* activity = nullptr);

// One HTML page with no external resources (no scripts, fonts, images or styles by URL): the tables
// of render_terminal plus inline SVG charts, each <svg> with an id:
//   chart-ready       servers ready over time (stress-test)
//   chart-spawn-hist  spawn-to-ready histogram (stress-test)
//   chart-latency     API latency p95 per second
//   chart-hub-cpu     hub CPU, percent of one core (when hub samples exist)
//   chart-hub-mem     hub resident memory, MB (when hub samples exist)
// A chart with nothing to draw is replaced by a one-line note. All text is HTML-escaped.
std::string render_html(const Summary& summary);

// One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, or starts or ends with a
// space; quotes inside are doubled.
std::string csv_field(std::string_view text);

// &, <, >, " and ' as entities: safe in element text and in quoted attribute values.
std::string html_escape(std::string_view text);

} // namespace hubstress
