#include "tasks/local/local_task_queue.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

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
  auto dead = (*q)->DeadTasks(10, {});
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

// Enqueues, takes and buries each task (attempts 4, with an error), as a worker that gave up.
void BuryAll(LocalTaskQueue& q, const std::vector<Task>& tasks) {
  for (const auto& t : tasks) ASSERT_TRUE(q.Enqueue(t).ok());
  auto taken = q.Take(tasks.size(), milliseconds(0));
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), tasks.size());
  for (Task t : *taken) {
    t.attempts = 4;
    t.last_error = "HTTP 500 for " + t.id;
    ASSERT_TRUE(q.Bury(t).ok());
  }
}

Task WithAction(Task t, const std::string& action) {
  t.action = action;
  return t;
}

std::set<std::string> DeadIds(LocalTaskQueue& q, const DeadTaskFilter& filter = {}) {
  std::set<std::string> ids;
  auto dead = q.DeadTasks(100, filter);
  EXPECT_TRUE(dead.ok()) << dead.status().ToString();
  if (dead.ok())
    for (const auto& t : *dead) ids.insert(t.id);
  return ids;
}

TEST(LocalTaskQueueTest, ReviveByIdQueuesExactlyThatTaskOnceWithFreshAttempts) {
  testing::ScopedTempDir dir("tasks");
  auto q = LocalTaskQueue::Open(ConfigIn(dir));
  ASSERT_TRUE(q.ok());
  BuryAll(**q, {MakeTask("a"), MakeTask("b"), MakeTask("c")});
  EXPECT_EQ((*q)->Counts()->dead, 3u);
  DeadTaskFilter by_id;
  by_id.id = "b";
  EXPECT_EQ(DeadIds(**q, by_id), std::set<std::string>{"b"});

  const auto revived_at = Clock::now();
  auto n = (*q)->ReviveDead(by_id);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  auto counts = (*q)->Counts();
  EXPECT_EQ(counts->dead, 2u);
  EXPECT_EQ(counts->queued, 1u);
  EXPECT_EQ(DeadIds(**q), (std::set<std::string>{"a", "c"}));

  // Due now, with all its attempts again, and still saying why it died.
  auto taken = (*q)->Take(10, milliseconds(0));
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, "b");
  EXPECT_EQ((*taken)[0].attempts, 0u);
  EXPECT_EQ((*taken)[0].last_error, "HTTP 500 for b");
  EXPECT_LE((*taken)[0].not_before, revived_at + milliseconds(1000));
  ASSERT_TRUE((*q)->Done((*taken)[0]).ok());
  // Taken once: neither the queue nor a second revive hands it out again.
  EXPECT_TRUE((*q)->Take(10, milliseconds(0))->empty());
  EXPECT_EQ(*(*q)->ReviveDead(by_id), 0u);
  EXPECT_TRUE((*q)->Take(10, milliseconds(0))->empty());
  counts = (*q)->Counts();
  EXPECT_EQ(counts->dead, 2u);
  EXPECT_EQ(counts->queued, 0u);
}

TEST(LocalTaskQueueTest, ReviveByActionQueuesOnlyThatActionsTasks) {
  testing::ScopedTempDir dir("tasks");
  auto q = LocalTaskQueue::Open(ConfigIn(dir));
  ASSERT_TRUE(q.ok());
  BuryAll(**q, {MakeTask("h1"), WithAction(MakeTask("s1"), "slack"), MakeTask("h2"),
                WithAction(MakeTask("s2"), "slack")});
  DeadTaskFilter slack;
  slack.action = "slack";
  EXPECT_EQ(DeadIds(**q, slack), (std::set<std::string>{"s1", "s2"}));
  auto n = (*q)->ReviveDead(slack);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(DeadIds(**q), (std::set<std::string>{"h1", "h2"}));
  auto taken = (*q)->Take(10, milliseconds(0));
  ASSERT_EQ(taken->size(), 2u);
  for (const auto& t : *taken) {
    EXPECT_EQ(t.action, "slack");
    EXPECT_EQ(t.attempts, 0u);
    ASSERT_TRUE((*q)->Done(t).ok());
  }
  // An action and an id together must both match.
  DeadTaskFilter both;
  both.action = "slack";
  both.id = "h1";
  EXPECT_EQ(*(*q)->ReviveDead(both), 0u);
  DeadTaskFilter none_such;
  none_such.action = "mail";
  EXPECT_EQ(*(*q)->ReviveDead(none_such), 0u);
  EXPECT_EQ((*q)->Counts()->dead, 2u);
}

// retry-tasks is its own process: the queue it opens puts the task back, and the worker's
// queue (another connection to the file) takes it while it waits.
TEST(LocalTaskQueueTest, TaskRevivedThroughAnotherOpenIsTakenByAWaitingWorker) {
  testing::ScopedTempDir dir("tasks");
  auto worker = LocalTaskQueue::Open(ConfigIn(dir));
  ASSERT_TRUE(worker.ok());
  BuryAll(**worker, {MakeTask("x")});
  std::thread operator_thread([&] {
    auto other = LocalTaskQueue::Open(ConfigIn(dir));
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(*(*other)->ReviveDead({}), 1u);
  });
  auto taken = (*worker)->Take(1, milliseconds(5000));
  operator_thread.join();
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, "x");
  ASSERT_TRUE((*worker)->Done((*taken)[0]).ok());
  EXPECT_EQ((*worker)->Counts()->dead, 0u);
}

// Two operators at once put each task back once between them.
TEST(LocalTaskQueueTest, ConcurrentRevivesPutEachTaskBackOnce) {
  testing::ScopedTempDir dir("tasks");
  auto q = LocalTaskQueue::Open(ConfigIn(dir));
  ASSERT_TRUE(q.ok());
  std::vector<Task> tasks;
  for (int i = 0; i < 50; ++i) tasks.push_back(MakeTask("t" + std::to_string(i)));
  BuryAll(**q, tasks);
  std::size_t revived[2] = {0, 0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&, i] {
      auto own = LocalTaskQueue::Open(ConfigIn(dir));
      ASSERT_TRUE(own.ok());
      auto n = (*own)->ReviveDead({});
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      revived[i] = *n;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(revived[0] + revived[1], 50u);
  auto counts = (*q)->Counts();
  EXPECT_EQ(counts->queued, 50u);
  EXPECT_EQ(counts->dead, 0u);
  EXPECT_EQ((*q)->Take(100, milliseconds(0))->size(), 50u);
}

}  // namespace
}  // namespace oceanus::tasks
