// Parses the tasks section (tasks/tasks_config.h): the common keys here, each registered
// queue type's keys by its factory (tasks/task_queue_registry.h).
#include "tasks/tasks_config.h"

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/reader.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::tasks {
namespace {

// The common keys and every type's own, in the order the unknown-key message lists them.
std::vector<std::string> SectionKeys() {
  std::vector<std::string> keys = {"type", "concurrency", "max_attempts", "backoff", "max_backoff"};
  for (const auto& [type, factory] : TaskQueueRegistry::Get().all())
    for (auto& key : factory->Keys()) keys.push_back(std::move(key));
  return keys;
}

void ParseCommon(const config::Reader& r, const YAML::Node& t, TasksConfig& tasks) {
  if (t["type"]) {
    tasks.type = r.Str(t["type"]);
    if (TaskQueueRegistry::Get().Find(tasks.type) == nullptr)
      r.Fail(t["type"], "unknown tasks type '" + tasks.type +
                            "' (expected: " + TaskQueueRegistry::Get().Types() + ")");
  }
  if (t["concurrency"])
    tasks.concurrency = static_cast<unsigned>(r.Unsigned(t["concurrency"], 1024));
  if (tasks.concurrency == 0) r.Fail(t["concurrency"], "concurrency must be at least 1");
  if (t["max_attempts"])
    tasks.max_attempts = static_cast<unsigned>(r.Unsigned(t["max_attempts"], 1000));
  if (tasks.max_attempts == 0) r.Fail(t["max_attempts"], "max_attempts must be at least 1");
  if (t["backoff"]) tasks.backoff = r.Duration(t["backoff"]);
  if (t["max_backoff"]) tasks.max_backoff = r.Duration(t["max_backoff"]);
}

}  // namespace

TasksConfig ParseTasksConfig(const config::Reader& r, const YAML::Node& t,
                             const config::Config& shared) {
  TasksConfig tasks;
  if (t) {
    r.ExpectKeys(t, "tasks", SectionKeys());
    ParseCommon(r, t, tasks);
  }
  // Every type validates its keys; the chosen one's settings are kept.
  for (const auto& [type, factory] : TaskQueueRegistry::Get().all()) {
    auto settings = factory->Parse(r, t, shared);
    if (type == tasks.type) tasks.queue = std::move(settings);
  }
  return tasks;
}

}  // namespace oceanus::tasks
