#include "hubstress/scenarios/capacity.hpp"

#include "student.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <stdexcept>

namespace hubstress {

namespace {

// The places of a shard among a stage's `total` students: I, I + N, ...
int share_of_stage(int total, const ArrivalPlace& place) {
  if (place.count <= 1) return total;
  return total / place.count + (place.index < total % place.count ? 1 : 0);
}

// Every student of the stage has its first result or failed before it (one who never arrived counts).
bool decided(const JourneyResult& journey, const CapacityStage& stage) {
  for (std::size_t i = stage.first; i < stage.first + stage.count; ++i) {
    const StudentRecord& s = journey.students[i];
    if (!s.time_to_first_result_s && s.failed_step.empty()) return false;
  }
  return true;
}

// What one capacity run carries: the plan, the students as they are made, and where the search is.
class Search {
public:
  Search(Session& session, const CapacityOptions& options, CapacityResult& result)
      : session_(session), o_(options), jo_(options.journey), r_(result), j_(result.journey),
        hooks_(journal_hooks(options.journey.journal, result.journey.created)) {}

  void run() {
    plan();
    j_.phases.push_back(run_phase(session_, "find", [&] { existing_ = list_stress_test_users(session_, jo_.prefix); }));
    try {
      j_.phases.push_back(run_phase(session_, "create", [&] { provision(0); }));
      if (jo_.before_load) jo_.before_load();
    } catch (const std::exception& e) {
      if (dynamic_cast<const Interrupted*>(&e) == nullptr) {
        logger().error("Setting up the first stage's students failed ({}); {} users of this run exist", e.what(), j_.created.size());
      }
      teardown();
      throw;
    }
    std::exception_ptr failure;
    j_.phases.push_back(run_phase(session_, "journeys", [&] {
                           try {
                             stages();
                           } catch (const Interrupted&) {
                             // the students end as interrupted; the reports say so
                           } catch (...) {
                             failure = std::current_exception();
                           }
                           end_students();
                         }));
    verdicts_after_the_end();
    log_failures();
    teardown();
    if (failure) std::rethrow_exception(failure);
  }

private:
  void plan() {
    Progress& progress = session_.progress();
    std::size_t planned = 0;
    for (std::size_t k = 0; k < o_.rates.size(); ++k) {
      CapacityStage stage;
      stage.rate_per_min = o_.rates[k];
      stage.start_s = static_cast<double>(k) * o_.stage_s;
      stage.duration_s = o_.stage_s;
      r_.stages.push_back(stage);
      planned += static_cast<std::size_t>(share_of_stage(stage_students(stage.rate_per_min, o_.stage_s), jo_.place));
    }
    r_.stage_s = o_.stage_s;
    r_.stay_s = o_.stay_s;
    // a Student keeps a reference to its record: the records never move
    j_.students.reserve(planned);
    progress.total = static_cast<int>(planned);
    progress.stages = static_cast<int>(r_.stages.size());
  }

  // Stage k's users created and, with --auth token, their tokens minted: its students, ready to arrive.
  void provision(std::size_t k) {
    CapacityStage& stage = r_.stages[k];
    const int total = stage_students(stage.rate_per_min, o_.stage_s);
    const ArrivalPlace place{jo_.place.index, jo_.place.count, jo_.place.count > 1 ? total : 0};
    const int count = share_of_stage(total, jo_.place);
    const std::size_t before = j_.created.size();
    std::vector<std::string> taken = existing_;
    taken.insert(taken.end(), j_.created.begin(), j_.created.end());
    create_users(count, jo_.batch_size, session_, taken, jo_.prefix, &hooks_, jo_.names);
    const std::vector<std::string> names(j_.created.begin() + static_cast<std::ptrdiff_t>(before), j_.created.end());
    const auto offsets = arrival_offsets(static_cast<int>(names.size()), o_.stage_s, jo_.arrival, jo_.seed + k, place);
    if (j_.students.size() + names.size() > j_.students.capacity()) throw std::logic_error("capacity: more students than planned");
    stage.first = j_.students.size();
    stage.count = names.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
      StudentRecord s;
      s.user = names[i];
      s.scheduled_s = stage.start_s + offsets[i];
      s.stage = static_cast<int>(k);
      j_.students.push_back(std::move(s));
    }
    if (jo_.auth == JourneyAuth::token) {
      // the first stage's are minted before the wait for --start-at: they live through it too
      const double life = token_life_s(static_cast<double>(r_.stages.size()) * o_.stage_s + jo_.server_timeout_s + jo_.step_timeout_s * 5 +
                                           (o_.stay_s >= 0 ? o_.stay_s : static_cast<double>(r_.stages.size()) * o_.stage_s) + 3600,
                                       jo_.load_at_unix_s);
      const auto minted = mint_tokens(session_, names, jo_.batch_size, life, j_.students.data() + stage.first, jo_.journal);
      tokens_.insert(tokens_.end(), minted.begin(), minted.end());
    } else {
      tokens_.resize(j_.students.size());
    }
    if (t0_) session_.progress().phase = Phase::journey;  // creating users set it to create
  }

