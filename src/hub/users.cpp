#include "hubstress/hub/users.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"
#include "hubstress/hub/url.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace hubstress {

using nlohmann::json;

namespace {

constexpr std::string_view kTestWords[] = {"stress", "test", "load", "bench"};
constexpr const char* kNeededScopes = "admin:users, admin:servers (and read:hub, read:metrics for hub metrics)";

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string user_path(const std::string& name) { return "/users/" + url_escape(name); }

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

std::string join(const std::vector<std::string>& names, std::size_t most = 10) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < most; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  if (names.size() > most) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

[[noreturn]] void throw_auth_error(const Response& r) {
  throw AuthError("the hub refused the token (HTTP 403): invalid token or missing scopes; it needs " +
                  std::string(kNeededScopes) + ". Hub said: " + r.describe());
}

// Which of `names` exist on the hub now (GET /users/{name} each, a few in flight). `sure`: only a 200
// counts (to claim a user as ours); otherwise anything but a 404 counts (to clean up what may exist).
std::vector<std::string> existing_among(const std::vector<std::string>& names, Session& session, bool sure) {
  std::vector<Request> lookups;
  for (const auto& n : names) lookups.push_back(session.request(ApiKind::get_user, user_path(n)));
  const auto answers = session.call_all(std::move(lookups), 10);
  std::vector<std::string> found;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (sure ? answers[i].status == 200 : answers[i].status != 404) found.push_back(names[i]);
  }
  return found;
}

} // namespace

std::vector<std::string> missing_scopes(const json& token_model, std::string_view command) {
  if (!token_model.is_object() || !token_model.contains("scopes") || !token_model["scopes"].is_array()) return {};
  std::set<std::string> have;
  for (const auto& s : token_model["scopes"]) {
    if (s.is_string()) have.insert(s.get<std::string>());
  }
  // the fine scopes behind each request a command sends (admin:users and admin:servers grant them all)
  // read:servers: without it the user model has no servers, and a stopping server looks stopped
  std::vector<std::string> needed{"list:users", "read:servers", "servers", "delete:users"};
  if (command == "stress-test") {
    needed.insert(needed.end(), {"admin:users"});
  } else if (command == "activity-stress-test") {
    needed.insert(needed.end(), {"admin:users", "read:users", "users:activity"});
  } else if (command == "journey") {
    needed.insert(needed.end(), {"admin:users", "tokens"});  // each student's own token
  } else if (command == "journey --auth form") {
    needed.insert(needed.end(), {"admin:users"});
  }
  std::vector<std::string> missing;
  for (const auto& scope : needed) {
    if (!have.count(scope)) missing.push_back(scope);
  }
  return missing;
}

void check_token(Session& session, std::string_view command) {
  const Response r = session.call(session.request("GET", "/user", "/user"));
  if (r.status == 403 || r.status == 401) throw_auth_error(r);
  if (!r.ok()) return;  // an old hub without /user: the first real request will tell
  const json model = json::parse(r.body, nullptr, false);
  const auto missing = missing_scopes(model, command);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    const bool tokens = std::find(missing.begin(), missing.end(), "tokens") != missing.end();
    throw AuthError("the token lacks scopes that " + std::string(command) + " needs: " + list +
                    (tokens ? " (grant admin:users, admin:servers and tokens)" : " (grant admin:users and admin:servers)"));
  }
}

std::optional<std::string> stress_test_number(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix || name[prefix.size()] != '-') {
    return std::nullopt;
  }
  std::string_view digits = name.substr(prefix.size() + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const auto first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string("0") : std::string(digits.substr(first));
}

