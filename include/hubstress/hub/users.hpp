#pragma once
// The seed's five user-management functions (SPEC §2) and the pure pieces they are made of.
#include "hubstress/hub/journal.hpp"
#include "hubstress/hub/session.hpp"
#include "hubstress/model/results.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hubstress {


// N when `name` is exactly "<prefix>-<digits>", as its decimal digits without leading zeros ("0" for
// zero), of any length; nothing for "hub-stress-tester", "...-admin", "..._5".
std::optional<std::string> stress_test_number(std::string_view name, std::string_view prefix = kDefaultPrefix);
// Compares two such numbers as numbers ("9" < "10"), whatever their length.
bool number_less(std::string_view a, std::string_view b);
// The decimal digits of N + k (N given as digits without leading zeros).
std::string number_plus(std::string_view digits, std::uint64_t k);
bool is_stress_test_user(std::string_view name, std::string_view prefix = kDefaultPrefix);
// Throws std::invalid_argument unless `prefix` is lower-case letters, digits and inner dashes.
void validate_prefix(std::string_view prefix);

// N % modulus for N given as decimal digits.
std::uint64_t number_mod(std::string_view digits, std::uint64_t modulus);
// The smallest number above `after` (digits) in `slot`.
std::string next_number(std::string_view after, const NameSlot& slot);
bool in_slot(std::string_view digits, const NameSlot& slot);

// `count` new names numbered after the highest N among `existing`, in `slot` (gaps do not matter;
// N has no upper bound: past 18 digits the names just grow longer, and the matcher still matches them).
std::vector<std::string> next_user_names(const std::vector<std::string>& existing, int count,
                                         std::string_view prefix = kDefaultPrefix, const NameSlot& slot = {});
// Splits `names` into batches of `batch_size` (the last one smaller).
std::vector<std::vector<std::string>> split_batches(const std::vector<std::string>& names, int batch_size);

// One page of GET /users: the user models and where the next page starts.
struct UserPage {
  std::vector<nlohmann::json> users;
  std::optional<std::int64_t> next_offset;  // nothing on the last page
  std::int64_t next_limit = 200;
  std::optional<std::int64_t> total;        // the hub's total for the query, when paginated
};
// Accepts the paginated reply and the plain list of old hubs; throws HubError on any other shape.
UserPage parse_user_page(const nlohmann::json& body);
// "/users?offset=0&limit=200" with optional extra query ("state=active&name_filter=x").
std::string users_page_path(std::int64_t offset, std::int64_t limit, std::string_view query = {});

// Every user model of GET /users[?query], following pagination on our own endpoint.
// Throws AuthError on 403, HubError on any other failure.
std::vector<nlohmann::json> list_users(Session& session, std::string_view query = {},
                                       std::chrono::seconds timeout = std::chrono::seconds(120));

// True when the user model has a default server that is running or pending.
bool has_active_server(const nlohmann::json& user);

// Scopes `command` needs that the token model (GET /user) does not list; empty when all are there
// or when the hub does not list scopes (before 2.0). Filtered scopes ("servers!user=x") do not count.
std::vector<std::string> missing_scopes(const nlohmann::json& token_model, std::string_view command);
// Asks the hub who the token is (GET /user) before anything changes: throws AuthError for a bad
// token or one that lacks scopes `command` needs, naming them.
void check_token(Session& session, std::string_view command);

// --- the five functions of the seed ---

// DELETE /users/{name} for every user whose value is true; true only if all of `stopped` ended deleted.
bool delete_users_after_stopping_servers(const std::map<std::string, bool>& stopped, Session& session,
                                         std::size_t max_in_flight = 10);

// Stop servers (at most batch_size in flight), wait until stopped, then delete. Never aborts half-way.
bool delete_users(const std::vector<std::string>& usernames, Session& session, int batch_size = 10,
                  double stop_deadline_s = 60.0);

// Creates exactly `count` users named after the highest existing N, `batch_size` per request. A
// name the hub already has (another run or shard took it) is never this run's: the run takes a new
// name past the highest on the hub instead, as often as needed (HubError after 100 collisions).
// Only the hub's answer proves a name this run's (a 201 listing it). A request whose earlier attempt
// lost its answer (timeout, 502-504, cut off) may have made its names, or another run may have:
// those of its names the final answer does not list are unsure, never claimed, stopped or deleted
// by this run; the run takes new names for its count. A failed batch leaves the names that may
// exist as unsure too.
// Returns the names this run created, by batch. Throws HubError when a batch fails.
// What a caller may want to hear about each batch: before it is sent (to journal the names), and
// once it is known which of its names this run created and which are unsure (the rest: the hub had
// them); after_batch runs for every batch that before_batch saw, also when create_users then throws.
struct CreateHooks {
  std::function<void(const std::vector<std::string>& batch)> before_batch;
  std::function<void(const std::vector<std::string>& batch, const std::vector<std::string>& created,
                     const std::vector<std::string>& unsure)>
      after_batch;
};
// Names come from `slot` (a shard's numbers).
std::vector<std::vector<std::string>> create_users(int count, int batch_size, Session& session,
                                                   const std::vector<std::string>& existing_users = {},
                                                   std::string_view prefix = kDefaultPrefix,
                                                   const CreateHooks* hooks = nullptr, const NameSlot& slot = {});

// Names of the hub's stress-test users; throws AuthError on 403 and HubError on any other failure.
std::vector<std::string> list_stress_test_users(Session& session, std::string_view prefix = kDefaultPrefix);
// The seed's contract: as above, but other failures than 403 give a warning and an empty list.
std::vector<std::string> find_existing_stress_test_users(Session& session,
                                                         std::string_view prefix = kDefaultPrefix);

// DELETE /users/{name}/tokens/{id} for each token, `window` in flight; returns those the hub no longer
// has (204, or 404: the token or its user is gone); the others are logged.
std::vector<TokenRef> revoke_tokens(const std::vector<TokenRef>& tokens, Session& session, int window = 10);

// Builds a session, finds every stress-test user and deletes it. Throws HubError if any remains.
void purge_users(const SessionOptions& options, std::string_view prefix = kDefaultPrefix, int batch_size = 10);
// The same on a session the caller owns (its records feed the reports).
void purge_users(Session& session, std::string_view prefix = kDefaultPrefix, int batch_size = 10);

} // namespace hubstress
