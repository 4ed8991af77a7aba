// The subcommands of the oceanus binary, each assembled from the config by the app layer.
// main.cpp parses the command line and calls one of these; each returns the exit status.
//
//   run                  every role in one process (the embedded default)
//   collect | load | tables | react | work
//                        one role per process (queue type redis): scale and restart each on
//                        its own
//   check                validate the config and print what it resolves to
//   dead-tasks, retry-tasks, replay
//                        operators' tools for what could not be delivered
//   erase                one person's data out of the warehouse, queue and dead-letter
#pragma once

#include <cstddef>
#include <string>

#include "load/erasure.h"
#include "load/replay.h"
#include "tasks/task_queue.h"

namespace oceanus::app {

inline constexpr int kExitConfig = 2;   // the config (or a flag) is wrong
inline constexpr int kExitRuntime = 1;  // something failed while running

// Command-line flags that override the file.
struct Overrides {
  std::string listen;        // --listen HOST:PORT
  std::string data_dir;      // --data-dir DIR
  std::string admin_listen;  // --admin-listen HOST:PORT | off
};

// Which roles this process runs.
struct Roles {
  bool collect = false;
  bool load = false;
  bool tables = false;
  bool react = false;
  bool work = false;
  const char* name = "run";
};
inline constexpr Roles kAllRoles{true, true, true, true, true, "check"};

int RunCommand(const std::string& path, const Overrides& overrides, const Roles& roles);
int CheckCommand(const std::string& path);
// The dead tasks that dead-tasks lists and retry-tasks puts back (--action, --id).
struct DeadTaskOptions {
  tasks::DeadTaskFilter filter;
  std::size_t limit = 100;  // dead-tasks: at most this many
  bool dry_run = false;     // retry-tasks: count, change nothing
};

int DeadTasksCommand(const std::string& path, const Overrides& overrides,
                     const DeadTaskOptions& options);
// Exit 0 also when nothing matched ("put 0 dead task(s) back"); kExitConfig for an --action
// that the config does not name.
int RetryTasksCommand(const std::string& path, const Overrides& overrides,
                      const DeadTaskOptions& options);
// --since and --until of `oceanus replay` as given: a UTC time or a duration ago.
struct ReplayWindow {
  std::string since, until;
};
int ReplayCommand(const std::string& path, const Overrides& overrides, load::ReplayOptions options,
                  const ReplayWindow& window);
int EraseCommand(const std::string& path, const Overrides& overrides,
                 const load::ErasureRequest& request);

}  // namespace oceanus::app
