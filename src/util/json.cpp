// UTF-8 checks and JSON string literals (see json.h).
//
// AppendJsonString copies runs of bytes that need no escaping in one append, which keeps it
// cheap on the event path where nearly every byte is plain text.
#include "util/json.h"

#include <bit>
#include <cstdint>
#include <cstring>

namespace oceanus {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 if it is malformed.
std::size_t SequenceLength(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// Eight bytes at a time (SWAR): the event path is nearly all plain ASCII text, and a byte
// loop over it was a measurable part of a Segment batch's cost.
std::uint64_t Word(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
// A high bit set in every byte of `w` that is below `n` (n <= 128): the classic "has less".
constexpr std::uint64_t BytesBelow(std::uint64_t w, unsigned n) {
  return (w - kOnes * n) & ~w & kHighs;
}
constexpr std::uint64_t BytesEqual(std::uint64_t w, unsigned char c) {
  return BytesBelow(w ^ (kOnes * c), 1);
}
// The high bit of each of the eight bytes that needs escaping in a JSON string (< 0x20, '"'
// or '\\'). A borrow can mark a byte above a marked one too, never below: the lowest mark
// is exact.
constexpr std::uint64_t EscapeMarks(std::uint64_t w) {
  return BytesBelow(w, 0x20) | BytesEqual(w, '"') | BytesEqual(w, '\\');
}
bool NeedsEscape(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == '"' || u == '\\';
}

// The first byte of [p, end) that needs escaping, or end: eight bytes at a time, then the
// lowest mark of the word that has one.
const char* NextEscape(const char* p, const char* end) {
  static_assert(std::endian::native == std::endian::little, "the lowest mark is the first byte");
  for (; p + 8 <= end; p += 8)
    if (const std::uint64_t marks = EscapeMarks(Word(p)); marks != 0)
      return p + std::countr_zero(marks) / 8;
  while (p < end && !NeedsEscape(*p)) ++p;
  return p;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    // Fast paths over ASCII runs.
    if (i + 8 <= s.size() && (Word(s.data() + i) & kHighs) == 0) {
      i += 8;
      continue;
    }
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::size_t Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::size_t Utf8PrefixBytes(std::string_view s, std::size_t max_code_points) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == max_code_points) return i;
      ++count;
    }
  }
  return s.size();
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  const char* end = s.data() + s.size();
  for (const char* p = s.data(); p < end;) {
    const char* escape = NextEscape(p, end);
    out.append(p, static_cast<std::size_t>(escape - p));
    if (escape == end) break;
    const auto c = static_cast<unsigned char>(*escape);
    char short_form = 0;
    switch (c) {
      case '"':
      case '\\':
        short_form = static_cast<char>(c);
        break;
      case '\n':
        short_form = 'n';
        break;
      case '\r':
        short_form = 'r';
        break;
      case '\t':
        short_form = 't';
        break;
      case '\b':
        short_form = 'b';
        break;
      case '\f':
        short_form = 'f';
        break;
    }
    if (short_form != 0) {
      const char two[2] = {'\\', short_form};
      out.append(two, 2);
    } else {
      const char six[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(six, 6);
    }
    p = escape + 1;
  }
  out.push_back('"');
}

void AppendJsonStringLossy(std::string& out, std::string_view s) {
  if (IsValidUtf8(s)) return AppendJsonString(out, s);
  std::string repaired;
  repaired.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = SequenceLength(s, i);
    if (n == 0) {
      repaired += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
      continue;
    }
    repaired.append(s, i, n);
    i += n;
  }
  AppendJsonString(out, repaired);
}

}  // namespace oceanus
