#pragma once
// The run journal: which users a run planned, created and deleted, on local disk, so that an
// interrupted run can be cleaned up later with `purge --run ID`.
#include <map>
#include <string>
#include <vector>

namespace hubstress {

enum class UserMark { planned, created, kept, deleted };
const char* to_string(UserMark mark);

class Journal {
public:
  // Where journals live: $HUB_STRESS_TEST_STATE_DIR, else $XDG_STATE_HOME/hub-stress-test,
  // else ~/.local/state/hub-stress-test (each run is <dir>/runs/<id>.json).
  static std::string default_dir();
  // A new journal with a fresh id ("20261126T184500Z-1a2b"); written at once.
  static Journal start(const std::string& dir, const std::string& command, const std::string& endpoint,
                       const std::string& prefix);
  // Reads an existing run's journal; throws std::invalid_argument when there is none.
  static Journal load(const std::string& dir, const std::string& run_id);

  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& prefix() const { return prefix_; }

  // Records `mark` for `users` and rewrites the file (atomically: write, then rename).
  void mark(const std::vector<std::string>& users, UserMark mark);
  // Drops `users` from the journal: planned names the run did not create (the hub had them).
  void forget(const std::vector<std::string>& users);
  // Users not known to be deleted (planned, created or kept), in name order.
  std::vector<std::string> outstanding() const;
  // Marks the run over (its process no longer works on the hub); written at once.
  void finish();
  // True while the run's process is alive on this machine and has not finished: a purge now would
  // pull users out from under it.
  bool still_running() const;
  int pid() const { return pid_; }
  // Every journal in `dir` whose run is still running, against the hub `endpoint` leads to (same_hub:
  // however either is spelled) with `prefix`; damaged journals are skipped.
  static std::vector<Journal> running(const std::string& dir, const std::string& endpoint, const std::string& prefix);
  const std::map<std::string, UserMark>& users() const { return users_; }

private:
  void save() const;

  std::string id_;
  std::string path_;
  std::string command_;
  std::string endpoint_;
  std::string prefix_;
  std::string started_;
  int pid_ = 0;
  std::string host_;
  bool finished_ = false;
  std::map<std::string, UserMark> users_;
};

} // namespace hubstress
