// The task queue registry holds exactly the shipped types, and the tasks section names them
// when the type is unknown.
#include "tasks/task_queue_registry.h"

#include <gtest/gtest.h>

#include <sstream>

#include "app/config.h"

namespace oceanus::tasks {
namespace {

constexpr const char* kSite = "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n";

TEST(TaskQueueRegistryTest, HoldsTheShippedTypes) {
  EXPECT_EQ(TaskQueueRegistry::Get().Types(), "local, rabbitmq");
}

TEST(TaskQueueRegistryTest, UnknownTypeListsTheRegisteredOnes) {
  auto c = app::ParseConfig(std::string("tasks: {type: kafka}\n") + kSite, "f");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "f:1:15: unknown tasks type 'kafka' (expected: local, rabbitmq)");
}

TEST(TaskQueueRegistryTest, DefaultIsLocalInTheDataDirAndFollowsIt) {
  auto c = app::ParseConfig(std::string("data_dir: /d\n") + kSite, "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tasks.type, "local");
  EXPECT_EQ(c->tasks.queue->Where(), "/d/tasks.db");
  c->tasks.queue->MoveDataDir("/d", "/e");
  EXPECT_EQ(c->tasks.queue->Where(), "/e/tasks.db");
  std::ostringstream out;
  c->tasks.queue->Describe(out);
  EXPECT_EQ(out.str(), "  path: /e/tasks.db\n  lease: 600000 ms\n");
}

TEST(TaskQueueRegistryTest, RabbitMqDescribesItsServerWithoutThePassword) {
  auto c = app::ParseConfig(std::string("tasks: {type: rabbitmq, rabbitmq: "
                                        "{url: 'amqp://u:secret@mq:5673/v', queue: q}}\n") +
                                kSite,
                            "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tasks.queue->Where(), "mq:5673 queue q");
  std::ostringstream out;
  c->tasks.queue->Describe(out);
  EXPECT_EQ(out.str().find("secret"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("  password: (set)\n"), std::string::npos) << out.str();
}

// A key of a type that is not chosen is still checked, as every key of the section is.
TEST(TaskQueueRegistryTest, EveryTypesKeysAreValidated) {
  auto c = app::ParseConfig(
      std::string("tasks: {type: local, rabbitmq: {url: 'http://x'}}\n") + kSite, "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("rabbitmq url is amqp://"), std::string::npos);
}

}  // namespace
}  // namespace oceanus::tasks
