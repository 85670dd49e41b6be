// libcurl alone, as a floor for engine-bench: C easy handles on one multi handle, driven by
// libcurl's own documented loop (curl_multi_perform + curl_multi_poll), each handle sent again as
// soon as it is done, for D seconds. The handles carry the options the engine gives every request
// of engine-bench (src/engine/client.cpp, configure()), so both send the same bytes: the cookie
// engine on a share handle, Accept-Encoding, the engine's default User-Agent, a header callback,
// protocols, redirects, TLS checks, an error buffer, timeouts. No coroutine, no event loop and no
// answer kept. Prints counts and, on its last line, "requests/s N".
// (The User-Agent alone costs libcurl about 7,500 instructions a request: its printf builds each
// header byte by byte. Without it, this floor was 10% lower than what the engine asks libcurl for.)
//   curl-bench --url http://127.0.0.1:PORT/ --connections 50 --duration 5 [--requests N]
#include "bench_args.hpp"

#include <curl/curl.h>

#include <chrono>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

// hubstress::engine::ClientOptions{}.user_agent
constexpr const char* kUserAgent = "hub-stress-test-cpp/0.1";

} // namespace

int main(int argc, char** argv) {
  const bench::Config config = bench::parse("curl-bench", argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(config.connections));
  CURLSH* share = curl_share_init(); // the engine's cookie jar: one share handle per client
  curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  std::vector<CURL*> handles;
  std::vector<char> errors(static_cast<std::size_t>(config.connections) * CURL_ERROR_SIZE);
  for (int i = 0; i < config.connections; ++i) {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, config.url.c_str());
    curl_easy_setopt(easy, CURLOPT_SHARE, share);
    curl_easy_setopt(easy, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, &errors[static_cast<std::size_t>(i) * CURL_ERROR_SIZE]);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 30'000L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 30'000L);
    curl_multi_add_handle(multi, easy);
    handles.push_back(easy);
  }
  bench::Counts counts;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.duration_s));
  while (Clock::now() < until && (config.requests == 0 || counts.all() < config.requests)) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result != CURLE_OK) ++counts.failed;
      else if (status >= 200 && status < 300) ++counts.ok;
      else ++counts.status;
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
  curl_share_cleanup(share);
  curl_global_cleanup();
  return bench::report(config, counts, seconds);
}
