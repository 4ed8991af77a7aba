// The collect role: HTTP → queue. The local spool is the queue itself (queue type spool) or
// the collector's fallback while Redis is unreachable (queue type redis).
#include <spdlog/spdlog.h>

#include "app/process.h"

namespace oceanus::app {
namespace {

using WriterResult = Result<std::unique_ptr<queue::QueueWriter>>;

// The queue writer of one I/O thread.
WriterResult MakeWriter(Process& p, unsigned index, http::PostFn post) {
  auto run_blocking = [&blocking = p.blocking](std::function<void()> job) {
    blocking.Submit(std::move(job));
  };
  if (p.config.queue.type == "redis") {
    auto w = queue::redis::RedisWriter::Create(p.config, *p.spool, index, run_blocking, *p.backlog,
                                               std::move(post));
    if (!w.ok()) return w.status();
    return std::unique_ptr<queue::QueueWriter>(std::move(w).value());
  }
  queue::Spool::Executors executors;
  executors.run_blocking = run_blocking;
  executors.post_back = std::move(post);
  return p.spool->MakeWriter(index, std::move(executors));
}

}  // namespace

int OpenSpool(Process& p) {
  if (!p.roles.collect) return 0;
  const Config& config = p.config;
  std::vector<std::string> site_names;
  for (const auto& s : config.sites) site_names.push_back(s.name);
  const std::vector<std::string> groups =
      config.queue.type == "redis" ? std::vector<std::string>{"forward"} : config.queue.groups;
  auto opened = queue::Spool::Open(config.data_dir + "/spool", site_names, groups, config.queue);
  if (!opened.ok()) {
    spdlog::critical("spool: {}", opened.status().ToString());
    return kExitRuntime;
  }
  p.spool = std::move(opened).value();
  return 0;
}

int StartCollect(Process& p) {
  if (!p.roles.collect) return 0;
  const Config& config = p.config;
  if (config.queue.type == "redis") {
    p.backlog = std::make_unique<queue::redis::SpoolBacklog>(config.sites.size());
    // Until the forwarder has looked, assume a spool left by an earlier run: new events
    // queue behind it, in order.
    for (std::size_t i = 0; i < config.sites.size(); ++i) p.backlog->Set(i, true);
    p.forwarder = std::make_unique<queue::redis::Forwarder>(config, *p.spool, *p.backlog);
    p.forwarder->Start();
  }
  auto started = http::Server::Start(
      config, p.prepared.collector,
      [&p](unsigned index, http::PostFn post) { return MakeWriter(p, index, std::move(post)); });
  if (!started.ok()) {
    spdlog::critical("{}", started.status().ToString());
    return kExitRuntime;
  }
  p.server = std::move(started).value();
  return 0;
}

}  // namespace oceanus::app
