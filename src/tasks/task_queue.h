// Where tasks wait until they are due and a worker takes them. Implementations: local
// (SQLite in the data dir, tasks/local/) and rabbitmq (AMQP 0-9-1, tasks/rabbitmq/).
//
// The producer side (Enqueue) is used by the rules engine; the consumer side (Take, Done,
// Retry, Bury) by one worker loop. A task taken and never settled (the worker died) is
// delivered again; nothing is removed until Done, Retry or Bury has been stored. Operators
// look at the dead-letter (DeadTasks) and put tasks back from it (ReviveDead).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
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

// Which dead tasks DeadTasks and ReviveDead select: each field that is set must match; an
// empty filter selects every dead task.
struct DeadTaskFilter {
  std::optional<std::string> action;  // a name from the config's `actions:`
  std::optional<std::string> id;      // one task's id ("<rule>/<eid>/<step>")

  bool Matches(const Task& task) const {
    return (!action || task.action == *action) && (!id || task.id == *id);
  }
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
  // The buried tasks that match `filter`, with their last error, at most `max` (operators:
  // `oceanus dead-tasks`, the admin page). Thread-safe; does not remove them.
  virtual Result<std::vector<Task>> DeadTasks(std::size_t max, const DeadTaskFilter& filter) = 0;

  // Puts the dead tasks that match `filter` back as queued, due now, with attempts reset to
  // 0 (so each gets the full max_attempts again) and last_error kept (why it died, until a
  // new run replaces it), and says how many went back. A task leaves the dead-letter as it
  // is queued: it is not in both, and two calls at once put it back once (an implementation
  // that cannot make the two one step says in its header when a task may stay in both).
  // A worker, in this process or another sharing the queue, takes it like any new task.
  // Thread-safe. On error, some tasks may be back and the others are still dead.
  virtual Result<std::size_t> ReviveDead(const DeadTaskFilter& filter) = 0;
};

// How many tasks ReviveDead(filter) would put back now (for a dry run): the matching dead
// tasks that are tasks (a dead message that could not be read has no action and stays), each
// id once.
Result<std::size_t> CountRevivable(TaskQueue& queue, const DeadTaskFilter& filter);

}  // namespace oceanus::tasks
