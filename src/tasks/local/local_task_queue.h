// The embedded task queue: one SQLite file (<data_dir>/tasks.db by default).
//
// A task is a row keyed by its id (so enqueueing it again is a no-op) with a state:
// queued → running (taken by a worker, with the worker's "host:pid" and a lease) → done,
// or back to queued with a later not_before (retry), or dead (buried with its last error).
// A worker killed with -9 leaves its tasks `running`; the next Take on this host sees that
// the owning process is gone and queues them again at once, and any worker does so when the
// lease has run out (a worker on another host sharing the file, or a hung one).
// Done rows are kept a week, so a repeated enqueue of a finished task still does nothing.
// ReviveDead turns dead rows back into queued ones in place (the id stays the key), so the
// worker of any process sharing the file takes them at its next poll.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "tasks/task_queue.h"

namespace oceanus::tasks {

// The local queue's keys of the tasks section (tasks/local/local_task_queue_config.h).
struct LocalTaskQueueConfig {
  std::string path;  // the SQLite file; the config's default is <data_dir>/tasks.db
  // A task taken by a worker that neither settles it nor is alive is taken again after this
  // long (a worker that is alive on this host is asked directly).
  std::chrono::milliseconds lease{600'000};
};

class LocalTaskQueue final : public TaskQueue {
 public:
  static Result<std::unique_ptr<LocalTaskQueue>> Open(const LocalTaskQueueConfig& config);
  ~LocalTaskQueue() override;

  Status Enqueue(const Task& task) override;
  Result<std::vector<Task>> Take(std::size_t max, std::chrono::milliseconds wait) override;
  Status Done(const Task& task) override;
  Status Retry(const Task& task) override;
  Status Bury(const Task& task) override;
  Result<TaskQueueCounts> Counts() override;

  // Newest first.
  Result<std::vector<Task>> DeadTasks(std::size_t max, const DeadTaskFilter& filter) override;
  // One transaction: the rows go from dead to queued together, or none does.
  Result<std::size_t> ReviveDead(const DeadTaskFilter& filter) override;

 private:
  struct DbDeleter {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  using Db = std::unique_ptr<sqlite3, DbDeleter>;
  LocalTaskQueue() = default;
  // Queues again the tasks of owners that are gone, and of expired leases.
  Status Recover(std::int64_t now_ms);
  Result<std::vector<Task>> TakeDue(std::size_t max, std::int64_t now_ms,
                                    std::int64_t* next_due_ms);
  Status Settle(const Task& task, const char* state, std::int64_t not_before_ms);
  // The dead rows that match `filter`, newest first, on the producer connection (under
  // producer_mu_); each task's handle is its rowid.
  Result<std::vector<Task>> SelectDead(std::size_t max, const DeadTaskFilter& filter);

  LocalTaskQueueConfig config_;
  std::string owner_;  // "host:pid"
  std::string host_;
  // Producer and consumer each have their own connection: the reactor enqueues on its
  // thread while the worker takes on its own.
  std::mutex producer_mu_;
  Db producer_;
  Db consumer_;
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::uint64_t enqueued_ = 0;  // under wake_mu_: wakes a waiting Take
  std::int64_t next_recover_ms_ = 0;
  std::int64_t next_cleanup_ms_ = 0;
};

}  // namespace oceanus::tasks
