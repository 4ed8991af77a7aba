// Where tasks wait until they are due and a worker takes them. Implementations: local
// (SQLite in the data dir, tasks/local/) and rabbitmq (AMQP 0-9-1, tasks/rabbitmq/).
//
// The producer side (Enqueue) is used by the rules engine; the consumer side (Take, Done,
// Retry, Bury) by one worker loop. A task taken and never settled (the worker died) is
// delivered again; nothing is removed until Done, Retry or Bury has been stored.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tasks/task.h"
#include "util/status.h"

namespace oceanus::tasks {

// Counts for /rstatus and tests.
struct TaskQueueCounts {
  std::size_t queued = 0;   // waiting, due or not
  std::size_t running = 0;  // taken, not yet settled
  std::size_t dead = 0;     // buried after using up their attempts
};

class TaskQueue {
 public:
  virtual ~TaskQueue() = default;

  // Stores the task durably (to run at task.not_before). Idempotent by task.id: a task whose
  // id was enqueued before (recently) is not stored again, and that is OK. Thread-safe.
  virtual Status Enqueue(const Task& task) = 0;

  // Up to `max` tasks that are due, waiting up to `wait` for one. Each is the worker's until
  // it settles it with exactly one of Done, Retry or Bury. Called from one thread only,
  // which also makes the Done/Retry/Bury calls.
  virtual Result<std::vector<Task>> Take(std::size_t max, std::chrono::milliseconds wait) = 0;
  // The action succeeded: the task is finished.
  virtual Status Done(const Task& task) = 0;
  // The action failed and may succeed later: run it again at `task.not_before`, with
  // task.attempts and task.last_error as given.
  virtual Status Retry(const Task& task) = 0;
  // The task used up its attempts (or can never succeed): keep it in the dead-letter with
  // task.last_error.
  virtual Status Bury(const Task& task) = 0;

  virtual Result<TaskQueueCounts> Counts() = 0;
  // The buried tasks with their last error, at most `max` (operators: `oceanus dead-tasks`).
  // Thread-safe; does not remove them.
  virtual Result<std::vector<Task>> DeadTasks(std::size_t max) = 0;
};

}  // namespace oceanus::tasks
