#include "student_tokens.hpp"
#include "hubstress/hub/url.hpp"
#include <nlohmann/json.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>

namespace hubstress {

using nlohmann::json;

double token_life_s(double run_s, double load_at_unix_s) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::ceil(std::max(0.0, load_at_unix_s - now) + run_s);
}

std::vector<std::string> mint_tokens(Session& session, const std::vector<std::string>& users, int window, double life_s,
                                     StudentRecord* students, Journal* journal) {
  const json body{{"note", "hub-stress-test journey"}, {"expires_in", static_cast<long long>(std::ceil(life_s))}};
  std::vector<Request> requests;
  for (const auto& user : users) requests.push_back(session.request(ApiKind::create_token, "/users/" + url_escape(user) + "/tokens", body.dump()));
  const auto answers = session.call_all(std::move(requests), static_cast<std::size_t>(std::max(window, 1)));
  std::vector<std::string> tokens(users.size());
  std::vector<TokenRef> minted;
  for (std::size_t i = 0; i < users.size(); ++i) {
    const json model = json::parse(answers[i].body, nullptr, false);
    if (answers[i].ok() && model.is_object() && model.contains("token") && model["token"].is_string()) {
      tokens[i] = model["token"].get<std::string>();
      session.context().add_secret(tokens[i]);  // from now on, whether or not its student ever arrives
      if (model.contains("id") && model["id"].is_string()) minted.push_back({users[i], model["id"].get<std::string>()});
    } else {
      students[i].failed_step = "token";
      students[i].reason = "minting the student's token failed: " + answers[i].describe();
    }
  }
  if (journal != nullptr) journal->tokens_minted(minted);
  return tokens;
}

}  // namespace hubstress
