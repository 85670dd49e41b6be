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
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace hubstress {

namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(UserMark mark) {
  switch (mark) {
  case UserMark::planned: return "planned";
  case UserMark::created: return "created";
  case UserMark::unsure: return "unsure";
  case UserMark::kept: return "kept";
  case UserMark::deleted: return "deleted";
  }
  return "planned";
}

namespace {

constexpr int kFormat = 2;  // the append-only format (1: one JSON object rewritten whole)

UserMark mark_from(const std::string& text) {
  for (UserMark m : {UserMark::planned, UserMark::created, UserMark::unsure, UserMark::kept, UserMark::deleted}) {
    if (text == to_string(m)) return m;
  }
  return UserMark::planned;  // unknown: it may exist, and it is not proved this run's
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

std::vector<std::string> strings_of(const json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const auto& v : list) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::vector<TokenRef> tokens_of(const json& list) {
  std::vector<TokenRef> out;
  if (!list.is_array()) return out;
  for (const auto& t : list) {
    if (t.is_object() && t.contains("user") && t["user"].is_string() && t.contains("id") && t["id"].is_string()) {
      out.push_back({t["user"].get<std::string>(), t["id"].get<std::string>()});
    }
  }
  return out;
}

json tokens_json(const std::vector<TokenRef>& tokens) {
  json list = json::array();
  for (const auto& t : tokens) list.push_back({{"user", t.user}, {"id", t.id}});
  return list;
}

// write(2) until all of `text` is out (a signal or a full pipe may cut one write short).
bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
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
  j.path_ = (fs::path(runs_dir(dir)) / (j.id_ + ".jsonl")).string();
  j.tail_known_ = true;
  j.append(json{{"journal", kFormat}, {"run_id", j.id_},   {"command", command}, {"endpoint", endpoint},
                {"prefix", prefix},   {"started", j.started_}, {"pid", j.pid_},   {"host", j.host_},
                {"state", "running"}}.dump());
  return j;
}

Journal Journal::load(const std::string& dir, const std::string& run_id) {
  if (!valid_run_id(run_id)) throw std::invalid_argument("'" + run_id + "' is not a run id (see " + runs_dir(dir) + ")");
  Journal j;
  j.path_ = (fs::path(runs_dir(dir)) / (run_id + ".jsonl")).string();
  std::ifstream in(j.path_);
  if (!in) {
    j.path_ = (fs::path(runs_dir(dir)) / (run_id + ".json")).string();  // an earlier version's
    in.open(j.path_);
  }
  if (!in) throw std::invalid_argument("no journal for run " + run_id + " in " + runs_dir(dir));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto damaged = [&] { return std::invalid_argument("the journal " + j.path_ + " is damaged"); };
  const std::size_t first_end = text.find('\n');
  const json head = json::parse(text.substr(0, first_end), nullptr, false);
  const bool lines = head.is_object() && head.contains("journal");
  const json doc = lines ? head : json::parse(text, nullptr, false);
  if (!doc.is_object() || (!lines && (!doc.contains("users") || !doc["users"].is_object()))) throw damaged();
  j.id_ = doc.value("run_id", run_id);
  j.command_ = doc.value("command", "");
  j.endpoint_ = doc.value("endpoint", "");
  j.prefix_ = doc.value("prefix", "");
  j.started_ = doc.value("started", "");
  j.pid_ = doc.value("pid", 0);
  j.host_ = doc.value("host", "");
  j.finished_ = doc.value("state", "finished") != "running";
  if (!lines) {
    j.legacy_ = true;
    for (const auto& [name, mark] : doc["users"].items()) {
      j.users_[name] = mark.is_string() ? mark_from(mark.get<std::string>()) : UserMark::planned;
    }
    return j;
  }
  // every later line is one change; one that does not parse was torn by a crash while it was
  // written: skipping it forgets at most that change, which leaves names to a plain purge
  for (std::size_t at = first_end; at != std::string::npos && at + 1 < text.size();) {
    const std::size_t end = text.find('\n', at + 1);
    j.apply(text.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1));
    at = end;
  }
  return j;
}

void Journal::apply(const std::string& line) {
  const json change = json::parse(line, nullptr, false);
  if (!change.is_object()) return;
  if (change.contains("mark") && change["mark"].is_string()) {
    const UserMark mark = mark_from(change["mark"].get<std::string>());
    for (const auto& name : strings_of(change.value("users", json::array()))) {
      users_[name] = mark;
      if (mark == UserMark::deleted) std::erase_if(tokens_, [&](const TokenRef& t) { return t.user == name; });
    }
  }
  for (const auto& name : strings_of(change.value("forget", json::array()))) users_.erase(name);
  for (const auto& t : tokens_of(change.value("minted", json::array()))) tokens_.insert(t);
  for (const auto& t : tokens_of(change.value("revoked", json::array()))) tokens_.erase(t);
  if (change.value("state", "") == "finished") finished_ = true;
}

void Journal::mark(const std::vector<std::string>& users, UserMark mark) {
  if (users.empty()) return;
  const std::string line = json{{"mark", to_string(mark)}, {"users", users}}.dump();
  apply(line);
  append(line);
}

void Journal::forget(const std::vector<std::string>& users) {
  if (users.empty()) return;
  const std::string line = json{{"forget", users}}.dump();
  apply(line);
  append(line);
}

void Journal::tokens_minted(const std::vector<TokenRef>& tokens) {
  if (tokens.empty()) return;
  const std::string line = json{{"minted", tokens_json(tokens)}}.dump();
  apply(line);
  append(line);
}

void Journal::tokens_revoked(const std::vector<TokenRef>& tokens) {
  if (tokens.empty()) return;
  const std::string line = json{{"revoked", tokens_json(tokens)}}.dump();
  apply(line);
  append(line);
}

std::vector<std::string> Journal::outstanding() const {
  std::vector<std::string> names;
  for (const auto& [name, mark] : users_) {
    if (mark != UserMark::deleted) names.push_back(name);
  }
  return names;
}

std::vector<std::string> Journal::owned() const {
  std::vector<std::string> names;
  for (const auto& [name, mark] : users_) {
    if (mark == UserMark::created || mark == UserMark::kept) names.push_back(name);
  }
  return names;
}

std::vector<std::string> Journal::unconfirmed() const {
  std::vector<std::string> names;
  for (const auto& [name, mark] : users_) {
    if (mark == UserMark::planned || mark == UserMark::unsure) names.push_back(name);
  }
  return names;
}

std::vector<TokenRef> Journal::live_tokens() const { return {tokens_.begin(), tokens_.end()}; }

void Journal::finish() {
  if (finished_) return;
  finished_ = true;
  append(json{{"state", "finished"}}.dump());
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
    if (path.extension() != ".jsonl" && path.extension() != ".json") continue;
    try {
      Journal j = load(dir, path.stem().string());
      if (j.path() != path.string()) continue;  // an earlier version's file beside its successor: read once
      // the same hub however it is spelled (localhost or 127.0.0.1, a default port written or not)
      if (j.prefix() == prefix && j.still_running() && same_hub(j.endpoint(), endpoint)) out.push_back(std::move(j));
    } catch (const std::exception&) {
      continue;  // not a journal of ours
    }
  }
  return out;
}

