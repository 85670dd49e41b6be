#include "fake_hub.hpp"

#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hubstress::testing {

FakeHub::FakeHub(const std::vector<std::string>& options) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("fake hub: pipe failed");
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fake hub: fork failed");
  if (pid_ == 0) {
    // Dies with the test: a test that crashed would otherwise leave it running, holding the
    // test's stderr open (ctest, or a pipe to `tail`, then waits for it).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); // the test already died between fork and prctl
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> args{"/usr/bin/python3", HST_FAKE_HUB};
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
  const bool got = f != nullptr && std::fgets(line, sizeof line, f) != nullptr;
  if (f != nullptr) std::fclose(f);
  if (!got || std::sscanf(line, "PORT %d", &port_) != 1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("fake hub did not start (tests/support/fake_hub.py)");
  }
}

FakeHub::~FakeHub() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
}

nlohmann::json FakeHub::state() const {
  httplib::Client client("127.0.0.1", port_);
  const auto res = client.Get("/_state");
  if (!res || res->status != 200) throw std::runtime_error("fake hub: no state");
  return nlohmann::json::parse(res->body);
}

} // namespace hubstress::testing
