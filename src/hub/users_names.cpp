#include "hubstress/hub/users.hpp"

#include "users_internal.hpp"

#include <algorithm>
#include <stdexcept>

namespace hubstress {

namespace {

constexpr std::string_view kTestWords[] = {"stress", "test", "load", "bench"};

} // namespace

std::optional<std::string> stress_test_number(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix || name[prefix.size()] != '-') {
    return std::nullopt;
  }
  std::string_view digits = name.substr(prefix.size() + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const auto first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? std::string("0") : std::string(digits.substr(first));
}

bool number_less(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

std::string number_plus(std::string_view digits, std::uint64_t k) {
  std::string out(digits.empty() ? "0" : digits);
  std::uint64_t carry = k;
  for (auto it = out.rbegin(); it != out.rend() && carry > 0; ++it) {
    const std::uint64_t sum = static_cast<std::uint64_t>(*it - '0') + carry % 10;
    *it = static_cast<char>('0' + sum % 10);
    carry = carry / 10 + sum / 10;
  }
  if (carry > 0) out.insert(0, std::to_string(carry));
  return out;
}

bool is_stress_test_user(std::string_view name, std::string_view prefix) {
  return stress_test_number(name, prefix).has_value();
}

void validate_prefix(std::string_view prefix) {
  const bool ok = !prefix.empty() && prefix.size() <= 100 && prefix.front() != '-' && prefix.back() != '-' &&
                  std::all_of(prefix.begin(), prefix.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                  });
  if (!ok) {
    throw std::invalid_argument("user name prefix '" + std::string(prefix) +
                                "' must be lower-case letters, digits and inner dashes");
  }
  // "user" or "student" would match real people's accounts (user-1, student-12): a prefix must say test
  const bool says_test = std::any_of(std::begin(kTestWords), std::end(kTestWords), [&](std::string_view word) {
    return prefix.find(word) != std::string_view::npos;
  });
  if (!says_test) {
    throw std::invalid_argument("user name prefix '" + std::string(prefix) +
                                "' could match real users: it must contain 'stress', 'test', 'load' or 'bench'");
  }
}

std::string users_detail::highest_number(const std::vector<std::string>& names, std::string_view prefix) {
  std::string highest = "0";
  for (const auto& name : names) {
    if (auto n = stress_test_number(name, prefix); n && number_less(highest, *n)) highest = *n;
  }
  return highest;
}

std::uint64_t number_mod(std::string_view digits, std::uint64_t modulus) {
  if (modulus <= 1) return 0;
  std::uint64_t r = 0;
  // r < modulus, and shard counts are small (at most kMaxShards): r * 10 + 9 cannot overflow
  for (char c : digits) r = (r * 10 + static_cast<std::uint64_t>(c - '0')) % modulus;
  return r;
}

std::string next_number(std::string_view after, const NameSlot& slot) {
  const std::string first = number_plus(after, 1);
  if (slot.modulus <= 1) return first;
  const std::uint64_t have = number_mod(first, slot.modulus);
  return number_plus(first, (slot.residue % slot.modulus + slot.modulus - have) % slot.modulus);
}

bool in_slot(std::string_view digits, const NameSlot& slot) {
  return slot.modulus <= 1 || number_mod(digits, slot.modulus) == slot.residue % slot.modulus;
}

std::vector<std::string> next_user_names(const std::vector<std::string>& existing, int count, std::string_view prefix,
                                         const NameSlot& slot) {
  std::string last = users_detail::highest_number(existing, prefix);
  std::vector<std::string> names;
  for (int i = 1; i <= count; ++i) {
    last = next_number(last, slot);
    names.push_back(std::string(prefix) + "-" + last);
  }
  return names;
}

std::vector<std::vector<std::string>> split_batches(const std::vector<std::string>& names, int batch_size) {
  if (batch_size < 1) throw std::invalid_argument("batch size must be at least 1");
  std::vector<std::vector<std::string>> batches;
  for (std::size_t i = 0; i < names.size(); i += static_cast<std::size_t>(batch_size)) {
    const auto end = std::min(names.size(), i + static_cast<std::size_t>(batch_size));
    batches.emplace_back(names.begin() + static_cast<std::ptrdiff_t>(i), names.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

} // namespace hubstress
