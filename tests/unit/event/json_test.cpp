#include "event/json.h"

#include <gtest/gtest.h>

namespace oceanus::event {
namespace {

std::string Canonical(std::string_view in) {
  std::string out;
  Status s = CanonicalJson(in, out);
  return s.ok() ? out : "ERROR: " + s.message();
}

TEST(CanonicalJsonTest, SortsKeysRecursivelyAndCompacts) {
  EXPECT_EQ(Canonical(R"( { "b" : 1, "a" : { "z": [1, 2, {"y": null, "x": true}], "c": "d" } } )"),
            R"({"a":{"c":"d","z":[1,2,{"x":true,"y":null}]},"b":1})");
}

TEST(CanonicalJsonTest, KeepsNumbersAsWritten) {
  EXPECT_EQ(Canonical(R"({"price":0.1,"big":12345678901234567890123,"e":1.50e300,"n":-0})"),
            R"({"big":12345678901234567890123,"e":1.50e300,"n":-0,"price":0.1})");
  // Beyond a double's range is refused (Python would have produced the invalid "Infinity").
  EXPECT_EQ(Canonical(R"({"e":1e400})").rfind("ERROR: ", 0), 0u);
}

TEST(CanonicalJsonTest, RepeatedKeyKeepsTheLastValue) {
  EXPECT_EQ(Canonical(R"({"a":1,"a":2})"), R"({"a":2})");
}

TEST(CanonicalJsonTest, UnicodeStaysUtf8AndControlsAreEscaped) {
  EXPECT_EQ(Canonical(R"({"kwd":"\u3042\u3044","t":"a\tb\u0001"})"),
            "{\"kwd\":\"\xE3\x81\x82\xE3\x81\x84\",\"t\":\"a\\tb\\u0001\"}");
}

TEST(CanonicalJsonTest, RejectsNonJsonWithAReason) {
  EXPECT_EQ(Canonical("{'a':1}").rfind("ERROR: ", 0), 0u);
  EXPECT_EQ(Canonical("{\"a\":1").rfind("ERROR: ", 0), 0u);
  EXPECT_EQ(Canonical("").rfind("ERROR: ", 0), 0u);
  EXPECT_EQ(Canonical("\"\xff\"").rfind("ERROR: ", 0), 0u);
}

TEST(CanonicalJsonTest, DeepNestingIsRejectedNotCrashed) {
  std::string deep(100000, '[');
  EXPECT_NE(Canonical(deep).find("nested deeper"), std::string::npos);
}

}  // namespace
}  // namespace oceanus::event
