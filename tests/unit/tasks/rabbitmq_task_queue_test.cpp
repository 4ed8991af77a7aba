// The RabbitMQ task queue against a real broker (tests/unit/rabbitmq_server.h): one broker per
// test, since each test is its own process under CTest; few tests, since each start costs
// about 6 s.
#include "tasks/rabbitmq/rabbitmq_task_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "rabbitmq_server.h"

namespace oceanus::tasks {
namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kQueue = "oceanus.test.tasks";

Task MakeTask(const std::string& id, Clock::time_point not_before = Clock::now()) {
  Task t;
  t.id = id;
  t.action = "webhook";
  t.args = R"({"url":"https://hooks.example.jp/x","n":1})";
  t.event = R"({"evt":"pageview","url":"https://example.jp/","oid":2})";
  t.site = "samplesite";
  t.not_before = std::chrono::time_point_cast<milliseconds>(not_before);
  return t;
}

class RabbitMqTaskQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }

  std::unique_ptr<RabbitMqTaskQueue> Connect() {
    auto q = RabbitMqTaskQueue::Connect(server_.Config(kQueue), 4);
    EXPECT_TRUE(q.ok()) << q.status().message();
    return q.ok() ? std::move(q.value()) : nullptr;
  }

  // Polls Take (short waits) until it returns a task or `limit` passes.
  static std::vector<Task> TakeWithin(RabbitMqTaskQueue& q, milliseconds limit,
                                      std::size_t max = 1) {
    const auto deadline = Steady::now() + limit;
    while (Steady::now() < deadline) {
      auto taken = q.Take(max, milliseconds(100));
      if (taken.ok() && !taken->empty()) return std::move(taken.value());
    }
    return {};
  }

  testing::RabbitMqServer server_;
};

TEST_F(RabbitMqTaskQueueTest, EnqueuedTaskIsTakenOnceWithItsFieldsAndDoneRemovesIt) {
  auto q = Connect();
  ASSERT_NE(q, nullptr);
  const Task task = MakeTask("rule1/0190c0de-0000-7000-8000-000000000001/0");
  ASSERT_TRUE(q->Enqueue(task).ok());
  // The same id again: stored once.
  Status again = q->Enqueue(task);
  ASSERT_TRUE(again.ok()) << again.message();
  auto counts = q->Counts();
  ASSERT_TRUE(counts.ok()) << counts.status().message();
  EXPECT_EQ(counts->queued, 1u);

  auto taken = q->Take(10, seconds(5));
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  ASSERT_EQ(taken->size(), 1u);
  const Task& got = taken->front();
  EXPECT_EQ(got.id, task.id);
  EXPECT_EQ(got.action, task.action);
  EXPECT_EQ(got.args, task.args);
  EXPECT_EQ(got.event, task.event);
  EXPECT_EQ(got.site, task.site);
  EXPECT_EQ(got.attempts, 0u);
  EXPECT_EQ(got.last_error, "");
  EXPECT_EQ(got.not_before, task.not_before);
  EXPECT_NE(got.handle, 0u);

  auto more = q->Take(10, milliseconds(300));
  ASSERT_TRUE(more.ok()) << more.status().message();
  EXPECT_TRUE(more->empty()) << "the duplicate was stored";
  counts = q->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 0u);
  EXPECT_EQ(counts->running, 1u);

  Status done = q->Done(got);
  ASSERT_TRUE(done.ok()) << done.message();
  counts = q->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 0u);
  EXPECT_EQ(counts->running, 0u);
  EXPECT_EQ(counts->dead, 0u);
  EXPECT_EQ(q->Done(got).code(), Status::Code::kInvalidArgument);  // settled already

  // A wrong password: refused, and the message names the server but not the password.
  auto config = server_.Config(kQueue);
  config.password = "not-the-secret-42";
  auto refused = RabbitMqTaskQueue::Connect(config, 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("rabbitmq 127.0.0.1:" + std::to_string(server_.port())),
            std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("login as guest"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("not-the-secret-42"), std::string::npos);
}

