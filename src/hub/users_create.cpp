#include "hubstress/hub/users.hpp"

#include "hubstress/hub/errors.hpp"
#include "hubstress/log.hpp"

#include "users_internal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace hubstress {

using nlohmann::json;
using users_detail::existing_among;
using users_detail::highest_number;
using users_detail::throw_auth_error;

namespace {

// Another client (a concurrent run, a shard) took names this run picked: give up after this many.
constexpr int kMaxCollisions = 100;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string join(const std::vector<std::string>& names, std::size_t most = 10) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < most; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  if (names.size() > most) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

// Tells the caller's hooks which names of the batch this run created, and which are unsure.
using Report = std::function<void(const std::vector<std::string>& ours, const std::vector<std::string>& unsure)>;

// What create_users has done so far.
struct Creation {
  std::string last;                               // names are numbered after it
  std::vector<std::vector<std::string>> created;  // the names this run created, by batch
  std::size_t total = 0;
  int collisions = 0;
};

// The names of one batch the hub answered 201 or 409 for: this run's, unsure, or another client's.
struct BatchOutcome {
  std::vector<std::string> ours;    // listed in the hub's 201: made by this request
  std::vector<std::string> unsure;  // not listed, after an attempt whose answer was lost: ours or another's
  std::vector<std::string> taken;   // not listed, no attempt lost: another client had them
};

// POST /users for one batch. Throws AuthError on 403 (after telling the hooks nothing was created).
Response send_batch(const std::vector<std::string>& batch, Session& session, std::chrono::milliseconds timeout,
                    const Report& report) {
  Request req = session.request(ApiKind::create_users, "/users", json{{"usernames", batch}}.dump());
  req.timeout = timeout;
  req.interruptible = false;  // its answer says which users exist: a signal waits for it (one request)
  Response r;
  try {
    r = session.call(std::move(req));
  } catch (...) {
    report({}, batch);  // cut off after it may have been sent: any of its names may exist
    throw;
  }
  if (r.status == 403) {
    report({}, {});
    throw_auth_error(r);
  }
  return r;
}

// A 201 or a 409: which names of `batch` this run created. Only the hub's list proves it: a name the
// 201 does not list (or every name, for a 409) exists, made by someone; after an attempt whose answer
// was lost, that someone may be this run or another run that took the same name meanwhile, and
// nothing the hub says tells them apart, so such a name is unsure, never claimed.
BatchOutcome sort_batch(const std::vector<std::string>& batch, const Response& r, const Report& report) {
  BatchOutcome out;
  // an earlier attempt that timed out, was cut off or got a 5xx may have created names; a 429 or a
  // refused connection did not
  const bool answer_lost = r.unsure_attempts > 0;
  std::set<std::string> returned;
  if (r.status == 201) {
    // a 201 made users; a reply that does not say which leaves every name of the batch unsure
    json body;
    try {
      body = parse_json(r, "POST /users");
    } catch (const HubError&) {
      report({}, batch);
      throw;
    }
    if (!body.is_array()) {
      report({}, batch);
      throw HubError("POST /users: unexpected reply shape (not a list)");
    }
    for (const auto& u : body) {
      if (u.is_object() && u.contains("name") && u["name"].is_string()) returned.insert(lower(u["name"].get<std::string>()));
    }
  }
  for (const auto& name : batch) {
    if (returned.count(lower(name))) out.ours.push_back(name);
    else if (answer_lost) out.unsure.push_back(name);
    else out.taken.push_back(name);
  }
  return out;
}

// Any other answer: names the request may have made are left as unsure (the hub may have made them
// for this run, or another run made them meanwhile: this run cannot tell), and throws HubError.
[[noreturn]] void batch_failed(const std::vector<std::string>& batch, const Response& r, Session& session,
                               const Report& report) {
  logger().error("Failed to create users {}: {}", join(batch), r.describe());
  const bool may_have_acted = r.unsure_attempts > 0 || (r.status != 400 && r.status != 429 && r.outcome != Outcome::connect_failed &&
                                                        r.outcome != Outcome::dns_failed && r.outcome != Outcome::tls_failed);
  // a name the hub says it does not have (404) was not made; any other answer: it may exist
  const std::vector<std::string> unsure = may_have_acted ? existing_among(batch, session, false) : std::vector<std::string>{};
  if (!unsure.empty()) {
    logger().warn("The hub may have made {} users of the failed batch ({}): this run cannot prove they are its own, so it "
                  "leaves them (journaled as unsure)",
                  unsure.size(), join(unsure));
  }
  report({}, unsure);
  throw HubError("creating users failed: " + r.describe());
}

// Some names were not this run's to take (another client had them, or they are unsure): takes new
// names past the highest on the hub (HubError after kMaxCollisions).
void after_collision(const BatchOutcome& b, std::vector<std::string>& ours, Session& session, std::string_view prefix,
                     int count, Creation& c) {
  ++c.collisions;
  if (!b.taken.empty()) {
    logger().warn("The hub already had {} of the names this run picked ({}): another run or shard took them; "
                  "taking new names past them",
                  b.taken.size(), join(b.taken));
  }
  if (!b.unsure.empty()) {
    logger().warn("{} of the names this run picked ({}) exist, but the answer to an earlier attempt of their create "
                  "request was lost: that attempt or another run made them, and this run cannot tell which, so it "
                  "does not claim them (journaled as unsure); taking new names past them",
                  b.unsure.size(), join(b.unsure));
  }
  if (c.collisions > kMaxCollisions) {
    c.created.push_back(std::move(ours));
    throw HubError(fmt::format("could create only {} of {} users: other clients kept taking the names this run "
                               "picked ({} times)", c.total, count, c.collisions));
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
  if (const auto high = highest_number(now, prefix); number_less(c.last, high)) c.last = high;
  if (const auto high = highest_number(b.unsure, prefix); number_less(c.last, high)) c.last = high;
}

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
  Creation c;
  c.last = highest_number(existing_users, prefix);
  const auto wanted = static_cast<std::size_t>(count);
  while (c.total < wanted) {
    if (session.interrupted()) throw Interrupted("interrupted while creating users");
    const auto size = std::min(static_cast<std::size_t>(batch_size), wanted - c.total);
    std::vector<std::string> batch;
    for (std::size_t i = 1; i <= size; ++i) {
      c.last = next_number(c.last, slot);
      batch.push_back(std::string(prefix) + "-" + c.last);
    }
    if (hooks != nullptr && hooks->before_batch) hooks->before_batch(batch);
    const Report report = [&](const std::vector<std::string>& ours, const std::vector<std::string>& unsure) {
      if (hooks != nullptr && hooks->after_batch) hooks->after_batch(batch, ours, unsure);
    };
    const Response r = send_batch(batch, session, timeout, report);
    if (r.status != 201 && r.status != 409) batch_failed(batch, r, session, report);
    BatchOutcome b = sort_batch(batch, r, report);
    c.total += b.ours.size();
    session.progress().created += static_cast<int>(b.ours.size());
    report(b.ours, b.unsure);
    if (!b.taken.empty() || !b.unsure.empty()) after_collision(b, b.ours, session, prefix, count, c);
    logger().info("Created {} users ({} of {})", b.ours.size(), c.total, count);
    logger().debug("Created users: {}", join(b.ours, b.ours.size()));
    c.created.push_back(std::move(b.ours));
  }
  return std::move(c.created);
}

} // namespace hubstress
