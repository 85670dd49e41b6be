// The merge of every shard's report into the run of the whole test, on one time axis.
#include "hubstress/scenarios/shard.hpp"

#include "hubstress/hub/watch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace hubstress {

namespace {

// The span of a phase over every shard, on the merged axis; nothing when no shard had it.
std::optional<PhaseTime> merged_phase(const std::vector<std::vector<PhaseTime>>& per_shard, const std::vector<double>& shift,
                                      const std::string& name) {
  double start = INFINITY, end = -INFINITY;
  for (std::size_t i = 0; i < per_shard.size(); ++i) {
    for (const auto& p : per_shard[i]) {
      if (p.name != name || p.start_s < 0) continue;
      start = std::min(start, p.start_s + shift[i]);
      end = std::max(end, p.start_s + shift[i] + p.seconds);
    }
  }
  if (!(start <= end)) return std::nullopt;
  return PhaseTime{name, end - start, start};
}

std::vector<PhaseTime> merge_phases(const std::vector<std::vector<PhaseTime>>& per_shard, const std::vector<double>& shift) {
  std::vector<std::string> names;  // in the order the shards ran them
  for (const auto& phases : per_shard) {
    for (const auto& p : phases) {
      if (std::find(names.begin(), names.end(), p.name) == names.end()) names.push_back(p.name);
    }
  }
  std::vector<PhaseTime> out;
  for (const auto& name : names) {
    if (auto p = merged_phase(per_shard, shift, name)) out.push_back(*p);
  }
  return out;
}

// How far a time measured from a shard's `phase` moves to be measured from the merged one's.
double rebase(const std::vector<PhaseTime>& shard_phases, double shift, const std::vector<PhaseTime>& merged, const std::string& phase) {
  double own = -1, all = -1;
  for (const auto& p : shard_phases) {
    if (p.name == phase) own = p.start_s;
  }
  for (const auto& p : merged) {
    if (p.name == phase) all = p.start_s;
  }
  return own < 0 || all < 0 ? 0.0 : own + shift - all;
}

void moved(double& t, double by) {
  if (t >= 0) t += by;
}

std::string differs(const std::string& name, const std::string& first, const std::string& what, const std::string& theirs,
                    const std::string& ours) {
  return "merge: " + name + " is not of the same test as " + first + ": its " + what + " is " +
         (theirs.empty() ? "(none)" : theirs) + ", not " + (ours.empty() ? "(none)" : ours);
}

using Shards = std::vector<const RunData*>;  // by index

// Refuses reports of different tests, and two reports of one shard; returns which report each shard's is.
std::map<int, std::size_t> check_same_test(const std::vector<ShardReport>& reports, const std::vector<std::string>& names) {
  const ShardReport& first = reports.front();
  auto name_of = [&](std::size_t i) { return i < names.size() ? names[i] : "report " + std::to_string(i + 1); };
  std::map<int, std::size_t> by_index;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const ShardReport& r = reports[i];
    const auto check = [&](const std::string& what, const std::string& theirs, const std::string& ours) {
      if (theirs != ours) throw std::invalid_argument(differs(name_of(i), name_of(0), what, theirs, ours));
    };
    check("command", r.data.command, first.data.command);
    check("hub", r.data.endpoint, first.data.endpoint);
    // a shard that never reached the hub does not know its version: it is merged as a failed shard
    if (r.data.hub_version != "unknown" && first.data.hub_version != "unknown") {
      check("JupyterHub version", r.data.hub_version, first.data.hub_version);
    }
    check("--prefix", r.shard.prefix, first.shard.prefix);
    check("journey options", r.options, first.options);
    check("tool version", r.data.run.tool_version, first.data.run.tool_version);
    check("number of shards", std::to_string(r.shard.count), std::to_string(first.shard.count));
    check("--start-at", r.shard.start_at, first.shard.start_at);
    check("--count of the whole test", std::to_string(r.shard.total_count), std::to_string(first.shard.total_count));
    if (const auto [it, fresh] = by_index.emplace(r.shard.index, i); !fresh) {
      throw std::invalid_argument("merge: " + name_of(i) + " and " + name_of(it->second) + " are both shard " +
                                  to_string(ShardSpec{r.shard.index, r.shard.count}));
    }
  }
  return by_index;
}