TEST_F(RabbitMqTaskQueueTest, DelayedTasksWaitTheirTimeAndAShortDelayPassesALongOne) {
  auto q = Connect();
  ASSERT_NE(q, nullptr);
  // The longer delay first: a per-message TTL in one shared queue would hold the 2 s task
  // behind it until the 3 s one had expired.
  // Checked against each task's own due time, not a clock started after the enqueues: a slow
  // Enqueue under load must not make an on-time delivery look early.
  const auto late_due = Clock::now() + seconds(3);
  ASSERT_TRUE(q->Enqueue(MakeTask("late/3s", late_due)).ok());
  const auto soon_due = Clock::now() + seconds(2);
  ASSERT_TRUE(q->Enqueue(MakeTask("soon/2s", soon_due)).ok());
  auto counts = q->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 0u);  // both wait in their delay queues

  std::vector<std::pair<std::string, Clock::time_point>> arrivals;
  const auto give_up = Steady::now() + seconds(10);
  while (arrivals.size() < 2 && Steady::now() < give_up) {
    auto taken = q->Take(2, milliseconds(50));
    ASSERT_TRUE(taken.ok()) << taken.status().message();
    for (const Task& t : *taken) {
      arrivals.emplace_back(t.id, Clock::now());
      ASSERT_TRUE(q->Done(t).ok());
    }
  }
  ASSERT_EQ(arrivals.size(), 2u);
  // The broker's TTLs are whole milliseconds from the enqueue: allow that much rounding.
  const auto rounding = milliseconds(100);
  EXPECT_EQ(arrivals[0].first, "soon/2s");
  EXPECT_GE(arrivals[0].second, soon_due - rounding);
  EXPECT_LT(arrivals[0].second, late_due);  // not held behind the longer delay
  EXPECT_EQ(arrivals[1].first, "late/3s");
  EXPECT_GE(arrivals[1].second, late_due - rounding);
  const auto ms = [](Clock::duration d) {
    return static_cast<long long>(std::chrono::duration_cast<milliseconds>(d).count());
  };
  std::printf("delayed 2 s arrived %lld ms after its due time, 3 s %lld ms after\n",
              ms(arrivals[0].second - soon_due), ms(arrivals[1].second - late_due));
}

TEST_F(RabbitMqTaskQueueTest, RetryRepublishesLaterAndBuryKeepsTheLastError) {
  auto q = Connect();
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(q->Enqueue(MakeTask("rule2/e2/0")).ok());
  auto first = TakeWithin(*q, seconds(5));
  ASSERT_EQ(first.size(), 1u);

  Task retry = first.front();
  retry.attempts = 1;
  retry.last_error = "HTTP 503 from hooks.example.jp";
  retry.not_before = std::chrono::time_point_cast<milliseconds>(Clock::now() + seconds(1));
  const auto retried = Steady::now();
  Status s = q->Retry(retry);
  ASSERT_TRUE(s.ok()) << s.message();
  auto counts = q->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->running, 0u);
  EXPECT_EQ(counts->queued, 0u);                                             // in its delay queue
  EXPECT_EQ(q->Done(first.front()).code(), Status::Code::kInvalidArgument);  // acked by Retry

  auto second = TakeWithin(*q, seconds(10));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_GE(Steady::now() - retried, milliseconds(900));
  EXPECT_EQ(second.front().id, "rule2/e2/0");
  EXPECT_EQ(second.front().attempts, 1u);
  EXPECT_EQ(second.front().last_error, "HTTP 503 from hooks.example.jp");
  EXPECT_EQ(second.front().not_before, retry.not_before);

  Task bury = second.front();
  bury.attempts = 2;
  bury.last_error = "HTTP 500 from hooks.example.jp";
  s = q->Bury(bury);
  ASSERT_TRUE(s.ok()) << s.message();
  counts = q->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->dead, 1u);
  EXPECT_EQ(counts->queued, 0u);
  EXPECT_EQ(counts->running, 0u);

  // A message that is not a task goes to the dead-letter too, with the reason.
  ASSERT_TRUE(server_.PublishRaw(kQueue, "this is not json"));
  auto none = q->Take(5, milliseconds(500));
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());

  auto dead = q->DeadTasks(10, {});
  ASSERT_TRUE(dead.ok()) << dead.status().message();
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ((*dead)[0].id, "rule2/e2/0");
  EXPECT_EQ((*dead)[0].attempts, 2u);
  EXPECT_EQ((*dead)[0].last_error, "HTTP 500 from hooks.example.jp");
  EXPECT_EQ((*dead)[0].action, "webhook");
  EXPECT_EQ((*dead)[1].last_error.rfind("undecodable task: ", 0), 0u) << (*dead)[1].last_error;
  // Looking does not remove them.
  counts = q->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->dead, 2u);
  EXPECT_EQ(counts->queued, 0u);
}

