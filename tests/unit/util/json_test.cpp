#include "util/json.h"

#include <gtest/gtest.h>

namespace oceanus {
namespace {

TEST(Utf8Test, ValidatesAndCounts) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xE3\x81\x82\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xE3\x81"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_EQ(Utf8Length("a\xE3\x81\x82z"), 3u);
  EXPECT_EQ(Utf8PrefixBytes("a\xE3\x81\x82z", 2), 4u);
  EXPECT_EQ(Utf8PrefixBytes("ab", 5), 2u);
}

TEST(AppendJsonStringTest, EscapesQuotesAndBackslashes) {
  std::string out;
  AppendJsonString(out, "say \"hi\" \\ \n");
  EXPECT_EQ(out, R"("say \"hi\" \\ \n")");
}

// The eight-bytes-at-a-time paths against a byte-by-byte reference: every position of a
// byte that matters (one to escape, one above 0x7F, a malformed one) in texts of every length
// around the word size, so that it falls in a word, across two, and in the tail.
std::string EscapedByteByByte(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\b')
      out += "\\b";
    else if (c == '\f')
      out += "\\f";
    else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

TEST(AppendJsonStringTest, EveryByteThatNeedsEscapingIsFoundWhereverItIs) {
  const std::string specials = std::string("\"\\\n\x01\x1f\x00", 6) + "\x7f\x20!#[]";
  for (std::size_t length = 1; length <= 20; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (char special : specials) {
        std::string text(length, 'a');
        text[at] = special;
        std::string out;
        AppendJsonString(out, text);
        ASSERT_EQ(out, EscapedByteByByte(text)) << "length " << length << " at " << at;
      }
    }
  }
}

TEST(Utf8Test, AMalformedByteIsFoundWhereverItIs) {
  for (std::size_t length = 1; length <= 20; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      std::string text(length, 'a');
      text[at] = '\xff';
      EXPECT_FALSE(IsValidUtf8(text)) << "length " << length << " at " << at;
      if (at + 2 <= length) {
        text.replace(at, 2, "\xC3\xA9");  // é: valid
        EXPECT_TRUE(IsValidUtf8(text)) << "length " << length << " at " << at;
      }
      if (at + 3 <= length) {
        text.replace(at, 3, "\xE3\x81\x41");  // truncated: the third byte is ASCII
        EXPECT_FALSE(IsValidUtf8(text)) << "length " << length << " at " << at;
      }
    }
  }
}

TEST(JsonStringTest, LossyReplacesInvalidUtf8AndKeepsValidText) {
  std::string out;
  AppendJsonStringLossy(out, "caf\xC3\xA9 \"x\"");
  EXPECT_EQ(out, "\"caf\xC3\xA9 \\\"x\\\"\"");  // valid UTF-8: as AppendJsonString writes it
  out.clear();
  // A stray continuation byte, a truncated sequence, an overlong form and a surrogate.
  AppendJsonStringLossy(out,
                        "a\xFF"
                        "b\xE3\x81"
                        "c\xC0\xAF"
                        "d\xED\xA0\x80");
  EXPECT_TRUE(IsValidUtf8(out)) << out;
  EXPECT_EQ(out,
            "\"a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD"
            "d\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace oceanus
