#include "event/params.h"

#include <gtest/gtest.h>

namespace oceanus::event {
namespace {

TEST(ParamListTest, DecodesPercentAndPlus) {
  ParamList p;
  ASSERT_TRUE(
      p.AddEncoded("a=1&tit=%E3%81%82+b&empty=&flag&url=http%3A%2F%2Fx%2Fy%3Fq%3D1", nullptr));
  EXPECT_EQ(p.Get("a"), "1");
  EXPECT_EQ(p.Get("tit"), "\xE3\x81\x82 b");
  EXPECT_EQ(p.Get("empty"), "");
  EXPECT_EQ(p.Get("flag"), "");
  EXPECT_EQ(p.Get("url"), "http://x/y?q=1");
  EXPECT_FALSE(p.Get("missing").has_value());
}

TEST(ParamListTest, FirstDuplicateWins) {
  ParamList p;
  ASSERT_TRUE(p.AddEncoded("evt=click&evt=pageview", nullptr));
  EXPECT_EQ(p.Get("evt"), "click");
}

TEST(ParamListTest, MalformedPercentEncodingIsReportedWithTheName) {
  for (const char* bad : {"x=%zz", "x=%4", "x=%", "x=abc%g1"}) {
    ParamList p;
    std::string name;
    EXPECT_FALSE(p.AddEncoded(bad, &name)) << bad;
    EXPECT_EQ(name, "x") << bad;
  }
}

TEST(ParamListTest, ReuseKeepsNoStaleValues) {
  ParamList p;
  ASSERT_TRUE(p.AddEncoded("a=1&b=2", nullptr));
  p.clear();
  ASSERT_TRUE(p.AddEncoded("c=3", nullptr));
  EXPECT_FALSE(p.Get("a").has_value());
  EXPECT_EQ(p.Get("c"), "3");
  EXPECT_EQ(p.size(), 1u);
}

TEST(ReplaceQueryParamTest, ReplacesOnlyThatValue) {
  EXPECT_EQ(ReplaceQueryParam("sid=ab&evt=open&uid=%41", "evt", "see"), "sid=ab&evt=see&uid=%41");
  EXPECT_EQ(ReplaceQueryParam("sid=ab", "evt", "see"), "sid=ab&evt=see");
  EXPECT_EQ(ReplaceQueryParam("", "evt", "see"), "evt=see");
}

// Found by tests/fuzz/fuzz_params: the name is compared as the event decodes it, so the
// /gaze redirect moves an escaped "ev%74" on instead of adding a second evt after it.
TEST(ReplaceQueryParamTest, MatchesTheDecodedName) {
  EXPECT_EQ(ReplaceQueryParam("sid=ab&ev%74=open&evt=x", "evt", "see"), "sid=ab&evt=see&evt=x");
  EXPECT_EQ(ReplaceQueryParam("a=1&ev%74&evt=x", "evt", "see"), "a=1&evt=see&evt=x");
  EXPECT_EQ(ReplaceQueryParam("e+vt=1&%zz=2", "evt", "see"), "e+vt=1&%zz=2&evt=see");
  ParamList p;
  ASSERT_TRUE(p.AddEncoded(ReplaceQueryParam("%65%76%74=open", "evt", "see"), nullptr));
  EXPECT_EQ(p.Get("evt"), "see");
}

}  // namespace
}  // namespace oceanus::event