bool number_less(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

std::string number_plus(std::string_view digits, std::uint64_t k) {
  std::string out(digits.empty() ? "0" : digits);
  std::uint64_t carry = k;
  for (auto it = out.rbegin(); it != out.rend() && carry > 0; ++it) {
    const std::uint64_t sum = static_cast<std::uint64_t>(*it - '0') + carry % 10;
    *it = static_cast<char>('0' + sum % 10);
    carry = carry / 10 + sum / 10;
  }
  if (carry > 0) out.insert(0, std::to_string(carry));
  return out;
}

bool is_stress_test_user(std::string_view name, std::string_view prefix) {
  return stress_test_number(name, prefix).has_value();
}

void validate_prefix(std::string_view prefix) {
  const bool ok = !prefix.empty() && prefix.size() <= 100 && prefix.front() != '-' && prefix.back() != '-' &&
                  std::all_of(prefix.begin(), prefix.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                  });
  if (!ok) {
    throw std::invalid_argument("user name prefix '" + std::string(prefix) +
                                "' must be lower-case letters, digits and inner dashes");
  }
  // "user" or "student" would match real people's accounts (user-1, student-12): a prefix must say test
  const bool says_test = std::any_of(std::begin(kTestWords), std::end(kTestWords), [&](std::string_view word) {
    return prefix.find(word) != std::string_view::npos;
  });
  if (!says_test) {
    throw std::invalid_argument("user name prefix '" + std::string(prefix) +
                                "' could match real users: it must contain 'stress', 'test', 'load' or 'bench'");
  }
}

namespace {

// The highest N among `names` ("0" when none is a stress-test user).
std::string highest_number(const std::vector<std::string>& names, std::string_view prefix) {
  std::string highest = "0";
  for (const auto& name : names) {
    if (auto n = stress_test_number(name, prefix); n && number_less(highest, *n)) highest = *n;
  }
  return highest;
}

} // namespace

std::uint64_t number_mod(std::string_view digits, std::uint64_t modulus) {
  if (modulus <= 1) return 0;
  std::uint64_t r = 0;
  // r < modulus, and shard counts are small (at most kMaxShards): r * 10 + 9 cannot overflow
  for (char c : digits) r = (r * 10 + static_cast<std::uint64_t>(c - '0')) % modulus;
  return r;
}

std::string next_number(std::string_view after, const NameSlot& slot) {
  const std::string first = number_plus(after, 1);
  if (slot.modulus <= 1) return first;
  const std::uint64_t have = number_mod(first, slot.modulus);
  return number_plus(first, (slot.residue % slot.modulus + slot.modulus - have) % slot.modulus);
}

bool in_slot(std::string_view digits, const NameSlot& slot) {
  return slot.modulus <= 1 || number_mod(digits, slot.modulus) == slot.residue % slot.modulus;
}

std::vector<std::string> next_user_names(const std::vector<std::string>& existing, int count, std::string_view prefix,
                                         const NameSlot& slot) {
  std::string last = highest_number(existing, prefix);
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i) {
    last = next_number(last, slot);
    names.push_back(std::string(prefix) + "-" + last);
  }
  return names;
}

