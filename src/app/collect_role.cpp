// The collect role: HTTP → queue; and the queue every role of the process uses, opened first.
#include "util/log.h"

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
  return 0;
}

int StartCollect(Process& p) {
  if (!p.roles.collect) return 0;
  const Config& config = p.config;
  p.queue->Start();
  auto started =
      http::Server::Start(config, p.prepared.collector, [&p](unsigned index, http::PostFn post) {
        queue::WriterExecutors executors;
        executors.run_blocking = [&blocking = p.blocking](std::function<void()> job) {
          blocking.Submit(std::move(job));
        };
        executors.post_back = std::move(post);
        executors.gather = true;  // an asio post runs after the handlers already queued
        return p.queue->MakeWriter(index, std::move(executors));
      });
  if (!started.ok()) {
    spdlog::critical("{}", started.status().ToString());
    return kExitRuntime;
  }
  p.server = std::move(started).value();
  return 0;
}

}  // namespace oceanus::app
