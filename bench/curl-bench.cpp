// libcurl alone, as a floor for engine-bench: C easy handles on one multi handle, driven by
// libcurl's own documented loop (curl_multi_perform + curl_multi_poll), each handle sent again as
// soon as it is done, for D seconds. The handles carry the options the engine gives every request
// (cookie engine, Accept-Encoding, no signals, a timeout), but no coroutine, no event loop and no
// answer kept. Prints counts and, on its last line, "requests/s N".
//   curl-bench --url http://127.0.0.1:PORT/ --connections 50 --duration 5 [--requests N]
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::string url;
  int connections = 50;
  double duration_s = 5;
  long requests = 0; // stop after this many answers (0: no limit)
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "curl-bench: %s\nusage: curl-bench --url URL [--connections N] [--duration SECONDS] [--requests N]\n",
               why);
  std::exit(1);
}

Config parse(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
    const char* value = argv[++i];
    if (arg == "--url") config.url = value;
    else if (arg == "--connections" || arg == "-c") config.connections = std::atoi(value);
    else if (arg == "--duration" || arg == "-d") config.duration_s = std::atof(value);
    else if (arg == "--requests" || arg == "-n") config.requests = std::atol(value);
    else usage(("unknown option " + arg).c_str());
  }
  if (config.url.empty()) usage("--url is required");
  if (config.connections < 1 || config.duration_s <= 0 || config.requests < 0) {
    usage("--connections and --duration must be positive, --requests not negative");
  }
  return config;
}

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

} // namespace

int main(int argc, char** argv) {
  const Config config = parse(argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(config.connections));
  std::vector<CURL*> handles;
  for (int i = 0; i < config.connections; ++i) {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, config.url.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(easy, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 30'000L);
    curl_multi_add_handle(multi, easy);
    handles.push_back(easy);
  }
  long ok = 0, other = 0, failed = 0;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.duration_s));
  while (Clock::now() < until && (config.requests == 0 || ok + other + failed < config.requests)) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK) ++failed;
      else if (status >= 200 && status < 300) ++ok;
      else ++other;
      curl_multi_remove_handle(multi, easy);
      curl_multi_add_handle(multi, easy);
    }
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (CURL* easy : handles) {
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
  }
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  std::printf("connections %d\nseconds %.3f\nanswers 2xx %ld\nanswers other %ld\nfailed %ld\n", config.connections, seconds,
              ok, other, failed);
  std::printf("requests/s %.0f\n", static_cast<double>(ok) / seconds);
  return ok > 0 ? 0 : 1;
}
