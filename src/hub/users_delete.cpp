#include "hubstress/hub/users.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"

#include "users_internal.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace hubstress {

using nlohmann::json;
using users_detail::existing_among;
using users_detail::user_path;

namespace {

std::string common_prefix(const std::vector<std::string>& names) {
  if (names.empty()) return {};
  std::string prefix = names.front();
  for (const auto& n : names) {
    std::size_t i = 0;
    while (i < prefix.size() && i < n.size() && prefix[i] == n[i]) ++i;
    prefix.resize(i);
  }
  return prefix;
}

// What became of a user in one round of delete_users.
enum class Fate { deleted, failed, unknown };  // unknown: the hub stopped answering before it was known
using Fates = std::map<std::string, Fate>;

// How long the clean-up waits for a hub that stopped answering, whatever the number of users.
constexpr double kHubDownWaitS = 30.0;

Fates delete_stopped(const std::map<std::string, bool>& stopped, Session& session, std::size_t max_in_flight) {
  ScopeTimer timer("delete_users_after_stopping_servers");
  Fates fates;
  std::vector<std::string> names;
  std::vector<Request> deletes;
  for (const auto& [name, was_stopped] : stopped) {
    if (!was_stopped) {
      logger().warn("Not deleting user {}: its server did not stop", name);
      fates[name] = Fate::failed;
      continue;
    }
    names.push_back(name);
    deletes.push_back(session.request(ApiKind::delete_user, user_path(name)));
  }
  const auto answers = session.call_all(std::move(deletes), max_in_flight, [&](std::size_t, const Response& r) {
    if (r.ok() || r.status == 404) ++session.progress().deleted;  // on the display as it arrives
  });
  for (std::size_t i = 0; i < names.size(); ++i) {
    const Response& r = answers[i];
    if (r.ok()) {
      logger().debug("Deleted user {}", names[i]);
      fates[names[i]] = Fate::deleted;
    } else if (r.status == 404) {
      logger().info("User {} was already deleted", names[i]);
      fates[names[i]] = Fate::deleted;
    } else if (r.outcome == Outcome::hub_down) {
      fates[names[i]] = Fate::unknown;
    } else {
      logger().warn("Failed to delete user {}: {}", names[i], r.describe());
      fates[names[i]] = Fate::failed;
    }
  }
  return fates;
}

} // namespace

bool delete_users_after_stopping_servers(const std::map<std::string, bool>& stopped, Session& session,
                                         std::size_t max_in_flight) {
  const Fates fates = delete_stopped(stopped, session, max_in_flight);
  return std::all_of(fates.begin(), fates.end(), [](const auto& kv) { return kv.second == Fate::deleted; });
}

namespace {

// Step 2 of delete_users: poll (in bulk) until every server in `waiting` has stopped.
// `restop`: servers that were pending a spawn when asked to stop; asked again once it settles.
void wait_for_servers_to_stop(std::set<std::string> waiting, std::set<std::string> restop, Session& session,
                              int batch_size, double deadline_s, std::map<std::string, bool>& stopped) {
  ScopeTimer timer("wait_for_servers_to_stop");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(deadline_s);
  double interval = 0.5;
  while (!waiting.empty()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      for (const auto& name : waiting) {
        logger().warn("Server of user {} did not stop within {:.0f} s", name, deadline_s);
        stopped[name] = false;
      }
      return;
    }
    session.pause(interval);
    interval = std::min(interval * 1.5, 2.0);
    std::map<std::string, json> active;
    try {
      const std::vector<std::string> names(waiting.begin(), waiting.end());
      const std::string filter = common_prefix(names);
      std::string query = "state=active";
      if (filter.size() >= 3) query += "&name_filter=" + url_escape(filter);
      for (auto& user : list_users(session, query)) {
        std::string name = user["name"].get<std::string>();
        active.emplace(std::move(name), std::move(user));
      }
    } catch (const AuthError&) {
      throw;
    } catch (const Interrupted&) {
      throw;
    } catch (const HubError& e) {
      if (session.hub_down()) return;  // the caller waits for the hub and asks again
      logger().warn("Could not poll server states: {}", e.what());
      continue;
    }
    std::vector<std::string> again;
    for (auto it = waiting.begin(); it != waiting.end();) {
      auto found = active.find(*it);
      if (found == active.end() || !has_active_server(found->second)) {
        stopped[*it] = true;
        ++session.progress().stopped;
        restop.erase(*it);
        it = waiting.erase(it);
        continue;
      }
      const json& server = found->second["servers"][""];
      const bool spawn_pending = server.contains("pending") && server["pending"] == "spawn";
      if (restop.count(*it) && !spawn_pending) again.push_back(*it);
      ++it;
    }
    if (again.empty()) continue;
    std::vector<Request> stops;
    for (const auto& name : again) stops.push_back(session.request(ApiKind::stop_server, user_path(name) + "/server"));
    const auto answers = session.call_all(std::move(stops), static_cast<std::size_t>(batch_size));
    for (std::size_t i = 0; i < again.size(); ++i) {
      const long status = answers[i].status;
      if (status == 204 || status == 404) {
        stopped[again[i]] = true;
        ++session.progress().stopped;
        waiting.erase(again[i]);
        restop.erase(again[i]);
      } else if (status == 202) {
        restop.erase(again[i]);
      } else if (status != 400) {
        logger().warn("Failed to stop server of user {}: {}", again[i], answers[i].describe());
        stopped[again[i]] = false;
        waiting.erase(again[i]);
        restop.erase(again[i]);
      }
    }
  }
}

} // namespace

