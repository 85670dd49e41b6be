#pragma once
// Internal: a user's cookie jar (a libcurl share handle) and its pool of easy handles.
#include "hubstress/engine/client.hpp"
#include "hubstress/engine/web.hpp"

#include <curl/curl.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace hubstress::engine {

// ---------------------------------------------------------------------------------------------
// The jar: a share handle per user, so every transfer of this user reads and writes one jar.

struct Client::Jar {
  Jar() {
    share = curl_share_init();
    probe = curl_easy_init();
    if (share == nullptr || probe == nullptr) throw std::runtime_error("could not initialise libcurl");
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
    curl_easy_setopt(probe, CURLOPT_SHARE, share);
    curl_easy_setopt(probe, CURLOPT_COOKIEFILE, "");
  }
  ~Jar() {
    for (Pooled& handle : idle) curl_easy_cleanup(handle.easy);
    curl_easy_cleanup(probe); // detaches it from the share first
    curl_share_cleanup(share);
  }

  // The options of a handle's last request that vary from one request to the next, so that one
  // equal to the last is not set again (libcurl copies and parses a URL again when it is set again,
  // and each curl_easy_setopt costs about what parsing a header line does).
  struct Set {
    std::string url;         // CURLOPT_URL
    long timeout_ms = -1;    // CURLOPT_TIMEOUT_MS
    long connect_ms = -1;    // CURLOPT_CONNECTTIMEOUT_MS
    long follow = -1;        // CURLOPT_FOLLOWLOCATION
    bool plain_get = false;  // a GET: no body, no custom method, nothing of a POST left on it
    bool headers = true;     // CURLOPT_HTTPHEADER holds a list
  };
  // What a handle's callbacks and error buffer point at, set once per handle: the transfer it
  // serves now.
  struct Slot {
    void* transfer = nullptr;
    char error[CURL_ERROR_SIZE];
  };
  // Easy handles are reused: a new one costs allocations (its 16 KB buffer among them) per request.
  // Reused as they are (configure() sets an option that varies when it differs from `set`); easy
  // is nullptr when out of memory.
  struct Pooled {
    CURL* easy = nullptr;
    Set set;
    std::unique_ptr<Slot> slot;
  };
  Pooled take(bool& fresh) {
    fresh = idle.empty();
    if (fresh) return Pooled{curl_easy_init(), {}, std::make_unique<Slot>()};
    Pooled handle = std::move(idle.back());
    idle.pop_back();
    return handle;
  }
  void give_back(Pooled handle) {
    if (idle.size() >= kMaxIdle) {
      curl_easy_cleanup(handle.easy);
      return;
    }
    idle.push_back(std::move(handle));
  }
  static constexpr std::size_t kMaxIdle = 64;
  std::vector<Pooled> idle;
  Jar(const Jar&) = delete;
  Jar& operator=(const Jar&) = delete;

  CookieJar cookies() const {
    CookieJar jar;
    curl_slist* list = nullptr;
    curl_easy_getinfo(probe, CURLINFO_COOKIELIST, &list);
    for (curl_slist* item = list; item != nullptr; item = item->next) {
      if (auto cookie = parse_cookie_line(item->data)) jar.push_back(std::move(*cookie));
    }
    curl_slist_free_all(list);
    return jar;
  }

  CURLSH* share = nullptr;
  CURL* probe = nullptr; // never sends anything: reads the jar
};

} // namespace hubstress::engine
