// tasks type `local`: its keys of the tasks section (`path`, `lease`), parsed and opened here
// and registered in the task queue registry (tasks/task_queue_registry.h).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "tasks/local/local_task_queue.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::tasks {

class LocalTaskQueueSettings final : public TaskQueueSettings {
 public:
  explicit LocalTaskQueueSettings(LocalTaskQueueConfig config) : config_(std::move(config)) {}

  Result<std::unique_ptr<TaskQueue>> Open(const TasksConfig& tasks) const override;
  std::string Where() const override { return config_.path; }
  // path: <data_dir>/tasks.db follows the data dir.
  void MoveDataDir(const std::string& from, const std::string& to) override;
  // path, lease.
  void Describe(std::ostream& out) const override;

  const LocalTaskQueueConfig& config() const { return config_; }

 private:
  LocalTaskQueueConfig config_;
};

}  // namespace oceanus::tasks
