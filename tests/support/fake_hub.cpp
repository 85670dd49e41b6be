#include "fake_hub.hpp"

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>
#include <cstdio>
#include <stdexcept>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hubstress::testing {

int start_loopback_script(const std::string& script, const std::vector<std::string>& options, int& pid) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error(script + ": pipe failed");
  const pid_t parent = getpid();
  pid = fork();
  if (pid < 0) throw std::runtime_error(script + ": fork failed");
  if (pid == 0) {
    // Dies with the test: a test that crashed would otherwise leave it running, holding the
    // test's stderr open (ctest, or a pipe to `tail`, then waits for it).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); // the test already died between fork and prctl
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> args{"/usr/bin/python3", script};
    args.insert(args.end(), options.begin(), options.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[64] = {0};
  int port = 0;
  const bool got = f != nullptr && std::fgets(line, sizeof line, f) != nullptr;
  if (f != nullptr) std::fclose(f);
  if (!got || std::sscanf(line, "PORT %d", &port) != 1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw std::runtime_error(script + " did not start");
  }
  return port;
}

void stop_loopback_script(int pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

FakeHub::FakeHub(const std::vector<std::string>& options) { port_ = start_loopback_script(HST_FAKE_HUB, options, pid_); }

FakeHub::~FakeHub() { stop_loopback_script(pid_); }

CreateProxy::CreateProxy(const std::string& upstream, const std::vector<std::string>& modes) {
  char templ[] = "/tmp/hst-proxy-XXXXXX";
  if (mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  std::vector<std::string> args{upstream, dir_};
  for (const auto& m : modes) args.insert(args.end(), {"--create", m});
  port_ = start_loopback_script(HST_CREATE_PROXY, args, pid_);
}

CreateProxy::~CreateProxy() {
  stop_loopback_script(pid_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool CreateProxy::wait_held(int n, double seconds) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  const auto marker = std::filesystem::path(dir_) / ("held-" + std::to_string(n));
  while (!std::filesystem::exists(marker)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

void CreateProxy::release(int n) const {
  std::ofstream(std::filesystem::path(dir_) / ("release-" + std::to_string(n))).flush();
}

nlohmann::json FakeHub::state() const {
  httplib::Client client("127.0.0.1", port_);
  const auto res = client.Get("/_state");
  if (!res || res->status != 200) throw std::runtime_error("fake hub: no state");
  return nlohmann::json::parse(res->body);
}

} // namespace hubstress::testing
