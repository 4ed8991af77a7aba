// ThreadPool: a mutex-guarded deque; the pool is off the hot path (it carries fsyncs).
#include "util/thread_pool.h"

#include "util/cpu.h"

namespace oceanus {

ThreadPool::ThreadPool(unsigned threads, std::optional<BackgroundPriority> background)
    : stopping_(threads == 0) {
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([this, background] {
      if (background) SetBackgroundPriority(*background);
      while (true) {
        std::function<void()> job;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
          if (jobs_.empty()) return;  // stopping and drained
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        job();
      }
    });
  }
}

void ThreadPool::Submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  job();  // joined, or no threads: no one else would ever run it
}

void ThreadPool::Join() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace oceanus
