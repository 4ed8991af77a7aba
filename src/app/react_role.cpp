// The react role: queue → rules → task queue; and the task queue both react and work use.
#include "util/log.h"

#include "app/process.h"
#include "tasks/task_queue_registry.h"
#include "util/cpu.h"

namespace oceanus::app {
namespace {

bool Reacting(const Process& p) { return p.roles.react && !p.prepared.rules.empty(); }
bool Working(const Process& p) { return p.roles.work && !p.config.actions.empty(); }

}  // namespace

int OpenTaskQueueIfNeeded(Process& p) {
  if (Reacting(p))
    for (const auto& warning : p.prepared.rules.Warnings()) spdlog::warn("{}", warning);
  if (!Reacting(p) && !Working(p)) return 0;
  auto opened = p.config.tasks.queue->Open(p.config.tasks);
  if (!opened.ok()) {
    spdlog::critical("tasks: {}", opened.status().ToString());
    return opened.status().code() == Status::Code::kInvalidArgument ? kExitConfig : kExitRuntime;
  }
  p.task_queue = std::move(opened).value();
  return 0;
}

int StartReact(Process& p) {
  if (!Reacting(p)) return 0;
  const Config& config = p.config;
  auto readers = p.queue->OpenReaders("react", {});
  if (!readers.ok()) return kExitRuntime;
  // Every reactor of the deployment shares the guards' counts: in the queue's Redis when it
  // offers one, else in this process (the only one that reacts).
  if (auto shared = config.queue.settings->SharedStore()) {
    p.guards = std::make_unique<react::RedisGuardStore>(shared->connection, shared->key_prefix);
  } else {
    p.guards = std::make_unique<react::LocalGuardStore>();
  }
  p.reactor = std::make_unique<react::Reactor>(config, p.prepared.tz, p.prepared.rules, *p.guards,
                                               *p.task_queue, std::move(readers).value());
  react::Reactor* reactor = p.reactor.get();
  p.reactor_thread =
      std::jthread([reactor, priority = config.server.background_priority](std::stop_token stop) {
        SetBackgroundPriority(priority);
        reactor->Run(stop);
      });
  return 0;
}

}  // namespace oceanus::app
