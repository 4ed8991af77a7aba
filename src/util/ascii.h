// ASCII-only helpers for protocol tokens (header names, media types, User-Agent atoms): case
// folding and HTTP's optional whitespace.
// Locale-free and allocation-free, unlike std::tolower and friends: bytes >= 0x80 pass through
// unchanged, which is what HTTP's case-insensitive comparisons mean.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>

namespace oceanus {

constexpr char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char AsciiUpper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// "Content-Type" equals "content-type".
constexpr bool AsciiIEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// " a, b\t" → "a, b": strips HTTP's optional whitespace (spaces and tabs, RFC 9110 §5.6.3).
constexpr std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "42\n" → 42: a decimal integer that is all of `s` but surrounding whitespace (a count in a
// server's answer); nullopt for anything else, so that a strange answer is an error, not a throw.
inline std::optional<long long> ParseDecimal(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace oceanus
