#include "tasks/local/local_task_queue.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "temp_dir.h"

namespace oceanus::tasks {
namespace {

using std::chrono::milliseconds;

LocalTaskQueueConfig ConfigIn(const testing::ScopedTempDir& dir) {
  LocalTaskQueueConfig c;
  c.path = (dir.path() / "tasks.db").string();
  return c;
}

Task MakeTask(const std::string& id, Clock::time_point not_before = Clock::now()) {
  Task t;
  t.id = id;
  t.action = "hook";
  t.args = R"({"text":"hi"})";
  t.event = R"({"eid":"E"})";
  t.site = "page";
  t.not_before = not_before;
  return t;
}

TEST(LocalTaskQueueTest, EnqueueIsIdempotentAndTakeRoundTrips) {
  testing::ScopedTempDir dir("tasks");
  auto q = LocalTaskQueue::Open(ConfigIn(dir));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_TRUE((*q)->Enqueue(MakeTask("r/E/1")).ok());
  ASSERT_TRUE((*q)->Enqueue(MakeTask("r/E/1")).ok());
  auto taken = (*q)->Take(10, milliseconds(0));
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, "r/E/1");
  EXPECT_EQ((*taken)[0].args, R"({"text":"hi"})");
  EXPECT_EQ((*taken)[0].event, R"({"eid":"E"})");
  EXPECT_EQ((*q)->Counts()->running, 1u);
  ASSERT_TRUE((*q)->Done((*taken)[0]).ok());
  EXPECT_EQ((*q)->Counts()->running, 0u);
  EXPECT_EQ((*q)->Counts()->queued, 0u);
  // Done is remembered: the same id enqueued again (a replayed event) does not run again.
  ASSERT_TRUE((*q)->Enqueue(MakeTask("r/E/1")).ok());
  EXPECT_TRUE((*q)->Take(10, milliseconds(0))->empty());
}

TEST(LocalTaskQueueTest, DelayedTaskIsNotTakenBeforeItIsDue) {
  testing::ScopedTempDir dir("tasks");
  auto q = LocalTaskQueue::Open(ConfigIn(dir));
  ASSERT_TRUE(q.ok());
  const auto enqueued = std::chrono::steady_clock::now();
  ASSERT_TRUE((*q)->Enqueue(MakeTask("later", Clock::now() + milliseconds(300))).ok());
  EXPECT_TRUE((*q)->Take(1, milliseconds(0))->empty());
  // Take waits for it (it knows when the next task is due) and returns it in time.
  auto taken = (*q)->Take(1, milliseconds(5000));
  const auto waited = std::chrono::steady_clock::now() - enqueued;
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_GE(waited, milliseconds(290));
}

TEST(LocalTaskQueueTest, RetryAndBuryKeepTheErrorAndSurviveReopen) {
  testing::ScopedTempDir dir("tasks");
  {
    auto q = LocalTaskQueue::Open(ConfigIn(dir));
    ASSERT_TRUE((*q)->Enqueue(MakeTask("a")).ok());
    ASSERT_TRUE((*q)->Enqueue(MakeTask("b")).ok());
    auto taken = (*q)->Take(10, milliseconds(0));
    ASSERT_EQ(taken->size(), 2u);
    Task a = (*taken)[0], b = (*taken)[1];
    a.attempts = 1;
    a.last_error = "slack answered 500";
    a.not_before = Clock::now();
    ASSERT_TRUE((*q)->Retry(a).ok());
    b.attempts = 4;
    b.last_error = "gave up";
    ASSERT_TRUE((*q)->Bury(b).ok());
  }
  auto q = LocalTaskQueue::Open(ConfigIn(dir));
  auto taken = (*q)->Take(10, milliseconds(0));
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, "a");
  EXPECT_EQ((*taken)[0].attempts, 1u);
  EXPECT_EQ((*taken)[0].last_error, "slack answered 500");
  EXPECT_EQ((*q)->Counts()->dead, 1u);
  auto dead = (*q)->DeadTasks(10);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].id, "b");
  EXPECT_EQ((*dead)[0].last_error, "gave up");
  EXPECT_EQ((*dead)[0].attempts, 4u);
}

TEST(LocalTaskQueueTest, TasksOfAWorkerThatDiedAreTakenAgain) {
  testing::ScopedTempDir dir("tasks");
  const auto config = ConfigIn(dir);
  {
    auto q = LocalTaskQueue::Open(config);
    ASSERT_TRUE((*q)->Enqueue(MakeTask("held")).ok());
  }
  // A child process takes the task and dies without settling it (as kill -9 would).
  const pid_t child = fork();
  if (child == 0) {
    auto q = LocalTaskQueue::Open(config);
    auto taken = (*q)->Take(1, milliseconds(0));
    _exit(taken.ok() && taken->size() == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto q = LocalTaskQueue::Open(config);
  EXPECT_EQ((*q)->Counts()->running, 1u);
  auto taken = (*q)->Take(1, milliseconds(2000));
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, "held");
}

TEST(LocalTaskQueueTest, UnopenableFileIsAClearError) {
  LocalTaskQueueConfig c;
  c.path = "/nonexistent-dir/tasks.db";
  auto q = LocalTaskQueue::Open(c);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("/nonexistent-dir/tasks.db"), std::string::npos);
}

}  // namespace
}  // namespace oceanus::tasks
