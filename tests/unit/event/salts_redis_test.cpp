// The collectors' shared daily salts: two collectors on one Redis agree on today's and
// tomorrow's salt, the key expires soon after its day, and a day already begun keeps its salt.
#include "event/salts_redis.h"

#include <gtest/gtest.h>

#include "redis_server.h"

namespace oceanus::event {
namespace {

using oceanus::testing::RedisServer;

// Today (a day in the past would expire in Redis at once).
const std::int64_t kDay = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())
                              .time_since_epoch()
                              .count();
const auto kNoon = std::chrono::system_clock::time_point(std::chrono::hours(24 * kDay + 12));

TEST(SharedSaltsTest, CollectorsOnOneRedisShareEachDaysSaltWhichExpiresAfterItsDay) {
  RedisServer server;
  queue::redis::RedisConfig options;
  options.port = server.port();
  auto cli = server.Connect(options);
  ASSERT_TRUE(cli);
  DailySalts a, b, alone;
  SharedSalts one(options, "p:"), two(options, "p:");
  ASSERT_TRUE(one.Sync(a, kNoon).ok());
  ASSERT_TRUE(two.Sync(b, kNoon).ok());
  const Salt today = a.ForDay(kDay);
  EXPECT_EQ(b.ForDay(kDay), today);
  EXPECT_NE(alone.ForDay(kDay), today);  // without Redis: a salt of its own
  const Salt tomorrow = a.ForDay(kDay + 1);
  EXPECT_EQ(b.ForDay(kDay + 1), tomorrow);
  EXPECT_NE(tomorrow, today);
  auto expires = cli->Command({"EXPIRETIME", "p:salt:" + std::to_string(kDay)});
  ASSERT_TRUE(expires.ok());
  EXPECT_EQ((*expires)->integer, (kDay + 1) * 86400 + 600);

  // A collector whose day began before Redis answered keeps its own salt for that day.
  DailySalts late;
  const Salt own = late.ForDay(kDay);
  SharedSalts three(options, "p:");
  ASSERT_TRUE(three.Sync(late, kNoon).ok());
  EXPECT_EQ(late.ForDay(kDay), own);
  EXPECT_EQ(late.ForDay(kDay + 1), tomorrow);  // the next day is shared
}

TEST(SharedSaltsTest, AnUnreachableRedisIsAnErrorAndTheSaltsStayLocal) {
  queue::redis::RedisConfig options;
  options.port = 1;  // nothing listens there
  options.connect_timeout = std::chrono::milliseconds(200);
  DailySalts salts;
  SharedSalts shared(options, "");
  EXPECT_FALSE(shared.Sync(salts, kNoon).ok());
  const Salt own = salts.ForDay(kDay);
  EXPECT_EQ(salts.ForDay(kDay), own);
}

}  // namespace
}  // namespace oceanus::event