  // The stages on their time line: each one's students sent on their way, the next one's made
  // meanwhile, the stages judged as their students are decided, until one fails or none is left.
  void stages() {
    Progress& progress = session_.progress();
    progress.phase = Phase::journey;
    ready_for_class(session_.context(), jo_);
    CallContext& calls = session_.context();
    on_interrupt_.emplace(calls.work(), Wake{this});
    class_.emplace(Class{jo_, calls, root_of_api_url(session_.api_url()), Clock::now(), calls.work(), progress, j_.spawn_stats,
                         arrivals_.get_token(), leave_.get_token(), true, o_.stay_s});
    t0_ = class_->t0;
    flows_.emplace(*session_.loop());
    logger().info("{}{} stages of {:g} s, {} to {} students a minute ({}, --auth {}){}", session_.dry_run() ? "[dry-run] " : "",
                  r_.stages.size(), o_.stage_s, format_rate(r_.stages.front().rate_per_min), format_rate(r_.stages.back().rate_per_min),
                  to_string(jo_.arrival), to_string(jo_.auth),
                  o_.stay_s >= 0 ? fmt::format("; each student leaves {:g} s after its first result", o_.stay_s) : "");
    for (std::size_t k = 0; k < r_.stages.size() && !stop_ && !interrupted() && r_.ended_by.empty(); ++k) {
      judge();
      if (stop_) break;
      const double late = std::chrono::duration<double>(Clock::now() - (*t0_ + span(static_cast<double>(k) * o_.stage_s))).count();
      if (late > 1) {
        logger().warn("Stage {} begins {:.1f} s late: making its {} users took longer than the stage before it (its students "
                      "due meanwhile arrive at once; a larger --batch-size or a longer --stage helps)",
                      k + 1, late, r_.stages[k].count);
      }
      launch(k);
      progress.stage = static_cast<int>(k + 1);
      progress.rate_per_min = r_.stages[k].rate_per_min;
      logger().info("Stage {}/{}: {} students arrive at {} over {:g} s", k + 1, r_.stages.size(), r_.stages[k].count,
                    format_rate(r_.stages[k].rate_per_min), o_.stage_s);
      if (k + 1 < r_.stages.size()) prepare(k + 1);
      wait_judging(*t0_ + span(static_cast<double>(k + 1) * o_.stage_s));
    }
    // every stage has begun, or the search stopped: no one else arrives, and the students who did
    // get their first result (or fail before it), so that every begun stage can be judged
    if (stop_) arrivals_.request_stop();
    while (!interrupted() && !all_decided()) {
      session_.pause(0.2);
      judge();
      if (stop_) arrivals_.request_stop();
    }
  }

  // The next stage's students made while this one runs. A hub that can no longer create users or
  // mint tokens ends the search after this stage: its students are still judged.
  void prepare(std::size_t k) {
    try {
      provision(k);
    } catch (const Interrupted&) {
      throw;
    } catch (const std::exception& e) {
      r_.ended_by = fmt::format("making stage {}'s students failed ({})", k + 1, e.what());
      logger().error("{}: the search ends with stage {}", r_.ended_by, k);
    }
  }

