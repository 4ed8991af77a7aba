// The worker loop (see worker.h).
#include "work/worker.h"

#include "util/log.h"

#include <algorithm>

#include "util/thread_pool.h"
#include "util/time.h"

namespace oceanus::work {

using Steady = std::chrono::steady_clock;

bool RateLimiter::TryStart(Steady::time_point now, Steady::time_point* next) {
  if (count_ == 0) return true;
  while (!starts_.empty() && now - starts_.front() >= per_) starts_.pop_front();
  if (starts_.size() < count_) {
    starts_.push_back(now);
    return true;
  }
  *next = starts_.front() + per_;
  return false;
}

Worker::Worker(const tasks::TasksConfig& config, const std::vector<actions::ActionConfig>& actions,
               tasks::TaskQueue& queue, const actions::ActionMap& runners)
    : config_(config), queue_(queue), runners_(runners) {
  for (const auto& a : actions) {
    limits_.emplace(a.name, RateLimiter(a.rate_limit.count, a.rate_limit.per));
    by_action_.try_emplace(a.name);
  }
}

WorkerStats* Worker::ActionStats(const std::string& action) {
  auto it = by_action_.find(action);
  return it == by_action_.end() ? nullptr : &it->second;
}

void Worker::WriteMetrics(MetricsWriter& out) const {
  out.Family("oceanus_task_runs_total", "counter",
             "Task runs by action and outcome (started, succeeded, retried, buried).");
  for (const auto& [action, s] : by_action_) {
    out.Sample("oceanus_task_runs_total", {{"action", action}, {"outcome", "started"}},
               static_cast<double>(s.started.load()));
    out.Sample("oceanus_task_runs_total", {{"action", action}, {"outcome", "succeeded"}},
               static_cast<double>(s.succeeded.load()));
    out.Sample("oceanus_task_runs_total", {{"action", action}, {"outcome", "retried"}},
               static_cast<double>(s.retried.load()));
    out.Sample("oceanus_task_runs_total", {{"action", action}, {"outcome", "buried"}},
               static_cast<double>(s.buried.load()));
  }
}

std::chrono::milliseconds Worker::Backoff(unsigned attempts) const {
  auto delay = config_.backoff;
  for (unsigned i = 1; i < attempts && delay < config_.max_backoff; ++i) delay *= 2;
  return std::min(delay, config_.max_backoff);
}

// The counters move only once the queue has recorded the outcome: a watcher that sees
// `succeeded` go up may rely on the task not being delivered again.
void Worker::Settle(tasks::Task task, const Status& status) {
  Status stored;
  std::atomic<std::uint64_t> WorkerStats::*counter = nullptr;
  if (status.ok()) {
    counter = &WorkerStats::succeeded;
    stored = queue_.Done(task);
    spdlog::debug("task {} ({}) done", task.id, task.action);
  } else {
    task.attempts++;
    task.last_error = status.message();
    if (status.retryable() && task.attempts < config_.max_attempts) {
      const auto delay = Backoff(task.attempts);
      task.not_before = tasks::Clock::now() + delay;
      counter = &WorkerStats::retried;
      spdlog::warn("task {} ({}) failed (attempt {} of {}): {}; retrying in {} ms", task.id,
                   task.action, task.attempts, config_.max_attempts, status.message(),
                   delay.count());
      stored = queue_.Retry(task);
    } else {
      counter = &WorkerStats::buried;
      spdlog::error(
          "task {} ({}) failed for good after {} attempt(s): {}; moved to the dead-letter", task.id,
          task.action, task.attempts, status.message());
      stored = queue_.Bury(task);
    }
  }
  if (!stored.ok()) {
    // The queue still holds the task as taken: it is delivered again (lease, redelivery).
    spdlog::error("task {}: cannot record its outcome: {}", task.id, stored.message());
    return;
  }
  (stats_.*counter)++;
  if (auto* a = ActionStats(task.action)) (a->*counter)++;
  if (counter == &WorkerStats::buried && rejected_) {
    rejected_->Add([&](queue::Rejection& r) {
      r.at_micros = MicrosSinceEpoch(std::chrono::system_clock::now());
      r.site.assign(task.site);
      r.kind.assign("task");
      r.reason.assign(task.action);
      r.status = 0;
      r.detail.assign(task.last_error);
      r.payload.clear();
      queue::AppendBounded(r.payload, tasks::EncodeTask(task), max_payload_bytes_);
    });
  }
}

void Worker::DrainFinished() {
  std::vector<Finished> done;
  {
    std::lock_guard lock(finished_mu_);
    done.swap(finished_);
  }
  for (auto& f : done) {
    --running_;
    Settle(std::move(f.task), f.status);
  }
}

void Worker::Start(ThreadPool& pool, tasks::Task task) {
  auto it = runners_.find(task.action);
  ++running_;
  stats_.started++;
  if (auto* a = ActionStats(task.action)) a->started++;
  pool.Submit([this, task = std::move(task),
               runner = it == runners_.end() ? nullptr : it->second.get()]() mutable {
    Status status = runner == nullptr
                        ? Status::InvalidArgument("action '" + task.action +
                                                  "' is not configured in this worker")
                        : runner->Run(task);
    {
      std::lock_guard lock(finished_mu_);
      finished_.push_back({std::move(task), std::move(status)});
    }
    finished_cv_.notify_all();
  });
}

Worker::Steady::time_point Worker::StartAllowed(ThreadPool& pool, Steady::time_point now) {
  Steady::time_point next_token = now + std::chrono::seconds(1);
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto limit = limits_.find(it->action);
    Steady::time_point next;
    if (limit == limits_.end() || limit->second.TryStart(now, &next)) {
      Start(pool, std::move(*it));
      it = waiting_.erase(it);
    } else {
      next_token = std::min(next_token, next);
      ++it;
    }
  }
  return next_token;
}

void Worker::WaitForFinished(Steady::time_point until) {
  std::unique_lock lock(finished_mu_);
  finished_cv_.wait_until(lock, until, [&] { return !finished_.empty(); });
}

void Worker::Run(std::stop_token stop) {
  ThreadPool pool(config_.concurrency);
  while (!stop.stop_requested()) {
    DrainFinished();
    // Start what the rate limits allow, in the order taken.
    const auto now = Steady::now();
    const Steady::time_point next_token = StartAllowed(pool, now);
    const std::size_t held = running_ + waiting_.size();
    if (held >= config_.concurrency) {
      // Full: wait for an action to finish or a token to come.
      WaitForFinished(std::min(next_token, now + std::chrono::milliseconds(200)));
      continue;
    }
    const auto wait =
        waiting_.empty()
            ? std::chrono::milliseconds(200)
            : std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(next_token - now),
                         std::chrono::milliseconds(1), std::chrono::milliseconds(200));
    auto taken = queue_.Take(config_.concurrency - held,
                             running_ > 0 ? std::chrono::milliseconds(20) : wait);
    if (!taken.ok()) {
      spdlog::warn("worker: take: {}", taken.status().message());
      WaitForFinished(Steady::now() + std::chrono::milliseconds(500));
      continue;
    }
    for (auto& t : *taken) waiting_.push_back(std::move(t));
  }
  // Stopping: let the running actions finish and record them; hand back the rest.
  while (running_ > 0) {
    WaitForFinished(Steady::now() + std::chrono::milliseconds(200));
    DrainFinished();
  }
  for (auto& t : waiting_) {
    if (Status s = queue_.Retry(t); !s.ok())
      spdlog::warn("worker: hand back task {}: {}", t.id, s.message());
  }
  waiting_.clear();
  pool.Join();
}

}  // namespace oceanus::work
