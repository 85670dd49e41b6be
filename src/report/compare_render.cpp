// compare's terminal listing and HTML page: what differs between the runs' settings first, then
// the real changes, then what follows from the settings, then the noise; equal figures folded.
#include "compare_parts.hpp"
#include "html_parts.hpp"

#include "hubstress/report/compare.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace hubstress {

namespace {

using compare_detail::change;
using compare_detail::metric_with_unit;
using compare_detail::samples;
using compare_detail::value;
using html_detail::esc;

// The groups rows are listed in, most weight first.
struct Group {
  const char* heading;
  std::vector<CompareJudgement> judgements;
};
const std::vector<Group>& groups() {
  static const std::vector<Group> g{
      {"Changes beyond noise", {CompareJudgement::worse, CompareJudgement::better, CompareJudgement::changed}},
      {"Following from the settings that differ, not regressions", {CompareJudgement::settings}},
      {"Within noise for their sample size", {CompareJudgement::noise}},
  };
  return g;
}

std::vector<const CompareRow*> rows_of(const Comparison& c, const Group& g) {
  std::vector<const CompareRow*> out;
  for (const auto j : g.judgements) {  // worse before better before changed
    for (const auto& r : c.rows) {
      if (r.judgement == j) out.push_back(&r);
    }
  }
  return out;
}

std::size_t count_of(const Comparison& c, CompareJudgement j) {
  return static_cast<std::size_t>(std::count_if(c.rows.begin(), c.rows.end(), [&](const CompareRow& r) { return r.judgement == j; }));
}

// Pieces joined by `separator`, wrapped to lines of at most `width` characters (a piece is never
// split), every line after the first indented by `indent`.
std::string wrapped(const std::vector<std::string>& pieces, const std::string& separator, std::size_t width, const std::string& indent) {
  std::string out, line;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string piece = pieces[i] + (i + 1 < pieces.size() ? separator : "");
    if (!line.empty() && line.size() + piece.size() > width) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
      line = indent;
    }
    line += piece;
  }
  return line.empty() ? out : out + line + "\n";
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> same_settings(const Comparison& c) {
  std::vector<std::string> same;
  for (const auto& s : c.settings) {
    if (!s.differs()) same.push_back(s.name + " " + s.a);
  }
  return same;
}

bool any_setting_differs(const Comparison& c) {
  return std::any_of(c.settings.begin(), c.settings.end(), [](const CompareSetting& s) { return s.differs(); });
}

} // namespace

std::string render_compare_terminal(const Comparison& c) {
  std::string out = "A: " + c.a_title + "\n";
  if (!c.a_command_line.empty()) out += "   " + c.a_command_line + "\n";
  out += "B: " + c.b_title + "\n";
  if (!c.b_command_line.empty()) out += "   " + c.b_command_line + "\n";
  out += "\n";
  if (any_setting_differs(c)) {
    std::size_t w0 = 7, w1 = 1;
    for (const auto& s : c.settings) {
      if (s.differs()) w0 = std::max(w0, s.name.size()), w1 = std::max(w1, s.a.size());
    }
    out += "Settings that differ:\n";
    for (const auto& s : c.settings) {
      if (s.differs()) out += fmt::format("  {:<{}}  {:<{}}  -> {}\n", s.name, w0, s.a, w1, s.b);
    }
    out += "  (timings below compare runs under these different settings)\n";
  } else {
    out += "Settings: the same in both runs.\n";
  }
  auto same = same_settings(c);
  if (!same.empty()) {
    same.front() = "Same in both: " + same.front();
    out += wrapped(same, ", ", 100, "  ");
  }
  std::size_t w0 = 7, w1 = 6;
  for (const auto& r : c.rows) {  // as wide as the rows listed
    if (r.judgement != CompareJudgement::same) w0 = std::max(w0, r.section.size()), w1 = std::max(w1, metric_with_unit(r).size());
  }
  for (const auto& g : groups()) {
    const auto rows = rows_of(c, g);
    out += fmt::format("\n{} ({}):\n", g.heading, rows.size());
    if (rows.empty()) continue;
    if (g.judgements.front() == CompareJudgement::noise) {  // folded: one line per section, its figures' changes
      out += fmt::format("  {:<{}}  {:>9}  figures and their change (A, B and intervals: --html)\n", "section", w0, "n");
      for (std::size_t i = 0; i < rows.size();) {
        std::vector<std::string> changes;
        std::size_t j = i;
        for (; j < rows.size() && rows[j]->section == rows[i]->section; ++j) changes.push_back(rows[j]->metric + " " + change(*rows[j]));
        const std::string head = fmt::format("  {:<{}}  {:>9}  ", rows[i]->section, w0, samples(*rows[i]));
        out += head + wrapped(changes, ", ", 100 - head.size(), std::string(head.size(), ' ')).substr(0);
        i = j;
      }
      continue;
    }
    const bool judged = g.judgements.front() == CompareJudgement::worse;
    out += fmt::format("  {:<{}}  {:<{}}  {:>10}  {:>10}  {:>9}  {:>9}{}\n", "section", w0, "metric", w1, "A", "B", "change", "n",
                       judged ? "  judged (95 % intervals)" : g.judgements.front() == CompareJudgement::settings ? "  follows" : "");
    for (const auto* r : rows) {
      std::string tail;
      if (judged) tail = std::string("  ") + to_string(r->judgement) + ": " + r->why;
      if (r->judgement == CompareJudgement::settings) tail = "  " + r->why.substr(r->why.find(' ') + 1);
      out += fmt::format("  {:<{}}  {:<{}}  {:>10}  {:>10}  {:>9}  {:>9}{}\n", r->section, w0, metric_with_unit(*r), w1, value(r->a, r->unit),
                         value(r->b, r->unit), change(*r), samples(*r), tail);
    }
  }
  out += fmt::format("\nEqual in both ({}): not listed; --html lists them.\n", count_of(c, CompareJudgement::same));
  out += "\n" + wrapped(words("How noise is decided: " + std::string(kCompareNoiseRule)), " ", 100, "");
  return out;
}