  void launch(std::size_t k) {
    const CapacityStage& stage = r_.stages[k];
    for (std::size_t i = stage.first; i < stage.first + stage.count; ++i) {
      if (!j_.students[i].failed_step.empty()) continue;  // no token
      students_.push_back(std::make_unique<Student>(*class_, j_.students[i], tokens_[i], (static_cast<std::uint64_t>(entropy_()) << 32) ^ i));
      flows_->spawn(students_.back()->run());
    }
    launched_ = k + 1;
  }

  // Runs the loop until `until`, judging the stages whose students are all decided.
  void wait_judging(Clock::time_point until) {
    while (!stop_ && !interrupted() && Clock::now() < until) {
      session_.pause(std::min(0.2, std::chrono::duration<double>(until - Clock::now()).count()));
      judge();
    }
  }

  // Judges the stages in order: one whose students are all decided, or one that cannot hold any
  // more even if every student still on the way got its first result now.
  void judge() {
    // once interrupted, a stage's students end as interrupted: no verdict is given from them
    while (!stop_ && !interrupted() && judged_ < launched_) {
      CapacityStage& stage = r_.stages[judged_];
      bool held = true;
      if (decided(j_, stage)) {
        // a shard's stage with none of its students (all failed to get a token count) holds: nothing to judge
        if (stage.count > 0) held = o_.holds ? o_.holds(judged_students(r_, judged_)) : judged_students(r_, judged_).failed() == 0;
      } else if (o_.cannot_hold && o_.cannot_hold(best_case(judged_))) {
        held = false;
        logger().info("Stage {} at {} cannot hold any more, whatever its students still on the way do", judged_ + 1,
                      format_rate(stage.rate_per_min));
      } else {
        break;
      }
      stage.verdict = held ? StageVerdict::held : StageVerdict::failed;
      logger().info("Stage {} at {}: {} ({} students)", judged_ + 1, format_rate(stage.rate_per_min), held ? "held" : "did not hold",
                    stage.count);
      if (held) ++session_.progress().held;
      if (!held) stop_ = true;
      ++judged_;
    }
  }

  // Stage k's students as judged, those still on the way counted at their best: a first result
  // now (one not arrived yet: at once).
  JourneyResult best_case(std::size_t k) const {
    JourneyResult out = judged_students(r_, k);
    const double now_s = std::chrono::duration<double>(Clock::now() - *t0_).count();
    for (auto& s : out.students) {
      if (s.time_to_first_result_s || !s.failed_step.empty()) continue;
      s.time_to_first_result_s = std::max(0.0, now_s - s.scheduled_s);
    }
    return out;
  }

  bool all_decided() const {
    for (std::size_t k = 0; k < launched_; ++k) {
      if (!decided(j_, r_.stages[k])) return false;
    }
    return judged_ >= launched_ || stop_;
  }

  bool interrupted() const { return session_.context().work().stop_requested(); }

  // The run ends: those who stayed leave (kernel deleted), those not arrived never will.
  void end_students() {
    arrivals_.request_stop();
    leave_.request_stop();
    if (flows_) session_.run(flows_->wait());
    students_.clear();
    flows_.reset();
  }

  void verdicts_after_the_end() {
    j_.interrupted = session_.interrupted();
    for (std::size_t k = 0; k < launched_; ++k) {
      CapacityStage& stage = r_.stages[k];
      if (stage.verdict != StageVerdict::pending) continue;
      stage.verdict = j_.interrupted ? StageVerdict::interrupted : StageVerdict::cut;
    }
    r_.reached_max = !r_.stages.empty() && r_.stages.back().verdict == StageVerdict::held;
    drop_never_arrived();
  }

  // Students who never arrived (a cut stage's, an interrupted one's), and those of a stage made but never begun, were
  // never part of the test: out of the records (their users are still this run's, and deleted
  // with the others).
  void drop_never_arrived() {
    std::vector<StudentRecord> kept;
    kept.reserve(j_.students.size());
    for (std::size_t k = 0; k < r_.stages.size(); ++k) {
      CapacityStage& stage = r_.stages[k];
      const std::size_t first = kept.size();
      for (std::size_t i = stage.first; i < stage.first + stage.count && k < launched_; ++i) {
        const StudentRecord& s = j_.students[i];
        if (s.failed_step == "arrival") continue;  // the search had stopped, or the run was interrupted
        kept.push_back(s);
      }
      stage.first = first;
      stage.count = kept.size() - first;
    }
    j_.students = std::move(kept);
  }

