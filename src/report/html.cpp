// The HTML report: one self-contained page, its charts (html_charts.cpp) and tables (html_tables.cpp).
#include "hubstress/report/report.hpp"

#include "common.hpp"
#include "html_parts.hpp"

#include <fmt/format.h>

namespace hubstress {

namespace {

using report_detail::seconds;
using html_detail::api_table;
using html_detail::capacity_section;
using html_detail::cell;
using html_detail::dashboard;
using html_detail::esc;
using html_detail::header_row;
using html_detail::activity_section;
using html_detail::hub_section;
using html_detail::journey_section;
using html_detail::shards_section;
using html_detail::spawn_section;
using html_detail::thresholds_section;
using html_detail::throttle_section;

constexpr const char* kStyle = R"(body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0;display:block;max-width:100%;overflow-x:auto}th,td{padding:.2em .6em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold}
tr.good td:first-child{color:#176b1d;font-weight:bold}tr.bad td:first-child,.bad{color:#a11;font-weight:bold}
.note{color:#666;font-size:.9em}
svg.chart{display:block;margin:1em 0;background:#fff;max-width:640px}svg.timechart{width:100%;max-width:none;height:auto}
svg .band0{fill:#eef2f8}svg .band1{fill:#f8f9fb}svg .band-label{font-size:10px;fill:#667}
svg .reference{stroke:#a11;stroke-dasharray:6 4;stroke-width:1.5}svg .grid{stroke:#eee}svg .axis{stroke:#444}
svg .tick{font-size:10px;fill:#444}svg .axis-label{font-size:11px;fill:#222}svg .chart-title{font-size:13px;font-weight:bold;fill:#222}
svg .data{fill:none;stroke:#1f5fa8;stroke-width:2}svg .dot{fill:#1f5fa8}svg .bar{fill:#1f5fa8}
.verdict{border-left:.4em solid #888;padding:.4em .8em;margin:.8em 0;background:#f6f6f6}.verdict b{font-size:1.3em}
.verdict ul{margin:.3em 0 0 0}.verdict.pass{border-color:#176b1d;background:#eef7ee}.verdict.pass b{color:#176b1d}
.verdict.fail{border-color:#a11;background:#fbeeee}.verdict.fail b{color:#a11}.verdict.stopped{border-color:#b57800;background:#fbf5e8}
@media (max-width:1000px){body{margin:1em}th,td{padding:.15em .3em;font-size:.85em}}
)";

} // namespace

const char* html_detail::page_style() { return kStyle; }

std::string html_escape(std::string_view text) {
  const std::string valid = report_detail::valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (const char c : valid) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string render_html(const Summary& s) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + esc("hub-stress-test " + s.command + " " + s.started_at) + "</title>\n";
  h += std::string("<style>\n") + kStyle + "</style>\n</head>\n<body>\n";
  h += "<h1>" + esc("hub-stress-test " + s.command) + "</h1>\n";
  if (!s.verdict.result.empty()) {
    const char* tone = s.verdict.result == "PASS" ? "pass" : s.verdict.result == "FAIL" ? "fail" : "stopped";
    h += fmt::format("<div class=\"verdict {}\" id=\"verdict\"><b>{}</b><ul>\n", tone, esc(s.verdict.result));
    for (const auto& w : s.verdict.why) h += "<li>" + esc(w) + "</li>\n";
    h += "</ul></div>\n";
  }
  h += "<table>\n";
  h += "<tr>" + cell("hub") + cell(s.endpoint) + "</tr>\n";
  h += "<tr>" + cell("JupyterHub version") + cell(s.hub_version) + "</tr>\n";
  h += "<tr>" + cell("started") + cell(s.started_at) + "</tr>\n";
  h += "<tr>" + cell("duration") + cell(seconds(s.duration_s) + " s") + "</tr>\n";
  if (s.users) {
    std::string users = std::to_string(s.users->requested) + " requested, " + std::to_string(s.users->created) + " created by this run";
    if (s.users->started) users += fmt::format(", {} servers started, {} ready", *s.users->started, s.users->ready.value_or(0));
    h += "<tr>" + cell("users") + cell(users) + "</tr>\n";
  }
  h += "<tr>" + cell("status") + cell(s.run.status + (s.run.error.empty() ? "" : ": " + s.run.error)) + "</tr>\n";
  if (!s.run.command_line.empty()) h += "<tr>" + cell("command") + "<td><code>" + esc(s.run.command_line) + "</code></td></tr>\n";
  if (!s.run.run_id.empty()) h += "<tr>" + cell("run") + cell(s.run.run_id) + "</tr>\n";
  if (s.run.shard) {
    const ShardInfo& sh = *s.run.shard;
    std::string shard = fmt::format("{}/{} of a test of {} users", sh.index, sh.count, sh.total_count);
    if (!sh.start_at.empty()) {
      shard += "; --start-at " + sh.start_at + (sh.start_late_s > 0 ? ", began " + seconds(sh.start_late_s) + " s late" : ", began on time");
    }
    h += "<tr>" + cell("shard") + cell(shard) + "</tr>\n";
  }
  h += "<tr>" + cell("tool") + cell("hub-stress-test " + s.run.tool_version) + "</tr>\n";
  h += "</table>\n";
  h += thresholds_section(s);
  if (s.capacity) h += capacity_section(*s.capacity);
  h += shards_section(s);
  h += dashboard(s);

  if (!s.phases.empty()) {
    h += "<h2>Phases</h2>\n<table>\n" + header_row({"phase", "seconds"});
    for (const auto& p : s.phases) h += "<tr>" + cell(p.name) + cell(seconds(p.seconds), true) + "</tr>\n";
    h += "</table>\n";
  }

  h += "<h2>API calls</h2>\n" + api_table(s);

  if (s.spawn) h += spawn_section(*s.spawn);
  h += throttle_section(s);
  if (s.activity) h += activity_section(*s.activity);
  if (s.journey) h += journey_section(*s.journey);
  if (s.hub) h += hub_section(*s.hub);
  h += fmt::format("<p class=\"note\">{} version {}; the same numbers are in the JSON report.</p>\n", kReportSchema,
                   kReportSchemaVersion);
  // Once the browser has laid the page out, each chart records the size of what it drew
  // (data-drawn="WxH" in px): automated checks read it from the rendered DOM. Inline, no network.
  h += "<script>document.querySelectorAll('svg.chart').forEach(function (svg) {"
       "var w = 0, h = 0; svg.querySelectorAll('.data, .bar').forEach(function (e) {"
       "var b = e.getBBox(); w = Math.max(w, b.width); h = Math.max(h, b.height); });"
       "svg.setAttribute('data-drawn', Math.round(w) + 'x' + Math.round(h)); });</script>\n";
  return h + "</body>\n</html>\n";
}

} // namespace hubstress
