#pragma once
// Internal: what the loop owns, for the engine's source files.
#include "curl_driver.hpp"

#include <boost/asio/signal_set.hpp>

#include <memory>
#include <vector>

namespace hubstress::engine {

struct Loop::Impl {
  asio::io_context io{1};
  std::shared_ptr<CurlDriver> curl = std::make_shared<CurlDriver>(io);
  std::size_t flows = 0;
  std::vector<std::unique_ptr<asio::signal_set>> signal_sets;

  // Suspended flows are destroyed with the io_context, after libcurl has let go of everything.
  ~Impl() {
    signal_sets.clear();
    curl->shutdown();
  }
};

} // namespace hubstress::engine
