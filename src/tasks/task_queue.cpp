// What the task queue interface offers on top of its implementations (task_queue.h).
#include "tasks/task_queue.h"

#include <cstdint>
#include <set>

namespace oceanus::tasks {

Result<std::size_t> CountRevivable(TaskQueue& queue, const DeadTaskFilter& filter) {
  auto dead = queue.DeadTasks(SIZE_MAX, filter);
  if (!dead.ok()) return dead.status();
  std::set<std::string> ids;
  for (const auto& t : *dead)
    if (!t.action.empty()) ids.insert(t.id);
  return ids.size();
}

}  // namespace oceanus::tasks
