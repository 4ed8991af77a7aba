// The ClickHouse escaping and error reading (sink/clickhouse/clickhouse_sql.h), without a
// server: hostile values quoted so that they stay one literal, TabSeparated decoded, error
// codes read and classified.
#include "sink/clickhouse/clickhouse_sql.h"

#include <gtest/gtest.h>

namespace oceanus::sink::clickhouse {
namespace {

TEST(ClickHouseSqlTest, QuoteStringEscapesEverythingThatCouldEndTheLiteral) {
  EXPECT_EQ(QuoteString("plain"), "'plain'");
  EXPECT_EQ(QuoteString("' OR 1=1 --"), "'\\' OR 1=1 --'");
  EXPECT_EQ(QuoteString("a\\"), "'a\\\\'");
  EXPECT_EQ(QuoteString("\\'"), "'\\\\\\''");
  EXPECT_EQ(QuoteString(std::string("n\0l\n\r\t", 6)), "'n\\0l\\n\\r\\t'");
  EXPECT_EQ(QuoteName("a`b\\"), "`a\\`b\\\\`");
}

TEST(ClickHouseSqlTest, TsvFieldsAreDecodedAndNullIsDistinct) {
  const auto f = SplitTsvLine("a\\tb\t\\N\t\t\\\\N\tx\\0y\\n\\'");
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(*f[0], "a\tb");
  EXPECT_FALSE(f[1].has_value());
  EXPECT_EQ(*f[2], "");
  EXPECT_EQ(*f[3], "\\N");
  EXPECT_EQ(*f[4], std::string("x\0y\n'", 5));
}

TEST(ClickHouseSqlTest, ErrorCodesAreReadAndClassified) {
  EXPECT_EQ(ErrorCode("Code: 27, e.displayText() = DB::Exception: Cannot parse input"), 27);
  EXPECT_EQ(ErrorCode("<html>Bad Gateway</html>"), -1);
  EXPECT_EQ(Classify(27), ErrorClass::kRow);
  EXPECT_EQ(Classify(252), ErrorClass::kRetryable);  // TOO_MANY_PARTS
  EXPECT_EQ(Classify(241), ErrorClass::kRetryable);  // MEMORY_LIMIT_EXCEEDED
  EXPECT_EQ(Classify(159), ErrorClass::kRetryable);  // TIMEOUT_EXCEEDED
  EXPECT_EQ(Classify(60), ErrorClass::kOther);       // UNKNOWN_TABLE
  EXPECT_EQ(ErrorStatus("w", 500, "Code: 252, e.displayText() = Too many parts").code(),
            Status::Code::kUnavailable);
  EXPECT_EQ(ErrorStatus("w", 502, "bad gateway").code(), Status::Code::kUnavailable);
  EXPECT_EQ(ErrorStatus("w", 404, "Code: 60, e.displayText() = no table").code(),
            Status::Code::kInternal);
}

}  // namespace
}  // namespace oceanus::sink::clickhouse
