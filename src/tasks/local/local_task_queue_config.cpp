// The local task queue's settings and factory (see local_task_queue_config.h).
#include "tasks/local/local_task_queue_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "config/config.h"
#include "config/reader.h"

namespace oceanus::tasks {
namespace {

std::string DefaultPath(const std::string& data_dir) { return data_dir + "/tasks.db"; }

class LocalTaskQueueFactory final : public TaskQueueFactory {
 public:
  std::vector<std::string> Keys() const override { return {"path", "lease"}; }

  std::shared_ptr<TaskQueueSettings> Parse(const config::Reader& r, const YAML::Node& t,
                                           const config::Config& shared) const override {
    LocalTaskQueueConfig local;
    if (t) {
      if (t["path"]) local.path = r.Str(t["path"]);
      if (t["lease"]) local.lease = r.Duration(t["lease"]);
      if (local.lease.count() <= 0) r.Fail(t["lease"], "lease must be above zero");
    }
    if (local.path.empty()) local.path = DefaultPath(shared.data_dir);
    return std::make_shared<LocalTaskQueueSettings>(std::move(local));
  }
};

}  // namespace

Result<std::unique_ptr<TaskQueue>> LocalTaskQueueSettings::Open(const TasksConfig& tasks) const {
  (void)tasks;
  auto local = LocalTaskQueue::Open(config_);
  if (!local.ok()) return local.status();
  return std::unique_ptr<TaskQueue>(std::move(local).value());
}

void LocalTaskQueueSettings::MoveDataDir(const std::string& from, const std::string& to) {
  if (config_.path == DefaultPath(from)) config_.path = DefaultPath(to);
}

void LocalTaskQueueSettings::Describe(std::ostream& out) const {
  out << "  path: " << config_.path << "\n"
      << "  lease: " << config_.lease.count() << " ms\n";
}

OCEANUS_REGISTER(TaskQueueFactory, LocalTaskQueueFactory, "local");

}  // namespace oceanus::tasks
