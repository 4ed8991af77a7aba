// FieldLines: repeated field lines combined in order; one line is not copied.
#include "http/field_lines.h"

#include <gtest/gtest.h>

namespace oceanus::http {
namespace {

TEST(FieldLinesTest, OneLineIsPassedThroughWithoutACopy) {
  std::string scratch;
  const std::string line = "198.51.100.7";
  FieldLines f(scratch);
  f.Add(line);
  EXPECT_EQ(f.value(), "198.51.100.7");
  EXPECT_EQ(f.value().data(), line.data());
  EXPECT_TRUE(scratch.empty());
}

TEST(FieldLinesTest, SeveralLinesAreJoinedInOrder) {
  std::string scratch = "left over from the last request";
  FieldLines f(scratch);
  f.Add("6.6.6.6");  // the client's forged line comes first
  f.Add("");         // an empty line holds no element
  f.Add("198.51.100.7");
  f.Add("10.0.0.1, 10.0.0.2");
  EXPECT_EQ(f.value(), "6.6.6.6, 198.51.100.7, 10.0.0.1, 10.0.0.2");
  EXPECT_EQ(f.lines(), 3);
}

TEST(FieldLinesTest, NoLinesIsEmpty) {
  std::string scratch;
  FieldLines f(scratch);
  f.Add("");
  EXPECT_EQ(f.value(), "");
  EXPECT_EQ(f.lines(), 0);
}

}  // namespace
}  // namespace oceanus::http
