// `oceanus dead-tasks` and `oceanus retry-tasks`: the operator's view of the task queue's
// dead-letter, and the way back out of it once the cause is fixed.
//
// Both open the task queue the config names, as a worker would (for the local queue, the
// same SQLite file a running `oceanus run` uses; SQLite's locking lets both write it), so
// a task put back is taken by whichever worker polls the queue next.
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/prepare.h"
#include "tasks/task.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::app {
namespace {

// "(action slack, id paid/E/0)", "(all)": which dead tasks a command was about.
std::string Describe(const tasks::DeadTaskFilter& filter) {
  std::string out;
  if (filter.action) out += "action " + *filter.action;
  if (filter.id) out += (out.empty() ? "id " : ", id ") + *filter.id;
  return "(" + (out.empty() ? std::string("all") : out) + ")";
}

// An action name that the config does not have would select nothing, silently: say so.
Status CheckAction(const Config& config, const tasks::DeadTaskFilter& filter) {
  if (!filter.action || config.FindAction(*filter.action) != nullptr) return Status::Ok();
  std::string names;
  for (const auto& a : config.actions) names += (names.empty() ? "" : ", ") + a.name;
  return Status::InvalidArgument("--action " + *filter.action +
                                 ": no such action in the config (expected one of: " + names + ")");
}

// The config and its task queue, or the exit status of a command that cannot go on. A
// mistake of the command line (`check_action`: an unknown --action) is found before the
// queue is opened.
struct Opened {
  Config config;
  std::unique_ptr<tasks::TaskQueue> queue;
};
Result<Opened> Open(const std::string& path, const Overrides& overrides,
                    const DeadTaskOptions& options, bool check_action, int* exit_status) {
  *exit_status = kExitConfig;
  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) return c.status();
  if (Status s = CheckAction(*c, options.filter); check_action && !s.ok()) return s;
  *exit_status = kExitRuntime;
  auto queue = c->tasks.queue->Open(c->tasks);
  if (!queue.ok()) return queue.status().WithContext("tasks");
  return Opened{std::move(c).value(), std::move(queue).value()};
}

}  // namespace

// `oceanus dead-tasks`: the buried tasks as JSON lines (id, action, attempts, last_error,
// args, event), for an operator deciding what to fix and replay.
int DeadTasksCommand(const std::string& path, const Overrides& overrides,
                     const DeadTaskOptions& options) {
  int exit_status = 0;
  auto opened = Open(path, overrides, options, /*check_action=*/false, &exit_status);
  if (!opened.ok()) {
    std::cerr << opened.status().message() << "\n";
    return exit_status;
  }
  auto dead = opened->queue->DeadTasks(options.limit, options.filter);
  if (!dead.ok()) {
    std::cerr << "tasks: " << dead.status().message() << "\n";
    return kExitRuntime;
  }
  for (const auto& t : *dead) std::cout << tasks::EncodeTask(t) << "\n";
  return 0;
}

// `oceanus retry-tasks`: the dead tasks that match go back to the queue with fresh attempts,
// and the command says how many.
int RetryTasksCommand(const std::string& path, const Overrides& overrides,
                      const DeadTaskOptions& options) {
  int exit_status = 0;
  auto opened = Open(path, overrides, options, /*check_action=*/true, &exit_status);
  if (!opened.ok()) {
    std::cerr << "retry-tasks: " << opened.status().message() << "\n";
    return exit_status;
  }
  auto& queue = *opened->queue;
  auto n = options.dry_run ? tasks::CountRevivable(queue, options.filter)
                           : queue.ReviveDead(options.filter);
  if (!n.ok()) {
    std::cerr << "retry-tasks: " << n.status().message() << "\n";
    return kExitRuntime;
  }
  std::cout << (options.dry_run ? "would put " : "put ") << *n << " dead task(s) back "
            << Describe(options.filter) << "\n";
  return 0;
}

}  // namespace oceanus::app
