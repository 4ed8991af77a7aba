// The worker, the "work" stage: takes due tasks from a task queue and runs their actions.
// It sits above both tasks/ (the queue and the task format) and actions/ (which read tasks).
//
// One dispatch thread owns the queue's consumer side (Take/Done/Retry/Bury); actions run on a
// pool of `tasks.concurrency` threads and report back to it. Per action a limiter enforces
// `rate_limit` (15/m: at most 15 starts in any minute): a task whose action is at its limit
// waits in the worker, taken but not started. A failure that
// may pass is retried after backoff × 2^(attempts-1) (capped at max_backoff) until
// max_attempts runs have failed; then, or at once for a failure that cannot pass, the task
// is buried in the dead-letter with its last error.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "actions/action.h"
#include "actions/action_config.h"
#include "queue/rejected.h"
#include "tasks/task_queue.h"
#include "tasks/tasks_config.h"
#include "util/metrics.h"
#include "util/thread_pool.h"

namespace oceanus::work {

struct WorkerStats {
  std::atomic<std::uint64_t> started{0};
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> buried{0};
};

// At most `count` starts in any window of length `per` (a sliding log of the last `count`
// start times): stricter than a token bucket, which lets up to 2×count-1 through in the
// first window.
class RateLimiter {
 public:
  RateLimiter() = default;
  RateLimiter(unsigned count, std::chrono::milliseconds per) : count_(count), per_(per) {}
  // Records a start now if the limit allows one; else says when it will.
  bool TryStart(std::chrono::steady_clock::time_point now,
                std::chrono::steady_clock::time_point* next);

 private:
  unsigned count_ = 0;  // 0 = unlimited
  std::chrono::milliseconds per_{0};
  std::deque<std::chrono::steady_clock::time_point> starts_;
};

class Worker {
 public:
  Worker(const tasks::TasksConfig& config, const std::vector<actions::ActionConfig>& actions,
         tasks::TaskQueue& queue, const actions::ActionMap& runners);

  // Works until `stop`; then lets running actions finish, settles them, hands back the
  // tasks it holds (queued again, attempts unchanged) and returns.
  void Run(std::stop_token stop);

  // Where every task it buries is also shown, with its last error (queue/rejected.h), cut at
  // `max_payload_bytes`. Before Run.
  void KeepRejected(queue::RejectedRecorder::Lane* lane, std::size_t max_payload_bytes) {
    rejected_ = lane;
    max_payload_bytes_ = max_payload_bytes;
  }

  const WorkerStats& stats() const { return stats_; }
  // oceanus_task_runs_total{action,outcome}: started, succeeded, retried, buried.
  void WriteMetrics(MetricsWriter& out) const;
  // The delay before retry number `attempts` (1 = the first retry).
  std::chrono::milliseconds Backoff(unsigned attempts) const;

 private:
  struct Finished {
    tasks::Task task;
    Status status;
  };
  using Steady = std::chrono::steady_clock;
  void Settle(tasks::Task task, const Status& status);
  // Settles the actions that finished since the last call.
  void DrainFinished();
  // Runs `task`'s action on the pool; its outcome is settled by a later DrainFinished.
  void Start(ThreadPool& pool, tasks::Task task);
  // Starts the waiting tasks the rate limits allow now; when the next token comes.
  Steady::time_point StartAllowed(ThreadPool& pool, Steady::time_point now);
  // Waits until an action finished, or `until`.
  void WaitForFinished(Steady::time_point until);

  const tasks::TasksConfig& config_;
  tasks::TaskQueue& queue_;
  const actions::ActionMap& runners_;
  std::map<std::string, RateLimiter, std::less<>> limits_;
  std::deque<tasks::Task> waiting_;  // taken, waiting for a rate-limit token
  std::size_t running_ = 0;
  std::mutex finished_mu_;
  std::condition_variable finished_cv_;
  std::vector<Finished> finished_;
  // Per action, created in the constructor (the map never changes after it).
  std::map<std::string, WorkerStats, std::less<>> by_action_;
  WorkerStats* ActionStats(const std::string& action);
  WorkerStats stats_;
  queue::RejectedRecorder::Lane* rejected_ = nullptr;
  std::size_t max_payload_bytes_ = 4096;
};

}  // namespace oceanus::work
