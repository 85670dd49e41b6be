#pragma once
// Small helpers shared by the report renderers (private to the library).
#include "hubstress/report/summary.hpp"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubstress::report_detail {

// (user, reason) pairs grouped by reason, the user's own name in it replaced by "{user}", most
// frequent first, three example users each (summary.cpp).
std::vector<FailureGroup> group_reasons(const std::vector<std::pair<std::string, std::string>>& failures);

// Seconds as every report prints them: millisecond resolution.
inline std::string seconds(double s) { return fmt::format("{:.3f}", s); }

// "429:3 500:1 timeout:2" (empty when there were none).
inline std::string errors_by_status(const ApiStats& a) {
  std::string out;
  for (const auto& [key, n] : a.errors_by_status) out += fmt::format("{}{}:{}", out.empty() ? "" : " ", key, n);
  return out;
}

// The label of histogram bucket i: "<=0.5 s", ..., ">300 s".
inline std::string bucket_label(const Histogram& h, std::size_t i) {
  if (i < h.upper_bounds_s.size()) return fmt::format("<={:g} s", h.upper_bounds_s[i]);
  if (h.upper_bounds_s.empty()) return "all";
  return fmt::format(">{:g} s", h.upper_bounds_s.back());
}

// The text with every byte that is not part of valid UTF-8 replaced by U+FFFD: hub answers are cut
// at byte counts, and a JSON dump throws on invalid UTF-8.
inline std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    }
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(in[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // no overlong forms, no surrogates, nothing above U+10FFFF
    if (ok && len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok && len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ok = false;
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

inline std::string megabytes(double bytes) { return fmt::format("{:.1f} MB", bytes / 1e6); }

} // namespace hubstress::report_detail