std::string render_compare_html(const Comparison& c) {
  using html_detail::BarSeries;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>hub-stress-test compare</title>\n<style>\n";
  h += html_detail::page_style();
  h += "code{white-space:pre-wrap;word-break:break-all;font-size:.9em;background:#f6f6f6;padding:.1em .3em}\n"
       "tr.differs td{background:#fff6d6;font-weight:bold}tr.worse td{background:#fbeeee;color:#a11}tr.better td{background:#eef7ee;color:#176b1d}"
       "tr.settings td{color:#345;background:#eef2f8}tr.noise td,tr.same td{color:#888}tr.group th{background:#f3f3f3;padding-top:.6em}"
       "td.why{font-size:.85em;min-width:11em}td.n{white-space:nowrap}#chart-compare-steps{max-width:100%;height:auto}\n</style>\n</head>\n<body>\n<h1>hub-stress-test compare</h1>\n";
  for (const auto& [name, title, line] : {std::tuple{"A", &c.a_title, &c.a_command_line}, std::tuple{"B", &c.b_title, &c.b_command_line}}) {
    h += fmt::format("<p><b>{}</b>: {}", name, esc(*title));
    if (!line->empty()) h += "<br><code>" + esc(*line) + "</code>";
    h += "</p>\n";
  }

  h += "<h2>Settings</h2>\n<table id=\"settings\">\n" + html_detail::header_row({"setting", "A", "B"});
  for (const bool differing : {true, false}) {  // those that differ first
    for (const auto& s : c.settings) {
      if (s.differs() != differing) continue;
      h += std::string(differing ? "<tr class=\"differs\">" : "<tr>") + html_detail::cell(s.name) + html_detail::cell(s.a) + html_detail::cell(s.b) + "</tr>\n";
    }
  }
  h += "</table>\n";
  h += any_setting_differs(c) ? "<p class=\"note\">The highlighted settings differ: counts that follow from them are marked, not judged, "
                                "and the timings compare runs under different settings.</p>\n"
                              : "<p class=\"note\">Every setting the reports carry is the same in both runs.</p>\n";

  if (!c.steps.empty()) {
    std::vector<std::string> labels;
    std::vector<BarSeries> bars{{"A p50", {}, "#9ecae1"}, {"B p50", {}, "#fdae6b"}, {"A p95", {}, "#1f5fa8"}, {"B p95", {}, "#d94801"}};
    for (const auto& st : c.steps) {
      labels.push_back(st.name);
      bars[0].values.push_back(st.a_p50), bars[1].values.push_back(st.b_p50);
      bars[2].values.push_back(st.a_p95), bars[3].values.push_back(st.b_p95);
    }
    h += "<h2>Step times</h2>\n" +
         html_detail::grouped_bar_chart("chart-compare-steps", "Each step's p50 and p95, A beside B", "journey step", "seconds", "s", labels, bars);
    h += "<p class=\"note\">Hover a bar for its value. A step of a few milliseconds is too short to see beside the slow ones, "
         "and a step without values in a run has no bar: the figures below have every value.</p>\n";
  }

  h += "<h2>Figures</h2>\n<table id=\"compare\">\n";
  // The judgement is the row's colour and its group; a real change also says it in words (colour is not everyone's).
  const std::string header = html_detail::header_row({"section", "metric", "A", "B", "change", "n", "why (95 % intervals)"});
  auto row = [&](const CompareRow& r) {
    const bool real = r.judgement == CompareJudgement::worse || r.judgement == CompareJudgement::better || r.judgement == CompareJudgement::changed;
    return fmt::format("<tr class=\"{}\">{}{}{}{}{}{}<td class=\"why\">{}{}</td></tr>\n",
                       r.judgement == CompareJudgement::settings ? "settings" : to_string(r.judgement), html_detail::cell(r.section),
                       html_detail::cell(metric_with_unit(r)), html_detail::cell(value(r.a, r.unit), true), html_detail::cell(value(r.b, r.unit), true),
                       html_detail::cell(change(r), true), html_detail::cell(samples(r), true),
                       real ? fmt::format("<b>{}</b>: ", to_string(r.judgement)) : std::string(), esc(r.why));
  };
  for (const auto& g : groups()) {
    const auto rows = rows_of(c, g);
    h += fmt::format("<tr class=\"group\"><th colspan=\"7\">{} ({})</th></tr>\n", esc(g.heading), rows.size());
    if (!rows.empty()) h += header;
    for (const auto* r : rows) h += row(*r);
  }
  h += "</table>\n";
  h += fmt::format("<details><summary>Equal in both ({})</summary>\n<table id=\"equal\">\n", count_of(c, CompareJudgement::same)) + header;
  for (const auto& r : c.rows) {
    if (r.judgement == CompareJudgement::same) h += row(r);
  }
  h += "</table>\n</details>\n";
  h += "<p class=\"note\"><b>How noise is decided.</b> " + esc(kCompareNoiseRule) +
       " Green: better beyond noise; red: worse; blue: follows from the settings; grey: within noise.</p>\n";
  return h + "</body>\n</html>\n";
}

} // namespace hubstress