// The hub's own figures: one shard's scrapes (they all read the same hub), the one that saw the
// longest; the other shards' scrapes are left out of the API figures too, as if one watched.
// Returns which shard's they are.
std::size_t merge_hub_samples(const Shards& shards, const std::vector<double>& shift, RunData& out) {
  std::size_t widest = 0;
  double widest_span = -1;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const auto& s = shards[i]->hub_samples;
    const double span = s.empty() ? -1 : s.back().t_s - s.front().t_s;
    if (span > widest_span) widest = i, widest_span = span;
  }
  for (HubSample s : shards[widest]->hub_samples) {
    s.t_s += shift[widest];
    out.hub_samples.push_back(s);
  }
  return widest;
}

// A shard's line in the merged report.
ShardRow shard_row(const RunData& d, double offset_s) {
  ShardRow row;
  row.shard = *d.run.shard;
  row.run_id = d.run.run_id;
  row.status = d.run.status;
  row.error = d.run.error;
  row.users_created = static_cast<int>(d.stress ? d.stress->created.size() : d.journey ? d.journey->created.size()
                                                                     : d.activity ? d.activity->created.size() : 0);
  row.offset_s = offset_s;
  row.duration_s = d.duration_s;
  return row;
}

// Every shard's requests on the merged axis (the hub watcher's of one shard only), its row, and how
// the whole test ended.
void merge_runs(const Shards& shards, const std::vector<double>& shift, std::size_t widest, int shard_count, MergedRun& m) {
  RunData& out = m.data;
  auto watcher = [](const RequestRecord& r) { return r.kind == ApiKind::metrics || r.route == kHubHealthRoute; };

  std::vector<std::string> errors;
  bool failed = !m.missing.empty(), interrupted = false;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const RunData& d = *shards[i];
    if (shift[i] == 0) out.started_at = d.started_at;
    out.duration_s = std::max(out.duration_s, shift[i] + d.duration_s);
    out.run.batch_size += d.run.batch_size;
    failed = failed || d.run.status == "failed";
    interrupted = interrupted || d.run.status == "interrupted";
    if (!d.run.error.empty()) errors.push_back("shard " + std::to_string(d.run.shard->index) + ": " + d.run.error);
    for (RequestRecord r : d.records) {
      if (i != widest && watcher(r)) continue;
      r.start_s += shift[i];
      out.records.push_back(std::move(r));
    }
    m.shards.push_back(shard_row(d, shift[i]));
  }
  std::stable_sort(out.records.begin(), out.records.end(), [](const RequestRecord& a, const RequestRecord& b) { return a.start_s < b.start_s; });
  out.run.status = failed ? "failed" : interrupted ? "interrupted" : "complete";
  if (!m.missing.empty()) {
    std::string list;
    for (int i : m.missing) list += (list.empty() ? "" : ", ") + std::to_string(i);
    errors.insert(errors.begin(), fmt::format("{} of {} shards have no report (shard {})", m.missing.size(), shard_count, list));
  }
  for (const auto& e : errors) out.run.error += (out.run.error.empty() ? "" : "; ") + e;
}

// Each shard's phases of one scenario (none for a shard without it).
template <typename Member>
std::vector<std::vector<PhaseTime>> phases_of(const Shards& shards, Member member) {
  std::vector<std::vector<PhaseTime>> all;
  for (const RunData* d : shards) all.push_back((*d).*member ? ((*d).*member)->phases : std::vector<PhaseTime>{});
  return all;
}

