// The queue registry: which types are registered, and how the section parser reports a type
// nobody registered.
#include "queue/queue_registry.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "config/reader.h"
#include "queue/queue_config.h"

namespace oceanus::queue {
namespace {

QueueConfig Parse(const std::string& yaml) {
  config::Reader reader("f");
  const YAML::Node root = YAML::Load(yaml);
  return ParseQueueConfig(reader, root["queue"]);
}

TEST(QueueRegistryTest, HoldsExactlySpoolAndRedis) {
  EXPECT_EQ(QueueRegistry::Get().Types(), "redis, spool");
  ASSERT_EQ(QueueRegistry::Get().all().size(), 2u);
  EXPECT_NE(QueueRegistry::Get().Find("spool"), nullptr);
  EXPECT_NE(QueueRegistry::Get().Find("redis"), nullptr);
}

TEST(QueueRegistryTest, UnknownTypeListsTheRegisteredOnesAtItsPosition) {
  try {
    Parse("sites: {}\nqueue:\n  type: nats\n");
    FAIL() << "an unknown queue type was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.message, "f:3:9: unknown queue type 'nats' (expected one of: redis, spool)");
  }
}

TEST(QueueRegistryTest, AbsentSectionIsTheSpool) {
  const QueueConfig q = Parse("sites: {}\n");
  ASSERT_NE(q.settings, nullptr);
  EXPECT_EQ(q.settings->type(), "spool");
  EXPECT_TRUE(q.settings->AllowsOneRoleProcess("load").code() == Status::Code::kInvalidArgument);
  EXPECT_FALSE(q.settings->SharedStore().has_value());
}

TEST(QueueRegistryTest, RedisBlockUnderSpoolIsCheckedAndUnused) {
  const QueueConfig q = Parse("queue: {redis: {address: 'redis.internal:6380'}}\n");
  EXPECT_EQ(q.settings->type(), "spool");
  EXPECT_THROW(Parse("queue: {redis: {max_deliveries: 0}}\n"), config::ConfigError);
}

TEST(QueueRegistryTest, RedisOffersItsServerAndDescribesItself) {
  const QueueConfig q =
      Parse("queue: {type: redis, redis: {address: 'r:6380', prefix: 'p:', password: s}}\n");
  EXPECT_TRUE(q.settings->AllowsOneRoleProcess("load").ok());
  auto shared = q.settings->SharedStore();
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->connection.host, "r");
  EXPECT_EQ(shared->connection.port, 6380);
  EXPECT_EQ(shared->key_prefix, "p:");
  std::ostringstream out;
  DescribeQueueConfig(q, out);
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("queue: redis (durability os)\nredis: r:6380, streams p:<site>\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("  password: (set)\n"), std::string::npos) << text;
  EXPECT_EQ(text.find(" s\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace oceanus::queue
