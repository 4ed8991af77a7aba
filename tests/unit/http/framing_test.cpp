// Transfer-Encoding and Expect: what is refused before a body is read, and with what status.
#include "http/framing.h"

#include <gtest/gtest.h>

namespace oceanus::http {
namespace {

int Status(unsigned version, std::string_view te) {
  auto r = CheckTransferEncoding(version, true, te);
  return r ? r->status : 0;
}

TEST(FramingTest, OnlyChunkedIsImplemented) {
  EXPECT_FALSE(CheckTransferEncoding(11, false, ""));
  EXPECT_EQ(Status(11, "chunked"), 0);
  EXPECT_EQ(Status(11, "Chunked"), 0);
  EXPECT_EQ(Status(11, " chunked "), 0);
  EXPECT_EQ(Status(11, "gzip, chunked"), 501);  // would be used still compressed
  EXPECT_EQ(Status(11, "deflate"), 501);
  EXPECT_EQ(Status(11, "chunked, chunked"), 400);
  EXPECT_EQ(Status(11, ""), 400);
  EXPECT_EQ(Status(11, ","), 400);
}

TEST(FramingTest, TransferEncodingInHttp10IsFaulty) {
  EXPECT_EQ(Status(10, "chunked"), 400);
  EXPECT_FALSE(CheckTransferEncoding(10, false, ""));
}

TEST(FramingTest, ExpectContinue) {
  EXPECT_TRUE(ExpectsContinue(11, "100-continue"));
  EXPECT_TRUE(ExpectsContinue(11, "100-Continue"));
  EXPECT_FALSE(ExpectsContinue(10, "100-continue"));  // 1.0 clients cannot be relied on for it
  EXPECT_FALSE(ExpectsContinue(11, ""));
  EXPECT_FALSE(ExpectsContinue(11, "something-else"));
}

}  // namespace
}  // namespace oceanus::http
