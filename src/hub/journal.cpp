#include "hubstress/hub/journal.hpp"

#include "hubstress/hub/url.hpp"
#include "hubstress/scenarios/stress.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace hubstress {

namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(UserMark mark) {
  switch (mark) {
  case UserMark::planned: return "planned";
  case UserMark::created: return "created";
  case UserMark::kept: return "kept";
  case UserMark::deleted: return "deleted";
  }
  return "planned";
}

namespace {

UserMark mark_from(const std::string& text) {
  for (UserMark m : {UserMark::planned, UserMark::created, UserMark::kept, UserMark::deleted}) {
    if (text == to_string(m)) return m;
  }
  return UserMark::planned;  // unknown: assume it may exist
}

std::string runs_dir(const std::string& dir) { return (fs::path(dir) / "runs").string(); }

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

bool valid_run_id(const std::string& id) {
  return !id.empty() && id.size() < 64 &&
         id.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzTZ-") == std::string::npos;
}

} // namespace

std::string Journal::default_dir() {
  if (const char* d = std::getenv("HUB_STRESS_TEST_STATE_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x != nullptr && *x != '\0') return (fs::path(x) / "hub-stress-test").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".local" / "state" / "hub-stress-test").string();
}

Journal Journal::start(const std::string& dir, const std::string& command, const std::string& endpoint,
                       const std::string& prefix) {
  Journal j;
  const auto now = std::chrono::system_clock::now();
  std::mt19937 rng{std::random_device{}()};
  j.id_ = fmt::format("{:%Y%m%dT%H%M%S}Z-{:04x}", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), rng() & 0xffff);
  j.command_ = command;
  j.endpoint_ = endpoint;
  j.prefix_ = prefix;
  j.started_ = iso8601_utc_now();
  j.pid_ = static_cast<int>(::getpid());
  j.host_ = this_host();
  fs::create_directories(runs_dir(dir));
  j.path_ = (fs::path(runs_dir(dir)) / (j.id_ + ".json")).string();
  j.save();
  return j;
}

Journal Journal::load(const std::string& dir, const std::string& run_id) {
  if (!valid_run_id(run_id)) throw std::invalid_argument("'" + run_id + "' is not a run id (see " + runs_dir(dir) + ")");
  Journal j;
  j.path_ = (fs::path(runs_dir(dir)) / (run_id + ".json")).string();
  std::ifstream in(j.path_);
  if (!in) throw std::invalid_argument("no journal for run " + run_id + " in " + runs_dir(dir));
  const json doc = json::parse(in, nullptr, false);
  if (!doc.is_object() || !doc.contains("users") || !doc["users"].is_object()) {
    throw std::invalid_argument("the journal " + j.path_ + " is damaged");
  }
  j.id_ = doc.value("run_id", run_id);
  j.command_ = doc.value("command", "");
  j.endpoint_ = doc.value("endpoint", "");
  j.prefix_ = doc.value("prefix", "");
  j.started_ = doc.value("started", "");
  j.pid_ = doc.value("pid", 0);
  j.host_ = doc.value("host", "");
  j.finished_ = doc.value("state", "finished") != "running";
  for (const auto& [name, mark] : doc["users"].items()) {
    j.users_[name] = mark.is_string() ? mark_from(mark.get<std::string>()) : UserMark::planned;
  }
  return j;
}

void Journal::mark(const std::vector<std::string>& users, UserMark mark) {
  for (const auto& u : users) users_[u] = mark;
  save();
}

void Journal::forget(const std::vector<std::string>& users) {
  for (const auto& u : users) users_.erase(u);
  save();
}

std::vector<std::string> Journal::outstanding() const {
  std::vector<std::string> names;
  for (const auto& [name, mark] : users_) {
    if (mark != UserMark::deleted) names.push_back(name);
  }
  return names;
}

void Journal::finish() {
  finished_ = true;
  save();
}

bool Journal::still_running() const {
  if (finished_ || pid_ <= 0 || host_ != this_host()) return false;
  if (::kill(pid_, 0) != 0 && errno != EPERM) return false;
  // a pid the system gave to another program since is not the run
  std::ifstream cmdline("/proc/" + std::to_string(pid_) + "/cmdline");
  const std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  return !cmdline.is_open() || text.find("hub-stress-test") != std::string::npos;
}

std::vector<Journal> Journal::running(const std::string& dir, const std::string& endpoint, const std::string& prefix) {
  std::vector<Journal> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runs_dir(dir), ec)) {
    const auto path = entry.path();
    if (path.extension() != ".json") continue;
    try {
      Journal j = load(dir, path.stem().string());
      // the same hub however it is spelled (localhost or 127.0.0.1, a default port written or not)
      if (j.prefix() == prefix && j.still_running() && same_hub(j.endpoint(), endpoint)) out.push_back(std::move(j));
    } catch (const std::exception&) {
      continue;  // not a journal of ours
    }
  }
  return out;
}

void Journal::save() const {
  const json head{{"run_id", id_},   {"command", command_}, {"endpoint", endpoint_},
                  {"prefix", prefix_}, {"started", started_}, {"pid", pid_},
                  {"host", host_},     {"state", finished_ ? "finished" : "running"}};
  // the users are written straight out, not built into a JSON object first: a run saves its
  // journal twice per create batch, and at 10,000 users building that object each time was the
  // tool's largest cost after the requests themselves
  std::string text = head.dump(1);
  text.resize(text.size() - 2);  // "\n}": "users" goes last, as the keys are sorted
  text += ",\n \"users\": {";
  const char* sep = "\n  ";
  for (const auto& [name, mark] : users_) {
    text += sep;
    text += json(name).dump();
    text += ": \"";
    text += to_string(mark);
    text += '"';
    sep = ",\n  ";
  }
  text += users_.empty() ? "}\n}" : "\n }\n}";
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
    if (!out) throw std::runtime_error("cannot write the run journal " + tmp);
  }
  fs::rename(tmp, path_);
}

} // namespace hubstress
