#include "local_hub.hpp"

#include "hubstress/hub/users.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <thread>

namespace hubstress::testing {

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_env_value(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  throw std::runtime_error("no " + key + " in " + file);
}

int exit_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

} // namespace

std::string default_hub_flavour() {
  const char* hub = std::getenv("HUB_STRESS_TEST_HUB");
  return hub != nullptr && *hub != '\0' ? hub : "3.0";
}

LocalHub::LocalHub(const std::string& spawner, int spawn_limit, const std::string& hub) : hub_(hub) {
  char templ[] = "/tmp/hst-hub-XXXXXX";
  if (mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  // kill, restart and stop read the flavour back from the hub's own hub.env
  const std::string cmd = "HUB_STRESS_TEST_HUB=" + shell_quote(hub_) + " " + std::string(HST_LOCAL_HUB_SCRIPT) +
                          " start " + shell_quote(dir_) + " " + spawner + " " + std::to_string(spawn_limit);
  try {
    if (std::system(cmd.c_str()) != 0) {
      throw std::runtime_error("could not start the local JupyterHub (" + hub_ + "): " + cmd);
    }
    endpoint_ = read_env_value(dir_ + "/hub.env", "HST_ENDPOINT");
    token_ = read_env_value(dir_ + "/hub.env", "HST_TOKEN");
    limited_token_ = read_env_value(dir_ + "/hub.env", "HST_LIMITED_TOKEN");
  } catch (...) {
    stop_and_remove();  // the destructor does not run for an object that was never made
    throw;
  }
  // run journals of the tool under test go with this hub, not into the home folder
  setenv("HUB_STRESS_TEST_STATE_DIR", (dir_ + "/tool-state").c_str(), 1);
}

void LocalHub::kill_hub() {
  if (std::system((std::string(HST_LOCAL_HUB_SCRIPT) + " kill " + shell_quote(dir_)).c_str()) != 0) {
    throw std::runtime_error("could not kill the hub");
  }
}

void LocalHub::restart_hub() {
  if (std::system((std::string(HST_LOCAL_HUB_SCRIPT) + " restart " + shell_quote(dir_)).c_str()) != 0) {
    throw std::runtime_error("could not restart the hub");
  }
}

LocalHub::~LocalHub() { stop_and_remove(); }

void LocalHub::stop_and_remove() const {
  const std::string cmd = std::string(HST_LOCAL_HUB_SCRIPT) + " stop " + shell_quote(dir_);
  (void)std::system(cmd.c_str());
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

SessionOptions LocalHub::options() const {
  SessionOptions o;
  o.endpoint = endpoint_;
  o.token = token_;
  return o;
}

void LocalHub::create(const std::vector<std::string>& names) {
  Session s(options());
  // each name is a synchronous database write on the hub: 240 in one request took over 30 s on a
  // busy machine (ctest -j4), and the retry after the timeout found them all made (409)
  constexpr std::size_t kBatch = 50;
  for (std::size_t i = 0; i < names.size(); i += kBatch) {
    const std::vector<std::string> batch(names.begin() + static_cast<std::ptrdiff_t>(i),
                                         names.begin() + static_cast<std::ptrdiff_t>(std::min(names.size(), i + kBatch)));
    Request req = s.request("POST", "/users", "/users", nlohmann::json{{"usernames", batch}}.dump());
    req.timeout = std::chrono::seconds(120);
    const Response r = s.call(std::move(req));
    const bool made_by_a_timed_out_attempt = r.status == 409 && r.unsure_attempts > 0;
    if (r.status != 201 && !made_by_a_timed_out_attempt) throw std::runtime_error("setup: POST /users: " + r.describe());
  }
}

void LocalHub::start_server(const std::string& name) {
  Session s(options());
  const Response r = s.call(s.request("POST", "/users/" + name + "/server", "/users/{name}/server"));
  if (r.status != 201 && r.status != 202) throw std::runtime_error("setup: start " + name + ": " + r.describe());
}

void LocalHub::wait_ready(const std::string& name, double seconds) {
  Session s(options());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    const Response r = s.call(s.request("GET", "/users/" + name, "/users/{name}"));
    const auto user = nlohmann::json::parse(r.body, nullptr, false);
    if (user.is_object() && user["servers"].contains("") && user["servers"][""]["ready"] == true) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw std::runtime_error("setup: server of " + name + " not ready in time");
}

std::vector<std::string> LocalHub::user_names() {
  Session s(options());
  std::vector<std::string> names;
  for (const auto& u : list_users(s)) names.push_back(u["name"].get<std::string>());
  return names;
}

std::vector<std::string> LocalHub::active_server_users() {
  Session s(options());
  std::vector<std::string> names;
  for (const auto& u : list_users(s, "state=active")) names.push_back(u["name"].get<std::string>());
  return names;
}

int LocalHub::requests_logged(const std::string& needle) {
  // A marker request after everything the test sent: the hub writes a request's access-log line in
  // the same turn of its event loop that answers it, so once the marker's line is in the log, the
  // line of every request answered before is too. No sleep, and no count taken too early.
  const std::string marker = "/hub/hst-log-marker-" + std::to_string(++markers_);
  Session s(options());
  const std::string root = endpoint_.substr(0, endpoint_.size() - std::string("/hub/api").size());
  const Response r = s.call(s.request("GET", root + marker, "marker"));
  if (!r.answered()) throw std::runtime_error("log marker: " + r.describe());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    std::ifstream in(dir_ + "/hub.log");
    std::string line;
    int n = 0;
    bool marked = false;
    while (std::getline(in, line)) {
      // the access log line ("JupyterHub log:186] 201 POST ..."), not the handler's own warning about it
      if (line.find(" log:") == std::string::npos) continue;
      if (line.find(marker + " ") != std::string::npos) {
        marked = true;
        break;
      }
      n += line.find(needle) != std::string::npos ? 1 : 0;
    }
    if (marked) return n;
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the hub never logged " + marker);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

BackgroundTool::BackgroundTool(const std::vector<std::string>& args, const std::string& dir, const std::string& name)
    : out_(dir + "/" + name) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    unsetenv("JUPYTERHUB_ENDPOINT");
    unsetenv("JUPYTERHUB_API_TOKEN");
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(HST_TOOL));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(HST_TOOL, argv.data());
    _exit(127);
  }
}

BackgroundTool::~BackgroundTool() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

void BackgroundTool::signal(int sig) { ::kill(pid_, sig); }

bool BackgroundTool::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const int r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = exit_status(status);
    pid_ = -pid_;  // reaped
    return false;
  }
  return r == 0;
}

int BackgroundTool::wait() {
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
    exit_code_ = exit_status(status);
    pid_ = -pid_;
  }
  return exit_code_;
}

std::string BackgroundTool::output() const {
  std::ifstream in(out_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ToolResult run_tool(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return run_tool_via("", HST_TOOL, args, env);
}

std::string tool_path() { return HST_TOOL; }

ToolResult run_tool_via(const std::string& launcher, const std::string& tool, const std::vector<std::string>& args,
                        const std::vector<std::string>& env) {
  std::string cmd = "env -u JUPYTERHUB_ENDPOINT -u JUPYTERHUB_API_TOKEN -u HUB_STRESS_TEST_PASSWORD";
  for (const auto& e : env) cmd += " " + shell_quote(e);
  if (!launcher.empty()) cmd += " " + launcher;
  cmd += " " + shell_quote(tool);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>&1";
  ToolResult result;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed");
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) result.output += buf.data();
  result.exit_code = exit_status(pclose(pipe));
  return result;
}

} // namespace hubstress::testing