namespace {

// Every user of `usernames` unknown: the hub went down in the middle of a round.
Fates all_unknown(const std::vector<std::string>& usernames) {
  Fates fates;
  for (const auto& n : usernames) fates[n] = Fate::unknown;
  return fates;
}

// One round of delete_users: stop, wait until stopped, delete.
Fates delete_users_once(const std::vector<std::string>& usernames, Session& session, int batch_size,
                        double stop_deadline_s) {
  std::map<std::string, bool> stopped;
  std::set<std::string> waiting;
  std::set<std::string> restop;
  {
    ScopeTimer step("stop_servers");
    std::vector<Request> stops;
    for (const auto& name : usernames) {
      stops.push_back(session.request(ApiKind::stop_server, user_path(name) + "/server"));
    }
    // the live display counts each stop as its answer arrives, not once all of them are in
    const auto answers = session.call_all(std::move(stops), static_cast<std::size_t>(batch_size), [&](std::size_t, const Response& r) {
      if (r.status == 204 || r.status == 404) ++session.progress().stopped;
    });
    if (session.hub_down()) return all_unknown(usernames);  // stops are safe to send again
    std::vector<std::string> unsure;  // 500: before 5.5 that is also the answer for a missing user
    for (std::size_t i = 0; i < usernames.size(); ++i) {
      const std::string& name = usernames[i];
      const Response& r = answers[i];
      if (r.status == 204 || r.status == 404) {
        stopped[name] = true;  // counted on the display as it arrived
      } else if (r.status == 202) {
        waiting.insert(name);
      } else if (r.status == 400) {  // a spawn is pending: stop it once it has settled
        waiting.insert(name);
        restop.insert(name);
      } else if (r.status == 500) {
        unsure.push_back(name);
      } else {
        logger().warn("Failed to stop server of user {}: {}", name, r.describe());
        stopped[name] = false;
      }
    }
    const auto still_there = existing_among(unsure, session, false);
    if (session.hub_down()) return all_unknown(usernames);
    for (const auto& name : unsure) {
      const bool exists = std::find(still_there.begin(), still_there.end(), name) != still_there.end();
      if (exists) logger().warn("Failed to stop server of user {}: HTTP 500", name);
      stopped[name] = !exists;
    }
    logger().info("Asked {} servers to stop: {} stopped, {} stopping", usernames.size(),
                  std::count_if(stopped.begin(), stopped.end(), [](const auto& kv) { return kv.second; }),
                  waiting.size());
  }
  if (!waiting.empty()) {
    wait_for_servers_to_stop(std::move(waiting), std::move(restop), session, batch_size, stop_deadline_s, stopped);
    if (session.hub_down()) return all_unknown(usernames);
  }
  return delete_stopped(stopped, session, static_cast<std::size_t>(batch_size));
}

// Arms the session's circuit breaker for the clean-up; disarmed (and closed) however it ends.
struct BreakerArmed {
  Session& session;
  explicit BreakerArmed(Session& s) : session(s) { session.arm_breaker(true); }
  ~BreakerArmed() { session.arm_breaker(false); }
  BreakerArmed(const BreakerArmed&) = delete;
  BreakerArmed& operator=(const BreakerArmed&) = delete;
};

} // namespace

bool delete_users(const std::vector<std::string>& usernames, Session& session, int batch_size, double stop_deadline_s) {
  ScopeTimer timer("delete_users");
  if (batch_size < 1) throw std::invalid_argument("batch size must be at least 1");
  session.progress().phase = Phase::delete_users;
  session.progress().to_delete += static_cast<int>(usernames.size());
  const BreakerArmed breaker(session);
  bool success = true;
  std::vector<std::string> todo = usernames;
  while (!todo.empty()) {
    const Fates fates = delete_users_once(todo, session, batch_size, stop_deadline_s);
    std::vector<std::string> unknown;
    for (const auto& [name, fate] : fates) {
      if (fate == Fate::failed) success = false;
      if (fate == Fate::unknown) unknown.push_back(name);
    }
    if (unknown.empty()) break;
    // a hub that is down: one bounded wait for the whole clean-up, not retries per user
    if (!session.wait_for_hub(kHubDownWaitS)) {
      logger().error("The hub at {} did not answer for {:.0f} s: clean-up given up with {} of {} users not deleted",
                     session.endpoint(), kHubDownWaitS, unknown.size(), usernames.size());
      return false;
    }
    todo = std::move(unknown);
  }
  return success;
}

} // namespace hubstress

namespace hubstress {

std::vector<TokenRef> revoke_tokens(const std::vector<TokenRef>& tokens, Session& session, int window) {
  ScopeTimer timer("revoke_tokens");
  std::vector<Request> requests;
  for (const auto& t : tokens) {
    requests.push_back(session.request("DELETE", user_path(t.user) + "/tokens/" + url_escape(t.id), "/users/{name}/tokens/{id}"));
  }
  const auto answers = session.call_all(std::move(requests), static_cast<std::size_t>(std::max(window, 1)));
  std::vector<TokenRef> revoked;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    // 404: the token (or its user) is gone already
    if (answers[i].status == 204 || answers[i].status == 200 || answers[i].status == 404) {
      revoked.push_back(tokens[i]);
    } else {
      logger().warn("Could not revoke token {} of {}: {}", tokens[i].id, tokens[i].user, answers[i].describe());
    }
  }
  return revoked;
}

} // namespace hubstress
