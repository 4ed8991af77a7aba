// `oceanus dead-tasks`: the buried tasks as JSON lines.
#include <iostream>

#include "app/commands.h"
#include "app/prepare.h"
#include "tasks/task.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::app {

// `oceanus dead-tasks`: the buried tasks as JSON lines (id, action, attempts, last_error,
// args, event), for an operator deciding what to fix and replay.
int DeadTasksCommand(const std::string& path, const Overrides& overrides, std::size_t limit) {
  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  auto queue = c->tasks.queue->Open(c->tasks);
  if (!queue.ok()) {
    std::cerr << "tasks: " << queue.status().message() << "\n";
    return kExitRuntime;
  }
  auto dead = (*queue)->DeadTasks(limit);
  if (!dead.ok()) {
    std::cerr << "tasks: " << dead.status().message() << "\n";
    return kExitRuntime;
  }
  for (const auto& t : *dead) std::cout << tasks::EncodeTask(t) << "\n";
  return 0;
}

}  // namespace oceanus::app
