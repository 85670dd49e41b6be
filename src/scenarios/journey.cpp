#include "hubstress/scenarios/journey.hpp"

#include "student.hpp"

#include "hubstress/hub/client.hpp"
#include "hubstress/hub/spawn.hpp"
#include "hubstress/engine/loop.hpp"
#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"
#include "hubstress/hub/users.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <random>

namespace hubstress {

using nlohmann::json;


JourneyResult journey(Session& session, const JourneyOptions& options) {
  JourneyResult result;
  journey(session, options, result);
  return result;
}

void journey(Session& session, const JourneyOptions& options, JourneyResult& result) {
  ScopeTimer timer("journey");
  result = JourneyResult{};
  Progress& progress = session.progress();
  progress.total = options.count;
  std::vector<std::string> existing;  // (list_stress_test_users, create_users and delete_users set the live phase)
  result.phases.push_back(run_phase(session, "find", [&] { existing = list_stress_test_users(session, options.prefix); }));
  const CreateHooks hooks = journal_hooks(options.journal, result.created);
  auto teardown = [&] {
    result.deleted = remove_run_users(session, result.created, options.keep, options.batch_size, options.journal, result.phases);
  };
  std::vector<std::string> tokens;
  try {
    result.phases.push_back(run_phase(session, "create", [&] {
                               create_users(options.count, options.batch_size, session, existing, options.prefix, &hooks,
                                            options.names);
                             }));
    result.students.resize(result.created.size());
    const auto offsets =
        arrival_offsets(static_cast<int>(result.created.size()), options.ramp_up_s, options.arrival, options.seed, options.place);
    for (std::size_t i = 0; i < result.created.size(); ++i) {
      result.students[i].user = result.created[i];
      result.students[i].scheduled_s = offsets[i];
    }
    if (options.auth == JourneyAuth::token) {
      progress.phase = Phase::tokens;
      // long enough for the wait for --start-at and the whole journey, short enough that a kept
      // user's token does not linger
      const auto& o = options;
      const double life = token_life_s(o.ramp_up_s + o.server_timeout_s + o.step_timeout_s * (4 + o.cells) + o.think_s * o.cells + 3600,
                                       o.load_at_unix_s);
      result.phases.push_back(run_phase(session, "tokens", [&] {
                                 tokens = mint_tokens(session, result.created, o.batch_size, life, result.students.data(), o.journal);
                               }));
    } else {
      tokens.assign(result.created.size(), std::string());
    }
    if (options.before_load) options.before_load();
  } catch (const std::exception& e) {
    if (dynamic_cast<const Interrupted*>(&e) == nullptr) {
      logger().error("Setting up the students failed ({}); {} users of this run exist", e.what(), result.created.size());
    }
    teardown();
    throw;
  }

  progress.phase = Phase::journey;
  // the live line states the arrival rate, as the summary does (students over the ramp-up)
  if (options.ramp_up_s > 0) progress.rate_per_min = static_cast<double>(result.students.size()) / options.ramp_up_s * 60.0;
  ready_for_class(session.context(), options);
  Class cls{options, session.context(), root_of_api_url(session.api_url()), Clock::now(), session.context().work(), progress,
            result.spawn_stats};
  std::random_device entropy;
  std::vector<std::unique_ptr<Student>> students;
  logger().info("{}{} students arrive over {:g} s ({}), --auth {}", session.dry_run() ? "[dry-run] " : "", result.students.size(),
                options.ramp_up_s, to_string(options.arrival), to_string(options.auth));
  result.phases.push_back(run_phase(session, "journeys", [&] {
                             engine::Group flows(*session.loop());
                             for (std::size_t i = 0; i < result.students.size(); ++i) {
                               if (!result.students[i].failed_step.empty()) continue;  // no token
                               students.push_back(std::make_unique<Student>(cls, result.students[i], tokens[i],
                                                                            (static_cast<std::uint64_t>(entropy()) << 32) ^ i));
                               flows.spawn(students.back()->run());
                             }
                             session.run(flows.wait());
                           }));
  students.clear();
  result.interrupted = session.interrupted();
  int said = 0;  // a few lines, not one per student of a large class: the reports group them all
  for (const auto& s : result.students) {
    if (s.ok()) continue;
    if (++said <= 10) logger().warn("{}: {} failed: {}", s.user, s.failed_step, s.reason);
  }
  if (said > 10) logger().warn("... and {} more failed journeys (every one is in the reports)", said - 10);
  teardown();
}

} // namespace hubstress
