// A small pool of threads for work that may block (fdatasync, file I/O), so that I/O threads
// never do. Jobs run in submission order per thread; Join drains the queue and stops.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "util/cpu.h"

namespace oceanus {

class ThreadPool {
 public:
  // `background`: each thread's priority (SetBackgroundPriority); none: the creator's.
  explicit ThreadPool(unsigned threads,
                      std::optional<BackgroundPriority> background = std::nullopt);
  ~ThreadPool() { Join(); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs `job` on a pool thread. Every submitted job runs exactly once: after Join (or with
  // no threads) it runs at once on the calling thread, before Submit returns. That is what
  // shutdown needs: a queue writer flushed after the pool is joined (its last fdatasync) must
  // still complete, and a job queued where no thread will take it would hold what it captured
  // (sessions, file descriptors) until the pool is destroyed.
  void Submit(std::function<void()> job);
  // Runs every job already submitted, then stops the threads. Idempotent.
  void Join();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace oceanus