std::vector<std::vector<std::string>> split_batches(const std::vector<std::string>& names, int batch_size) {
  if (batch_size < 1) throw std::invalid_argument("batch size must be at least 1");
  std::vector<std::vector<std::string>> batches;
  for (std::size_t i = 0; i < names.size(); i += static_cast<std::size_t>(batch_size)) {
    const auto end = std::min(names.size(), i + static_cast<std::size_t>(batch_size));
    batches.emplace_back(names.begin() + static_cast<std::ptrdiff_t>(i), names.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

UserPage parse_user_page(const json& body) {
  UserPage page;
  const json* items = nullptr;
  if (body.is_array()) {
    items = &body;
  } else if (body.is_object() && body.contains("items") && body["items"].is_array()) {
    items = &body["items"];
    if (body.contains("_pagination") && body["_pagination"].is_object()) {
      const json& p = body["_pagination"];
      if (p.contains("total") && p["total"].is_number_integer()) page.total = p["total"].get<std::int64_t>();
      if (p.contains("next") && p["next"].is_object()) {
        const json& next = p["next"];
        if (!next.contains("offset") || !next["offset"].is_number_integer()) {
          throw HubError("GET /users: the hub's _pagination.next has no offset");
        }
        page.next_offset = next["offset"].get<std::int64_t>();
        if (next.contains("limit") && next["limit"].is_number_integer()) page.next_limit = next["limit"].get<std::int64_t>();
      }
    }
  } else {
    throw HubError("GET /users: unexpected reply shape (neither a list nor {\"items\": [...]})");
  }
  for (const auto& user : *items) {
    if (!user.is_object() || !user.contains("name") || !user["name"].is_string()) {
      throw HubError("GET /users: a user in the reply has no name");
    }
    page.users.push_back(user);
  }
  return page;
}

std::string users_page_path(std::int64_t offset, std::int64_t limit, std::string_view query) {
  std::string path = "/users?offset=" + std::to_string(offset) + "&limit=" + std::to_string(limit);
  if (!query.empty()) path += "&" + std::string(query);
  return path;
}

std::vector<json> list_users(Session& session, std::string_view query, std::chrono::seconds timeout) {
  std::vector<json> users;
  std::int64_t offset = 0;
  std::int64_t limit = 200;
  for (int pages = 0; pages < 1'000'000; ++pages) {
    Request req = session.request(ApiKind::list_users, users_page_path(offset, limit, query));
    req.headers.push_back("Accept: application/jupyterhub-pagination+json");
    req.timeout = timeout;
    const Response r = session.call(std::move(req));
    if (r.status == 403) throw_auth_error(r);
    if (!r.ok()) throw HubError("GET /users failed: " + r.describe());
    UserPage page = parse_user_page(parse_json(r, "GET /users"));
    if (page.users.empty()) return users;  // a hub that keeps offering empty pages
    users.insert(users.end(), std::make_move_iterator(page.users.begin()), std::make_move_iterator(page.users.end()));
    if (!page.next_offset) return users;
    if (*page.next_offset <= offset) throw HubError("GET /users: the hub's next page does not move forward");
    offset = *page.next_offset;
    limit = std::clamp<std::int64_t>(page.next_limit, 1, 200);
  }
  throw HubError("GET /users: too many pages");
}

bool has_active_server(const json& user) {
  if (!user.contains("servers") || !user["servers"].is_object()) return false;
  return user["servers"].contains("");
}

namespace {

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

namespace {

// Another client (a concurrent run, a shard) took names this run picked: give up after this many.
constexpr int kMaxCollisions = 100;

} // namespace

std::vector<std::vector<std::string>> create_users(int count, int batch_size, Session& session,
                                                   const std::vector<std::string>& existing_users,
                                                   std::string_view prefix, const CreateHooks* hooks, const NameSlot& slot) {
  ScopeTimer timer("create_users");
  if (count < 1) throw std::invalid_argument("count must be at least 1");
  if (batch_size < 1) throw std::invalid_argument("batch size must be at least 1");
  session.progress().phase = Phase::create;
  const auto timeout = std::chrono::milliseconds(
      static_cast<long>(std::max(static_cast<double>(batch_size), session.options().timeout_s) * 1000));
  // names are numbered after `last`; a name the hub already has moves `last` past it, and the run
  // takes another one instead, so that it ends with exactly `count` users or says why not
  std::string last = highest_number(existing_users, prefix);
  std::vector<std::vector<std::string>> created;
  std::size_t total = 0;
  int collisions = 0;
  const auto wanted = static_cast<std::size_t>(count);
  while (total < wanted) {
    if (session.interrupted()) throw Interrupted("interrupted while creating users");
    const auto size = std::min(static_cast<std::size_t>(batch_size), wanted - total);
    std::vector<std::string> batch;
    for (std::size_t i = 1; i <= size; ++i) {
      last = next_number(last, slot);
      batch.push_back(std::string(prefix) + "-" + last);
    }
    if (hooks != nullptr && hooks->before_batch) hooks->before_batch(batch);
    auto report = [&](const std::vector<std::string>& ours) {
      if (hooks != nullptr && hooks->after_batch) hooks->after_batch(batch, ours);
    };
    Request req = session.request(ApiKind::create_users, "/users", json{{"usernames", batch}}.dump());
    req.timeout = timeout;
    req.interruptible = false;  // its answer says which users exist: a signal waits for it (one request)
    Response r;
    try {
      r = session.call(std::move(req));
    } catch (...) {
      report({});
      throw;
    }
    if (r.status == 403) {
      report({});
      throw_auth_error(r);
    }
    std::vector<std::string> ours;
    std::vector<std::string> taken;  // names another client had: never this run's to delete
    // an earlier attempt that timed out or got a 5xx may have created the batch; a 429 or a refused
    // connection did not
    const bool retried = r.unsure_attempts > 0;
    if (r.status == 201 || r.status == 409) {
      std::set<std::string> returned;
      if (r.status == 201) {
        const json body = parse_json(r, "POST /users");
        if (!body.is_array()) {
          report({});
          throw HubError("POST /users: unexpected reply shape (not a list)");
        }
        for (const auto& u : body) {
          if (u.is_object() && u.contains("name") && u["name"].is_string()) returned.insert(lower(u["name"].get<std::string>()));
        }
      }
      std::vector<std::string> missing;
      for (const auto& name : batch) {
        if (returned.count(lower(name))) ours.push_back(name);
        else missing.push_back(name);
      }
      // an earlier attempt of this request may have created them: claim those that exist now
      const auto claimed = retried && !missing.empty() ? existing_among(missing, session, true) : std::vector<std::string>{};
      for (const auto& name : missing) {
        if (std::find(claimed.begin(), claimed.end(), name) != claimed.end()) ours.push_back(name);
        else taken.push_back(name);
      }
    } else {
      logger().error("Failed to create users {}: {}", join(batch), r.describe());
      // a request that may have reached the hub may have created some: those are this run's to remove
      const bool may_have_acted = r.status != 400 && r.status != 429 && r.outcome != Outcome::connect_failed &&
                                  r.outcome != Outcome::dns_failed && r.outcome != Outcome::tls_failed;
      std::vector<std::string> leftovers = may_have_acted ? existing_among(batch, session, true) : std::vector<std::string>{};
      if (!leftovers.empty()) {
        logger().warn("Deleting {} users of the failed batch that the hub may have created", leftovers.size());
        if (delete_users(leftovers, session, batch_size)) leftovers.clear();  // gone: nothing of it remains
      }
      report(leftovers);  // what could not be deleted stays this run's (journal, tear-down, purge --run)
      created.push_back(std::move(leftovers));
      throw HubError("creating users failed: " + r.describe());
    }
    total += ours.size();
    session.progress().created += static_cast<int>(ours.size());
    report(ours);
    if (!taken.empty()) {
      ++collisions;
      logger().warn("The hub already had {} of the names this run picked ({}): another run or shard took them; "
                    "taking new names past them",
                    taken.size(), join(taken));
      if (collisions > kMaxCollisions) {
        created.push_back(std::move(ours));
        throw HubError(fmt::format("could create only {} of {} users: other clients kept taking the names this run "
                                   "picked ({} times)", total, count, collisions));
      }
      // jump past what others hold now, so the next batch does not collide with the same run again
      std::vector<std::string> now;
      try {
        now = list_stress_test_users(session, prefix);
      } catch (const AuthError&) {
        throw;
      } catch (const HubError& e) {
        logger().warn("Could not list the hub's users: {}", e.what());
      }
      session.progress().phase = Phase::create;
      if (const auto high = highest_number(now, prefix); number_less(last, high)) last = high;
    }
    logger().info("Created {} users ({} of {})", ours.size(), total, count);
    logger().debug("Created users: {}", join(ours, ours.size()));
    created.push_back(std::move(ours));
  }
  return created;
}

std::vector<std::string> find_existing_stress_test_users(Session& session, std::string_view prefix) {
  try {
    return list_stress_test_users(session, prefix);
  } catch (const AuthError&) {
    throw;
  } catch (const HubError& e) {
    logger().warn("Could not list the hub's users: {}", e.what());
    return {};
  }
}

std::vector<std::string> list_stress_test_users(Session& session, std::string_view prefix) {
  ScopeTimer timer("find_existing_stress_test_users");
  session.progress().phase = Phase::find;
  const std::vector<json> users = list_users(session);
  std::vector<std::string> names;
  for (const auto& user : users) {
    const auto name = user["name"].get<std::string>();
    if (is_stress_test_user(name, prefix)) names.push_back(name);
  }
  logger().info("Found {} users on the hub, {} of them stress-test users", users.size(), names.size());
  return names;
}

void purge_users(const SessionOptions& options, std::string_view prefix, int batch_size) {
  Session session(options);
  purge_users(session, prefix, batch_size);
}

void purge_users(Session& session, std::string_view prefix, int batch_size) {
  ScopeTimer timer("purge_users");
  logger().info("JupyterHub {} at {}", session.hub_version(), session.endpoint());
  check_token(session, "purge");
  // not the lenient find: a purge that could not list the users must not say there were none
  const auto names = list_stress_test_users(session, prefix);
  if (names.empty()) {
    logger().info("No stress-test users to delete");
    return;
  }
  logger().info("Deleting {} stress-test users", names.size());
  if (!delete_users(names, session, batch_size)) {
    throw HubError("some stress-test users could not be deleted; run purge again");
  }
}

} // namespace hubstress