TEST_F(RabbitMqTaskQueueTest, UnsettledTaskIsDeliveredAgainAfterAConsumerDiesOrTheBrokerRestarts) {
  const Task task = MakeTask("rule3/e3/0");
  {
    auto q1 = Connect();
    ASSERT_NE(q1, nullptr);
    ASSERT_TRUE(q1->Enqueue(task).ok());
    auto taken = TakeWithin(*q1, seconds(5));
    ASSERT_EQ(taken.size(), 1u);
    // Destroyed with the task unsettled, as by a worker that died.
  }
  auto q2 = Connect();
  ASSERT_NE(q2, nullptr);
  auto again = TakeWithin(*q2, seconds(5));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again.front().id, task.id);

  // A producer whose connection goes stale while the broker is away (it is not used then).
  auto producer = Connect();
  ASSERT_NE(producer, nullptr);

  // The broker goes away with the task still unsettled: calls answer Unavailable, naming it.
  server_.Stop();
  auto down = q2->Take(1, milliseconds(200));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(down.status().message().find("rabbitmq 127.0.0.1:"), std::string::npos)
      << down.status().message();
  EXPECT_EQ(q2->Done(again.front()).code(), Status::Code::kUnavailable);
  EXPECT_EQ(q2->Enqueue(MakeTask("rule3/e3/1")).code(), Status::Code::kUnavailable);

  // Back, on the same data: the durable queue kept the persistent task, and Take reconnects.
  ASSERT_TRUE(server_.Start());
  // The stale producer finds out on its first publish, and publishes on a new connection.
  Status enqueued = producer->Enqueue(MakeTask("rule3/e3/2"));
  ASSERT_TRUE(enqueued.ok()) << enqueued.message();
  std::vector<std::string> ids;
  const auto deadline = Steady::now() + seconds(20);
  while (ids.size() < 2 && Steady::now() < deadline) {
    for (const Task& t : TakeWithin(*q2, milliseconds(500), 2)) {
      ids.push_back(t.id);
      Status done = q2->Done(t);
      ASSERT_TRUE(done.ok()) << done.message();
    }
  }
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], task.id);  // kept in order across the restart
  EXPECT_EQ(ids[1], "rule3/e3/2");
  auto counts = q2->Counts();
  ASSERT_TRUE(counts.ok()) << counts.status().message();
  EXPECT_EQ(counts->queued, 0u);
  EXPECT_EQ(counts->running, 0u);
}

// Takes `n` tasks (polling), or fewer when `limit` passes.
std::vector<Task> TakeN(RabbitMqTaskQueue& q, std::size_t n, milliseconds limit) {
  std::vector<Task> all;
  const auto deadline = Steady::now() + limit;
  while (all.size() < n && Steady::now() < deadline) {
    auto taken = q.Take(n - all.size(), milliseconds(100));
    if (taken.ok())
      for (auto& t : *taken) all.push_back(std::move(t));
  }
  return all;
}

std::vector<std::string> Ids(const std::vector<Task>& tasks) {
  std::vector<std::string> ids;
  for (const auto& t : tasks) ids.push_back(t.id);
  return ids;
}

