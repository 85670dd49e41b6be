#pragma once
// The answer of a capacity search, from what it recorded: each stage judged on its own students,
// what broke first in the stage that failed, the capacity line. Pure functions, as build_summary.
#include "hubstress/model/capacity.hpp"
#include "hubstress/report/summary.hpp"
#include "hubstress/report/thresholds.hpp"

#include <string>
#include <vector>

namespace hubstress {

// What a stage is judged by when no --threshold is given.
const std::vector<std::string>& capacity_default_thresholds();

// Refuses (std::invalid_argument, one line) a threshold a stage cannot be judged by: a stage is
// judged on its students' journeys (the journey metrics, journey_failure_rate, late_starts).
void check_stage_threshold(const Threshold& threshold);

// A stage's students (judged_students()) against the thresholds.
std::vector<ThresholdResult> judge_stage(const std::vector<Threshold>& thresholds, const JourneyResult& students,
                                         const JourneyOptions& options);

// The stages of a merged search judged again on every shard's students, in order: the stages the
// shards ran to a verdict (held, failed) become held or failed, up to the first that fails; after
// it, and after a stage a shard cut or was interrupted in, none is judged (cut).
void judge_stages(CapacityResult& result, const std::vector<Threshold>& thresholds, const JourneyOptions& options);

// The capacity part of `summary` (built by build_summary from the same run, with its journey,
// phases and hub samples): every stage's figures and verdict, what broke first, the capacity line.
CapacitySummary summarize_capacity(const CapacityResult& result, const JourneyOptions& options,
                                   const std::vector<Threshold>& thresholds, const Summary& summary,
                                   const std::vector<RequestRecord>& records);

} // namespace hubstress
