// The collect role: HTTP → queue; and the queue every role of the process uses, opened first.
#include "util/log.h"

#include <condition_variable>
#include <mutex>

#include "app/process.h"

namespace oceanus::app {

int OpenQueue(Process& p) {
  const Roles& roles = p.roles;
  queue::QueueUse use;
  use.write = roles.collect;
  use.read = roles.load || roles.react;
  auto opened = p.config.queue.settings->Open(p.config, p.config.queue, use);
  if (!opened.ok()) return kExitRuntime;  // logged by the queue
  p.queue = std::move(opened).value();
  const auto& bound = p.config.rejected;
  p.rejected = std::make_unique<queue::RejectedRecorder>(
      p.queue->MakeRejectedStore({bound.max_per_site, bound.max_age}),
      queue::RejectedRecorder::Options{.log_every = bound.log_every});
  p.rejected->Start();
  return 0;
}

int StartCollect(Process& p) {
  if (!p.roles.collect) return 0;
  const Config& config = p.config;
  p.queue->Start();
  auto started = http::Server::Start(
      config, p.prepared.collector,
      [&p](unsigned index, http::PostFn post) {
        queue::WriterExecutors executors;
        executors.run_blocking = [&blocking = p.blocking](std::function<void()> job) {
          blocking.Submit(std::move(job));
        };
        executors.post_back = std::move(post);
        executors.gather = true;  // an asio post runs after the handlers already queued
        return p.queue->MakeWriter(index, std::move(executors));
      },
      p.rejected.get());
  if (!started.ok()) {
    spdlog::critical("{}", started.status().ToString());
    return kExitRuntime;
  }
  p.server = std::move(started).value();
  std::vector<std::string> names;
  for (const auto& s : config.sites) names.push_back(s.name);
  p.rates = std::make_unique<collect::RateHistory>(std::move(names));
  p.rates_thread = std::jthread([&p](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any wake;
    std::unique_lock lock(mu);
    while (!stop.stop_requested()) {
      p.rates->Sample(std::chrono::system_clock::now(), p.server->QueuedTotals());
      wake.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    }
  });
  return 0;
}

}  // namespace oceanus::app