StressResult merge_stress(const Shards& shards, const std::vector<double>& shift) {
  const auto per_shard = phases_of(shards, &RunData::stress);
  StressResult s;
  s.phases = merge_phases(per_shard, shift);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (!shards[i]->stress) continue;
    const StressResult& r = *shards[i]->stress;
    const double by = rebase(r.phases, shift[i], s.phases, "spawn");
    s.created.insert(s.created.end(), r.created.begin(), r.created.end());
    for (SpawnRecord rec : r.spawns) {
      moved(rec.requested_at_s, by);
      moved(rec.ended_at_s, by);
      s.spawns.push_back(std::move(rec));
    }
    s.spawn_stats.throttled += r.spawn_stats.throttled;
    s.spawn_stats.throttled_s += r.spawn_stats.throttled_s;
    s.spawn_stats.smallest_window += r.spawn_stats.smallest_window;  // the windows of the shards side by side
    s.deleted = s.deleted && r.deleted;
  }
  return s;
}

JourneyResult merge_journey(const Shards& shards, const std::vector<double>& shift) {
  const auto per_shard = phases_of(shards, &RunData::journey);
  JourneyResult j;
  j.phases = merge_phases(per_shard, shift);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (!shards[i]->journey) continue;
    const JourneyResult& r = *shards[i]->journey;
    const double by = rebase(r.phases, shift[i], j.phases, "journeys");
    j.created.insert(j.created.end(), r.created.begin(), r.created.end());
    for (StudentRecord st : r.students) {
      st.scheduled_s += by;
      if (st.left_s >= 0) st.left_s += by;
      for (auto& step : st.steps) step.start_s += by;
      j.students.push_back(std::move(st));
    }
    j.interrupted = j.interrupted || r.interrupted;
    j.deleted = j.deleted && r.deleted;
    j.spawn_stats.throttled += r.spawn_stats.throttled;
    j.spawn_stats.throttled_s += r.spawn_stats.throttled_s;
  }
  std::stable_sort(j.students.begin(), j.students.end(),
                   [](const StudentRecord& a, const StudentRecord& b) { return a.scheduled_s < b.scheduled_s; });
  return j;
}

// Whether a shard began stage k (it ran to a verdict, or was cut or interrupted in it).
bool begun(const Shards& shards, std::size_t k) {
  for (const RunData* d : shards) {
    if (d->capacity && k < d->capacity->stages.size() && d->capacity->stages[k].verdict != StageVerdict::pending) return true;
  }
  return false;
}

// The stages of the search from the first shard's plan, each with every shard's students of it;
// a stage the shards ran to a verdict is left for the whole test's thresholds to judge again
// (held, in wait of that), one that a shard cut or was interrupted in stays so.
CapacityResult merge_capacity(const Shards& shards, const JourneyResult& journey) {
  CapacityResult c;
  const RunData* first = nullptr;
  for (const RunData* d : shards) {
    if (d->capacity && !first) first = d;
  }
  if (!first) return c;
  c.stage_s = first->capacity->stage_s;
  c.stay_s = first->capacity->stay_s;
  c.stages = first->capacity->stages;
  c.thresholds = first->capacity->thresholds;
  for (const RunData* d : shards) {
    if (d->capacity && c.ended_by.empty()) c.ended_by = d->capacity->ended_by;
  }
  for (std::size_t k = 0; k < c.stages.size(); ++k) {
    // judged again only when every shard ran it to a verdict: a stage some shard did not run
    // whole (cut, not reached) would be judged on part of its rate
    int judged = 0, interrupted = 0, other = 0;
    for (const RunData* d : shards) {
      const StageVerdict here = d->capacity && k < d->capacity->stages.size() ? d->capacity->stages[k].verdict : StageVerdict::pending;
      judged += here == StageVerdict::held || here == StageVerdict::failed ? 1 : 0;
      interrupted += here == StageVerdict::interrupted ? 1 : 0;
      other += here == StageVerdict::cut || here == StageVerdict::pending ? 1 : 0;
    }
    StageVerdict& v = c.stages[k].verdict;
    const int all = static_cast<int>(shards.size());
    if (interrupted > 0) {
      v = StageVerdict::interrupted;
    } else if (judged == all) {
      v = StageVerdict::held;  // in wait of judge_stages
    } else if (other == all && !begun(shards, k)) {
      v = StageVerdict::pending;
    } else {
      v = StageVerdict::cut;
      if (judged > 0 && c.ended_by.empty()) {
        c.ended_by = fmt::format("not every shard ran stage {} to its end (a shard stopped at its own failed stage)", k + 1);
      }
    }
  }
  c.journey = journey;
  place_students(c);
  return c;
}

