#pragma once
// What the files of src/report/html*.cpp share: the charts (html_charts.cpp) and the tables
// (html_tables.cpp) that render_html (html.cpp) puts on the page. Not part of the library's interface.
#include "hubstress/report/report.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress::html_detail {

inline std::string esc(std::string_view s) { return html_escape(s); }

// ---- charts (html_charts.cpp: over time; html_bars.cpp: bars, no_data, capacity) ----

// A note in place of a chart that has nothing to show.
std::string no_data(const std::string& what);
// One series of bars: a value per category (none: no bar), its name in the legend, its colour.
struct BarSeries {
  std::string name;  // "" for a chart of one series (no legend)
  std::vector<std::optional<double>> values;
  std::string colour;  // "" for the report's bar colour
};
// Bars over named categories, the series side by side in each, with a legend above the plot when
// more than one; wider than the other charts when the labels need it. min_y_max: the axis's least top.
std::string grouped_bar_chart(const std::string& id, const std::string& title, const std::string& xl, const std::string& yl,
                              const std::string& unit, const std::vector<std::string>& labels, const std::vector<BarSeries>& series,
                              double min_y_max = 0);
// Bars over named categories.
std::string bar_chart(const std::string& id, const std::string& title, const std::string& xl, const std::string& yl,
                      const std::vector<std::string>& labels, const std::vector<std::size_t>& counts);
// Requests and errors per second, and p95 latency per second, by kind of call; servers or students;
// the hub's CPU and memory: all on the run's time axis.
std::string dashboard(const Summary& s);
// A capacity search: time to first result (p50, p95) and the failure rate against the arrival rate.
std::string capacity_charts(const CapacitySummary& c);

// The page's stylesheet (html.cpp), for every page the tool writes.
const char* page_style();

// ---- tables (html_tables.cpp) ----

std::string cell(const std::string& text, bool numeric = false);
std::string header_row(const std::vector<std::string>& names);
std::string api_table(const Summary& s);
// A merged report: every shard and what became of it.
std::string shards_section(const Summary& s);
std::string spawn_section(const SpawnSummary& sp);
std::string journey_section(const JourneySummary& j);
std::string capacity_section(const CapacitySummary& c);
std::string throttle_section(const Summary& s);
std::string activity_section(const ActivitySummary& a);
std::string hub_section(const HubSummary& h);
std::string thresholds_section(const Summary& s);

} // namespace hubstress::html_detail
