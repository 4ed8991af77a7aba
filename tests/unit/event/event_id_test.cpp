#include "event/event_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace oceanus::event {
namespace {

TEST(EventIdTest, IsUuidV7TextAndStrictlyIncreasingWithinAMillisecond) {
  EventIdGenerator gen;
  const auto now = std::chrono::system_clock::now();
  std::string prev;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    char buf[36];
    gen.Next(now, buf);  // same instant every time: the counter must keep order
    std::string id(buf, 36);
    ASSERT_EQ(id[14], '7') << id;
    ASSERT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
    ASSERT_EQ(id[8], '-');
    ASSERT_GT(id, prev);
    prev = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(EventIdTest, TimeComesFirstSoIdsSortByTime) {
  EventIdGenerator a, b;
  const auto t = std::chrono::system_clock::now();
  char x[36], y[36];
  a.Next(t, x);
  b.Next(t + std::chrono::milliseconds(1), y);
  EXPECT_LT(std::string(x, 36), std::string(y, 36));
}

}  // namespace
}  // namespace oceanus::event