// One line at the end of the file, written by one write(2) on a descriptor opened for appending: the
// cost of a change is its own size, whatever the journal already holds.
void Journal::append(const std::string& line) {
  if (legacy_) {
    // an earlier version's journal: written once more in this format beside it, then the old one removed
    const fs::path old = path_;
    const fs::path fresh = fs::path(path_).replace_extension(".jsonl");
    std::string text = json{{"journal", kFormat}, {"run_id", id_},   {"command", command_}, {"endpoint", endpoint_},
                            {"prefix", prefix_},  {"started", started_}, {"pid", pid_},     {"host", host_},
                            {"state", finished_ ? "finished" : "running"}}.dump() + "\n";
    for (const auto& [name, mark] : users_) text += json{{"mark", to_string(mark)}, {"users", {name}}}.dump() + "\n";
    const std::string tmp = fresh.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      if (!out) throw std::runtime_error("cannot write the run journal " + tmp);
    }
    fs::rename(tmp, fresh);
    std::error_code ec;
    fs::remove(old, ec);
    path_ = fresh.string();
    legacy_ = false;
    tail_known_ = true;
  }
  const int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write the run journal " + path_ + ": " + std::strerror(errno));
  std::string text = line + "\n";
  if (!tail_known_) {
    // a crash may have torn the last line: end it, so that this change is a line of its own (read
    // through the same descriptor, hence O_RDWR)
    char last = '\n';
    const off_t size = ::lseek(fd, 0, SEEK_END);
    if (size > 0 && ::pread(fd, &last, 1, size - 1) == 1 && last != '\n') text.insert(0, "\n");
    tail_known_ = true;
  }
  const bool ok = write_all(fd, text);
  const int saved = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write the run journal " + path_ + ": " + std::strerror(saved));
}

} // namespace hubstress
