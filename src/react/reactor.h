// The reactor: the `react` consumer group → rules → guards → task queue.
//
// It reads every site's stream through its own consumer group (Redis) or spool cursor
// (embedded), so it never slows the loader down and never misses an event the loader sees.
// For each event it runs the site's rules; a match that passes its guards becomes tasks,
// enqueued with ids "<rule>/<eid>/<step>". A batch is acknowledged only after every task
// it produced is stored: a restart re-reads at most the unacknowledged batch, and the task
// queue's idempotency by id (and the once-guard's owner check) keep that from acting twice.
// A failing enqueue (task queue down) keeps the batch and retries it with backoff, from the
// event where it stopped.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <stop_token>
#include <vector>

#include "config/config.h"
#include "queue/queue.h"
#include "react/guard.h"
#include "react/rules.h"
#include "tasks/task_queue.h"
#include "util/metrics.h"
#include "util/time.h"

namespace oceanus::react {

struct ReactorStats {
  std::atomic<std::uint64_t> events{0};      // read from the queue
  std::atomic<std::uint64_t> matched{0};     // rule matches (before guards)
  std::atomic<std::uint64_t> suppressed{0};  // matches a guard stopped
  std::atomic<std::uint64_t> tasks{0};       // tasks enqueued
  std::atomic<std::uint64_t> unreadable{0};  // records that are not JSON objects (skipped)
  std::atomic<std::uint64_t> errors{0};      // enqueue or guard failures (retried)
};

class Reactor {
 public:
  // `readers[i]` reads config.sites[i] as group "react".
  Reactor(const config::Config& config, TimeZone tz, const RuleSet& rules, GuardStore& guards,
          tasks::TaskQueue& tasks, std::vector<std::unique_ptr<queue::QueueReader>> readers);

  // Reacts until `stop` is requested; then finishes the batch in hand and returns.
  void Run(std::stop_token stop);

  const ReactorStats& stats() const { return stats_; }
  // oceanus_reactor_*_total.
  void WriteMetrics(MetricsWriter& out) const;

 private:
  struct SiteState {
    std::unique_ptr<queue::QueueReader> reader;
    std::vector<queue::Entry> batch;
    std::size_t next = 0;  // first entry of `batch` not yet handled
    std::chrono::milliseconds backoff{0};
    std::chrono::steady_clock::time_point retry_at;
  };
  // Handles s.batch from s.next on; acknowledges it when done. False on a retryable failure.
  bool Handle(std::size_t site, SiteState& s);
  Status HandleEntry(std::size_t site, const queue::Entry& entry);
  // Whether the guards let this match through.
  Result<bool> PassGuards(const CompiledRule& rule, EventContext& event);

  const config::Config& config_;
  TimeZone tz_;
  const RuleSet& rules_;
  GuardStore& guards_;
  tasks::TaskQueue& tasks_;
  std::vector<SiteState> sites_;
  ReactorStats stats_;
};

}  // namespace oceanus::react
