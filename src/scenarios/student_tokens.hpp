#pragma once
// Internal to journey.cpp and capacity.cpp: the students' own tokens (--auth token).
#include "hubstress/hub/client.hpp"
#include "hubstress/hub/journal.hpp"
#include "hubstress/scenarios/journey.hpp"
#include <string>
#include <vector>

namespace hubstress {

// Seconds a student's token must live, minted now: `run_s` (its journey at the longest, with a
// margin) after the wait for the load to begin at `load_at_unix_s` (--start-at; 0 or past: none).
double token_life_s(double run_s, double load_at_unix_s);

// Mints each student a token to act as that student (POST /users/{name}/tokens, `tokens` scope),
// valid for `life_s`. A student whose token could not be made fails at that step; the others go on.
// The journal, when given, records each token's id (never its value), so that `purge --run` can
// revoke a token that outlives the run (-k, a hard stop).
std::vector<std::string> mint_tokens(Session& session, const std::vector<std::string>& users, int window, double life_s,
                                     StudentRecord* students, Journal* journal);

}  // namespace hubstress
