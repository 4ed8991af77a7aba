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
