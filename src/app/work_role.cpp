// The work role: task queue → actions.
#include "util/log.h"

#include <iostream>

#include "actions/registry.h"
#include "app/process.h"
#include "util/cpu.h"

namespace oceanus::app {

int StartWork(Process& p) {
  const Config& config = p.config;
  if (!p.roles.work || config.actions.empty()) return 0;
  if (actions::NeedsHistory(config.actions)) {
    auto opened = OpenHistory(config, p.prepared.tz);
    if (!opened.ok()) {
      spdlog::critical("history reports: {}", opened.status().ToString());
      return kExitRuntime;
    }
    p.history = std::move(opened).value();
  }
  auto made = actions::MakeActions(
      config.actions, actions::ActionEnv{config, config.actions, p.prepared.tz, p.history.get()});
  if (!made.ok()) {
    std::cerr << config.file << ": " << made.status().message() << "\n";
    return kExitConfig;
  }
  p.action_runners = std::move(made).value();
  p.worker =
      std::make_unique<work::Worker>(config.tasks, config.actions, *p.task_queue, p.action_runners);
  p.worker->KeepRejected(&p.rejected->NewLane(), config.rejected.max_payload_bytes);
  work::Worker* worker = p.worker.get();
  p.worker_thread =
      std::jthread([worker, priority = config.server.background_priority](std::stop_token stop) {
        SetBackgroundPriority(priority);
        worker->Run(stop);
      });
  return 0;
}

}  // namespace oceanus::app
