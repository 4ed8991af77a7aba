#include "util/status.h"

#include <gtest/gtest.h>

namespace oceanus {
namespace {

TEST(StatusTest, OkIsOkAndNotRetryable) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(s.retryable());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, UnavailableIsRetryableInvalidIsNot) {
  EXPECT_TRUE(Status::Unavailable("redis down").retryable());
  EXPECT_FALSE(Status::InvalidArgument("bad row").retryable());
  EXPECT_EQ(Status::Corruption("crc").ToString(), "corruption: crc");
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Status::NotFound("x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace oceanus
