// ASCII-only case folding for protocol tokens (header names, media types, User-Agent atoms).
// Locale-free and allocation-free, unlike std::tolower and friends: bytes >= 0x80 pass through
// unchanged, which is what HTTP's case-insensitive comparisons mean.
#pragma once

#include <cstddef>
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

}  // namespace oceanus