  void log_failures() const {
    int said = 0;
    for (const auto& s : j_.students) {
      if (s.ok()) continue;
      if (++said <= 10) logger().warn("{}: {} failed: {}", s.user, s.failed_step, s.reason);
    }
    if (said > 10) logger().warn("... and {} more failed journeys (every one is in the reports)", said - 10);
  }

  void teardown() {
    j_.deleted = remove_run_users(session_, j_.created, jo_.keep, jo_.batch_size, jo_.journal, j_.phases);
  }

  struct Wake {
    Search* search;
    void operator()() const {
      search->arrivals_.request_stop();
      search->leave_.request_stop();
    }
  };

  Session& session_;
  const CapacityOptions& o_;
  const JourneyOptions& jo_;
  CapacityResult& r_;
  JourneyResult& j_;
  const CreateHooks hooks_;
  std::vector<std::string> existing_;
  std::vector<std::string> tokens_;  // one per student ("" with --auth form)
  std::stop_source arrivals_;
  std::stop_source leave_;
  std::optional<std::stop_callback<Wake>> on_interrupt_;
  std::optional<Class> class_;
  std::optional<Clock::time_point> t0_;
  std::optional<engine::Group> flows_;
  std::vector<std::unique_ptr<Student>> students_;
  std::random_device entropy_;
  std::size_t launched_ = 0;  // stages whose students were sent on their way
  std::size_t judged_ = 0;    // stages judged, in order
  bool stop_ = false;         // a stage did not hold
};

} // namespace

double parse_rate(std::string_view text, std::string_view what) {
  const std::string t(text);
  std::size_t used = 0;
  double n = 0;
  try {
    n = std::stod(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = t.substr(used);
  double per_min = -1;
  if (used > 0 && (unit.empty() || unit == "/min" || unit == "/m")) per_min = n;
  if (used > 0 && unit == "/s") per_min = n * 60;
  if (!(per_min > 0) || !std::isfinite(per_min)) {
    throw std::invalid_argument(fmt::format("{} '{}': give students per minute or per second, above 0, as 40/min or 2/s", what, t));
  }
  if (per_min > 100000) throw std::invalid_argument(fmt::format("{} '{}': at most 100000/min", what, t));
  return per_min;
}

std::vector<double> capacity_rates(double start, double factor, double max, const std::vector<double>& explicit_rates) {
  constexpr std::size_t kMaxStages = 50;
  if (!explicit_rates.empty()) {
    for (std::size_t i = 0; i < explicit_rates.size(); ++i) {
      if (!(explicit_rates[i] > 0)) throw std::invalid_argument("--rates: every rate must be above 0");
      if (i > 0 && !(explicit_rates[i] > explicit_rates[i - 1])) throw std::invalid_argument("--rates: each rate must be above the one before");
    }
    if (explicit_rates.size() > kMaxStages) throw std::invalid_argument("--rates: at most 50 stages");
    return explicit_rates;
  }
  if (!(factor > 1) || factor > 100) throw std::invalid_argument("--factor must be above 1 (and at most 100)");
  if (!(start > 0)) throw std::invalid_argument("--start must be above 0");
  if (max < start) throw std::invalid_argument(fmt::format("--max {} is below --start {}", format_rate(max), format_rate(start)));
  std::vector<double> rates;
  for (double r = start; r <= max * (1 + 1e-9); r *= factor) {
    const double rounded = std::round(r * 10) / 10;
    if (rates.empty() || rounded > rates.back()) rates.push_back(rounded);
    if (rates.size() > kMaxStages) {
      throw std::invalid_argument(fmt::format("--start {} times --factor {:g} up to --max {} makes more than 50 stages", format_rate(start),
                                              factor, format_rate(max)));
    }
  }
  return rates;
}

int stage_students(double rate_per_min, double stage_s) {
  return std::max(1, static_cast<int>(std::lround(rate_per_min * stage_s / 60.0)));
}

void capacity(Session& session, const CapacityOptions& options, CapacityResult& result) {
  ScopeTimer timer("capacity");
  result = CapacityResult{};
  if (options.rates.empty()) throw std::invalid_argument("capacity: no stage to run");
  Search(session, options, result).run();
}

} // namespace hubstress