// The operator's queue (`op`) has no consumer, so its counts are exact; the worker's comes
// and goes around it.
TEST_F(RabbitMqTaskQueueTest, ReviveDeadPutsBackOnlyTheMatchingTasksOnceAndKeepsTheRestInOrder) {
  Task w2_dead;
  {
    auto worker = Connect();
    ASSERT_NE(worker, nullptr);
    for (const char* id : {"w1", "w2", "s1", "w3"}) {
      Task t = MakeTask(id);
      if (t.id == "s1") t.action = "slack";
      ASSERT_TRUE(worker->Enqueue(t).ok());
    }
    auto taken = TakeN(*worker, 4, seconds(10));
    ASSERT_EQ(Ids(taken), (std::vector<std::string>{"w1", "w2", "s1", "w3"}));
    for (Task t : taken) {
      t.attempts = 4;
      t.last_error = "HTTP 500 for " + t.id;
      Status s = worker->Bury(t);
      ASSERT_TRUE(s.ok()) << s.message();
      if (t.id == "w2") w2_dead = t;
    }
  }
  const std::string dead_queue = std::string(kQueue) + ".dead";
  // Behind them: a message that is not a task, and a second copy of w2 (RabbitMQ cannot
  // deduplicate, so a task may be buried twice).
  ASSERT_TRUE(server_.PublishRaw(dead_queue, "this is not json"));
  ASSERT_TRUE(server_.PublishRaw(dead_queue, EncodeTask(w2_dead)));

  auto op = Connect();
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->Counts()->dead, 6u);
  DeadTaskFilter w2;
  w2.id = "w2";
  EXPECT_EQ(Ids(*op->DeadTasks(10, w2)), (std::vector<std::string>{"w2", "w2"}));
  auto n = op->ReviveDead(w2);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1u);  // once, although it was dead twice
  auto counts = op->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->dead, 4u);
  EXPECT_EQ(counts->queued, 1u);

  auto worker = Connect();
  ASSERT_NE(worker, nullptr);
  auto again = TakeN(*worker, 1, seconds(5));
  ASSERT_EQ(Ids(again), std::vector<std::string>{"w2"});
  EXPECT_EQ(again[0].attempts, 0u);
  EXPECT_EQ(again[0].last_error, "HTTP 500 for w2");
  EXPECT_LE(again[0].not_before, Clock::now());
  ASSERT_TRUE(worker->Done(again[0]).ok());
  EXPECT_TRUE(worker->Take(1, milliseconds(500))->empty());  // not twice
  EXPECT_EQ(*op->ReviveDead(w2), 0u);

  DeadTaskFilter slack;
  slack.action = "slack";
  EXPECT_EQ(*op->ReviveDead(slack), 1u);
  auto s1 = TakeN(*worker, 1, seconds(5));
  ASSERT_EQ(Ids(s1), std::vector<std::string>{"s1"});
  ASSERT_TRUE(worker->Done(s1[0]).ok());

  // What stayed is where it was: w1, w3, then the message that is not a task.
  auto left = op->DeadTasks(10, {});
  ASSERT_TRUE(left.ok()) << left.status().message();
  ASSERT_EQ(left->size(), 3u);
  EXPECT_EQ((*left)[0].id, "w1");
  EXPECT_EQ((*left)[1].id, "w3");
  EXPECT_EQ((*left)[2].last_error.rfind("task is not a JSON object", 0), 0u)
      << (*left)[2].last_error;
  EXPECT_EQ(*CountRevivable(*op, {}), 2u);

  // All of them: the two tasks; the message that is not one stays dead.
  EXPECT_EQ(*op->ReviveDead({}), 2u);
  auto rest = TakeN(*worker, 2, seconds(5));
  ASSERT_EQ(Ids(rest), (std::vector<std::string>{"w1", "w3"}));
  for (const auto& t : rest) ASSERT_TRUE(worker->Done(t).ok());
  counts = op->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->dead, 1u);
  EXPECT_EQ(counts->queued, 0u);
  // The same seen from a new connection: nothing put back is still held unacknowledged by
  // the old one (which the broker would return to the dead-letter when it closes).
  op.reset();
  op = Connect();
  ASSERT_NE(op, nullptr);
  counts = op->Counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->dead, 1u);
  EXPECT_EQ(counts->queued, 0u);
}

TEST(RabbitMqTaskQueueNoBrokerTest, ConnectToAClosedPortIsUnavailableAndSaysWhere) {
  tasks::RabbitMqConfig config;
  config.host = "127.0.0.1";
  config.port = testing::FreeLoopbackPort();
  config.password = "hunter2-secret";
  const auto started = Steady::now();
  auto q = RabbitMqTaskQueue::Connect(config, 1);
  ASSERT_FALSE(q.ok());
  EXPECT_LT(Steady::now() - started, seconds(2));
  EXPECT_EQ(q.status().code(), Status::Code::kUnavailable);
  const std::string& message = q.status().message();
  EXPECT_EQ(message.rfind("rabbitmq 127.0.0.1:" + std::to_string(config.port) + ": connect: ", 0),
            0u)
      << message;
  EXPECT_NE(message.find("refused"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2-secret"), std::string::npos);
}

}  // namespace
}  // namespace oceanus::tasks
