// The RabbitMQ task queue (tasks type `rabbitmq`): AMQP 0-9-1 through rabbitmq-c, every queue
// durable and every message persistent, so tasks survive a broker restart.
//
// Topology, declared (idempotently) on connect, all on the default exchange:
//   <queue>             the work queue: due tasks, consumed with manual acks
//   <queue>.dead        buried tasks (the dead-letter), read by operators via DeadTasks
//   <queue>.delay.<ms>  one per distinct delay, declared on demand: no consumer; its messages
//                       expire after <ms> and are dead-lettered into <queue>. Unused ones
//                       delete themselves an hour after their last declaration.
// Delays are rounded up to whole seconds to keep the number of delay queues small.
//
// Two connections, because rabbitmq-c connections are not thread-safe: a publisher (Enqueue,
// Counts, DeadTasks; any thread, under a mutex) and a consumer (Take, Done, Retry, Bury; the
// worker thread only), opened at the first Take so that a process that only enqueues never
// holds deliveries. Every publish waits for the broker's confirm; a message is stored once
// basic.ack has come back. A lost connection is opened again on the next call, with backoff
// (100 ms doubling to 5 s); until then calls answer Unavailable.
//
// Delivery is at least once. The broker delivers again whatever this process took and did not
// ack before its connection closed (a worker killed mid-action runs that task again). Retry and
// Bury publish the new copy, wait for its confirm, then ack the original: a connection lost
// between the two leaves both (the task runs once more). An ack is not confirmed by the broker,
// so one sent just before the connection dies may be lost the same way. Enqueue skips an id
// it stored recently (the last 100,000 ids, in this process only): RabbitMQ itself cannot
// deduplicate, so after a restart, or from two processes, the same id may be stored twice.
// Actions must therefore tolerate running twice.
//
// ReviveDead empties <queue>.dead one message at a time (basic.get on the publisher
// connection): a matching task is published to the work queue, its confirm awaited, and only
// then its dead copy acked; the others are held and given back together at the end
// (basic.nack with requeue, which returns them to their places, in order). While it runs, the
// held ones are not counted as dead. A connection lost between a confirm and its ack leaves
// that task in both queues (it runs once, and is still listed dead). A second copy of an id
// already put back in the same call is acked without being published: the id is the task.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "tasks/task_queue.h"

namespace oceanus::tasks {

// The rabbitmq queue's settings (the tasks section's `rabbitmq:` block, parsed in
// rabbitmq_config.cpp from `url: amqp://user:password@host:port/vhost`).
struct RabbitMqConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  // The work queue; delays wait in "<queue>.delay.<ms>" queues (per-message TTL, dead-lettered
  // into the work queue) and buried tasks in "<queue>.dead".
  std::string queue = "oceanus.tasks";
  unsigned prefetch = 0;  // unacknowledged deliveries per worker; 0 = tasks.concurrency
  std::chrono::milliseconds connect_timeout{5'000};
};

// One AMQP connection with one channel in confirm mode (defined in the .cpp, which keeps
// <amqp.h> out of this header).
class AmqpConnection;

class RabbitMqTaskQueue final : public TaskQueue {
 public:
  // Logs in and declares the work and dead-letter queues. `concurrency` is the prefetch (the
  // deliveries held unacknowledged) when config.prefetch is 0.
  static Result<std::unique_ptr<RabbitMqTaskQueue>> Connect(const tasks::RabbitMqConfig& config,
                                                            unsigned concurrency);
  // Closes both connections; the broker delivers again what was taken and not settled.
  ~RabbitMqTaskQueue() override;
  RabbitMqTaskQueue(const RabbitMqTaskQueue&) = delete;
  RabbitMqTaskQueue& operator=(const RabbitMqTaskQueue&) = delete;

  Status Enqueue(const Task& task) override;
  // Task.handle is (connection generation << 48) | delivery tag: Done, Retry and Bury answer
  // Unavailable for a task taken on a connection that has since closed.
  Result<std::vector<Task>> Take(std::size_t max, std::chrono::milliseconds wait) override;
  Status Done(const Task& task) override;
  Status Retry(const Task& task) override;
  Status Bury(const Task& task) override;
  // queued: ready messages in the work queue (not the delayed ones, nor those taken);
  // running: deliveries this process holds unacknowledged; dead: messages in <queue>.dead.
  Result<TaskQueueCounts> Counts() override;

  // Up to `max` buried tasks, oldest first, left in the dead-letter (operators, tests). A
  // message that was not a task comes back with only id (its message id) and last_error.
  Result<std::vector<Task>> DeadTasks(std::size_t max, const DeadTaskFilter& filter) override;
  Result<std::size_t> ReviveDead(const DeadTaskFilter& filter) override;

  // "host:port", as named in every error.
  const std::string& server() const { return server_; }

 private:
  // When a lost connection may be opened again.
  struct Reconnect {
    std::chrono::steady_clock::time_point next_attempt{};
    std::chrono::milliseconds delay{100};  // doubled after each failure, up to 5 s
    Status last_error;
  };
  // Delay queues declared on one connection, by ms, with the time of their declaration.
  using DeclaredDelays = std::map<std::int64_t, std::chrono::steady_clock::time_point>;

  RabbitMqTaskQueue(const tasks::RabbitMqConfig& config, unsigned concurrency);

  Status EnsurePublisher();  // under publisher_mu_
  Status EnsureConsumer();
  // Runs `op` on the publisher (under publisher_mu_); if a connection opened earlier turns out
  // to be dead, once more on a new one.
  Status WithPublisher(const std::function<Status(AmqpConnection&)>& op);
  // Opens a connection unless the backoff says not yet.
  Result<std::unique_ptr<AmqpConnection>> Open(Reconnect& reconnect, bool consume);
  // Publishes `body` for `id` to the work queue, or to the delay queue for `delay` (> 0).
  Status PublishTask(AmqpConnection& connection, DeclaredDelays& declared, const std::string& id,
                     const std::string& body, std::chrono::milliseconds delay);
  Status DeclareDelayQueue(AmqpConnection& connection, DeclaredDelays& declared,
                           std::int64_t delay_ms, bool force);
  // The delivery tag of a task taken on the current consumer connection.
  Result<std::uint64_t> HeldDelivery(const Task& task, const char* what);
  // Publishes a copy (to the delay/work queue, or the dead-letter), then acks the original.
  Status Settle(const Task& task, bool bury);
  void DropConsumerIfBroken();
  // Publishes a dead task (as got with `tag` from the dead-letter) to the work queue, due now
  // with its attempts reset, then acks its dead copy. Under publisher_mu_.
  Status ReviveOne(Task task, std::uint64_t tag);
  void RememberId(const std::string& id);  // under publisher_mu_

  const tasks::RabbitMqConfig config_;
  const unsigned prefetch_;
  const std::string server_;      // "host:port"
  const std::string dead_queue_;  // "<queue>.dead"

  std::mutex publisher_mu_;
  std::unique_ptr<AmqpConnection> publisher_;
  Reconnect publisher_reconnect_;
  DeclaredDelays publisher_delays_;
  // Ids enqueued recently, oldest first in recent_order_ (which points into recent_ids_).
  std::unordered_set<std::string> recent_ids_;
  std::deque<const std::string*> recent_order_;

  // The worker thread's.
  std::unique_ptr<AmqpConnection> consumer_;
  Reconnect consumer_reconnect_;
  DeclaredDelays consumer_delays_;
  std::uint16_t generation_ = 0;  // of consumer_, in every handle

  std::atomic<std::size_t> running_{0};  // consumer_'s unacked deliveries, for Counts
};

}  // namespace oceanus::tasks
