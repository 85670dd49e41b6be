#pragma once
// A real JupyterHub for one test: started on free loopback ports by tests/hub/local-hub.sh,
// stopped (with every process it started) when the object goes.
#include "hubstress/hub/session.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace hubstress::testing {

// The hub flavour a LocalHub runs when none is given: HUB_STRESS_TEST_HUB, else "3.0".
std::string default_hub_flavour();

class LocalHub {
public:
  // spawner: mocksu | shared | singleuser | failing (see tests/hub/jupyterhub_config.py)
  // hub: "3.0" (Debian 12's package) or "5.2" (a Debian sid root; see tests/hub/local-hub.sh)
  explicit LocalHub(const std::string& spawner = "mocksu", int spawn_limit = 100,
                    const std::string& hub = default_hub_flavour());
  ~LocalHub();
  LocalHub(const LocalHub&) = delete;
  LocalHub& operator=(const LocalHub&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  const std::string& token() const { return token_; }
  const std::string& limited_token() const { return limited_token_; }  // list:users and read:users only
  const std::string& state_dir() const { return dir_; }
  const std::string& hub() const { return hub_; }  // the flavour: "3.0" or "5.2"
  SessionOptions options() const;

  // Direct calls that bypass the code under test, to set up and check the hub.
  void create(const std::vector<std::string>& names);
  void start_server(const std::string& name);            // returns once the spawn was requested
  void wait_ready(const std::string& name, double seconds = 120);  // the hub's own start_timeout
  std::vector<std::string> user_names();                  // every user on the hub
  std::vector<std::string> active_server_users();          // users with a pending or running server
  // Access-log lines of the hub containing needle, for every request the hub answered before this call.
  int requests_logged(const std::string& needle);
  void kill_hub();      // SIGKILL the hub process alone
  void restart_hub();   // start it again on the same ports, token and database

private:
  void stop_and_remove() const;

  std::string hub_;
  std::string dir_;
  std::string endpoint_;
  std::string token_;
  std::string limited_token_;
  int markers_ = 0;
};

// Runs the hub-stress-test binary with `args`; stdout and stderr together in `output`.
struct ToolResult {
  int exit_code = -1;
  std::string output;
};
ToolResult run_tool(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
// The same, `tool` (a copy of the binary) started through `launcher`, shell words such as
// "setpriv --reuid=65534 ...".
ToolResult run_tool_via(const std::string& launcher, const std::string& tool, const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {});
// The path of the hub-stress-test binary under test.
std::string tool_path();

// A report (or any JSON file) as written.
inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// `a` and then `more`: a command line built of parts.
inline std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// The tool running in the background, for signals: output goes to a file in `dir`.
class BackgroundTool {
public:
  // `name`: the output file's name in `dir` (two tools at once need two names)
  BackgroundTool(const std::vector<std::string>& args, const std::string& dir, const std::string& name = "tool-bg.out");
  ~BackgroundTool();
  void signal(int sig);
  int wait();                  // exit code (128 + signal when killed by one)
  std::string output() const;  // what it printed so far
  bool running();

private:
  int pid_ = -1;
  int exit_code_ = -1;
  std::string out_;
};

} // namespace hubstress::testing