ActivityResult merge_activity(const Shards& shards) {
  ActivityResult a;
  for (const RunData* d : shards) {
    if (!d->activity) continue;
    const ActivityResult& r = *d->activity;
    a.used.insert(a.used.end(), r.used.begin(), r.used.end());
    a.created.insert(a.created.end(), r.created.begin(), r.created.end());
    a.post_s.insert(a.post_s.end(), r.post_s.begin(), r.post_s.end());
    a.ping_s.insert(a.ping_s.end(), r.ping_s.begin(), r.ping_s.end());
    a.post_errors += r.post_errors;
    a.ping_errors += r.ping_errors;
    a.per_user.insert(r.per_user.begin(), r.per_user.end());
    a.workers += r.workers;
    a.deleted = a.deleted && r.deleted;
  }
  return a;
}

} // namespace

MergedRun merge_shards(const std::vector<ShardReport>& reports, const std::vector<std::string>& names) {
  if (reports.empty()) throw std::invalid_argument("merge: no reports");
  const ShardReport& first = reports.front();
  const std::map<int, std::size_t> by_index = check_same_test(reports, names);

  MergedRun m;
  for (int i = 0; i < first.shard.count; ++i) {
    if (!by_index.count(i)) m.missing.push_back(i);
  }
  Shards shards;
  for (const auto& [index, i] : by_index) shards.push_back(&reports[i].data);
  double t0 = INFINITY;
  for (const RunData* d : shards) t0 = std::min(t0, d->session_start_unix_s);
  std::vector<double> shift;
  double longest = 0;
  for (const RunData* d : shards) longest = std::max(longest, d->duration_s);
  for (std::size_t k = 0; k < shards.size(); ++k) {
    shift.push_back(shards[k]->session_start_unix_s - t0);
    // shards of one test overlap in time: one that began after the others had all ended is another
    // test, or its machine's clock is off (a day of skew made a 14 MB report of empty seconds)
    if (!std::isfinite(shift.back()) || shift.back() > longest + 60) {
      throw std::invalid_argument(fmt::format("merge: a shard began {:.0f} s after the first, longer than the test itself ({:.0f} s): "
                                              "not shards of one test, or a machine's clock is off",
                                              shift.back(), longest));
    }
  }

  RunData& out = m.data;
  out.command = first.data.command;
  out.endpoint = first.data.endpoint;
  out.hub_version = first.data.hub_version;
  for (const auto& r : reports) {
    if (r.data.hub_version != "unknown") out.hub_version = r.data.hub_version;
  }
  out.session_start_unix_s = t0;
  out.run.tool_version = first.data.run.tool_version;
  out.requested_users = first.shard.total_count;  // a missing shard's users were asked for too
  const std::size_t widest = merge_hub_samples(shards, shift, out);
  merge_runs(shards, shift, widest, first.shard.count, m);
  if (first.data.stress) out.stress = merge_stress(shards, shift);
  if (first.data.journey) {
    out.journey = merge_journey(shards, shift);
    out.journey_options = first.data.journey_options;
    out.journey_options->count = static_cast<int>(out.journey->created.size());
  }
  if (first.data.capacity && out.journey) {
    out.capacity = merge_capacity(shards, *out.journey);
    out.journey = out.capacity->journey;  // in stage order
    out.requested_users = static_cast<int>(out.journey->created.size());  // capacity has no --count: its users are its students
  }
  if (first.data.activity) out.activity = merge_activity(shards);
  return m;
}

} // namespace hubstress
