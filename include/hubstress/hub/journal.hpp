#pragma once
// The run journal: which users a run planned, created and deleted, and which tokens it minted, on
// local disk, so that an interrupted run can be cleaned up later with `purge --run ID`.
//
// The file (<dir>/runs/<id>.jsonl) is append-only: a first line that says which run it is, then one
// line per change ({"mark": "created", "users": [...]}), each written whole by one write(2); the
// state is what the lines say, read in order. A torn last line (a crash mid-write) is skipped.
// Journals of earlier versions (<id>.json, one JSON object) are still read.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace hubstress {

// planned: in a create request not yet answered; created: the hub's answer proved this run made it;
// unsure: the request's answer was lost (timeout, 5xx, cut off) and the name exists, made by this
// run or by another: never claimed, left for a plain purge; kept, deleted: after the run.
enum class UserMark { planned, created, unsure, kept, deleted };
const char* to_string(UserMark mark);

// A token minted for a user (POST /users/{name}/tokens): its id, never its value.
struct TokenRef {
  std::string user;
  std::string id;
  auto operator<=>(const TokenRef&) const = default;
};

class Journal {
public:
  // Where journals live: $HUB_STRESS_TEST_STATE_DIR, else $XDG_STATE_HOME/hub-stress-test,
  // else ~/.local/state/hub-stress-test (each run is <dir>/runs/<id>.jsonl).
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

  // Records `mark` for `users`: one line appended.
  void mark(const std::vector<std::string>& users, UserMark mark);
  // Drops `users` from the journal: planned names the run did not create (the hub had them).
  void forget(const std::vector<std::string>& users);
  // Records tokens minted (their ids) or revoked.
  void tokens_minted(const std::vector<TokenRef>& tokens);
  void tokens_revoked(const std::vector<TokenRef>& tokens);
  // Users not known to be deleted (planned, created, unsure or kept), in name order.
  std::vector<std::string> outstanding() const;
  // Users whose creation the hub's answer proved (created or kept) and not deleted: this run's to delete.
  std::vector<std::string> owned() const;
  // Users in a create request whose answer never proved them this run's (planned or unsure): they
  // may be another run's, so only a plain purge, once no run of the prefix is alive, removes them.
  std::vector<std::string> unconfirmed() const;
  // Tokens minted and not yet revoked, for users not deleted (deleting a user revokes its tokens).
  std::vector<TokenRef> live_tokens() const;
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
  void append(const std::string& line);
  void apply(const std::string& line);

  std::string id_;
  std::string path_;
  std::string command_;
  std::string endpoint_;
  std::string prefix_;
  std::string started_;
  int pid_ = 0;
  std::string host_;
  bool finished_ = false;
  bool legacy_ = false;     // read from an earlier version's single-object file: rewritten whole
  bool tail_known_ = false; // the file is known to end with a newline (a torn line is closed first)
  std::map<std::string, UserMark> users_;
  std::set<TokenRef> tokens_;
};

} // namespace hubstress
