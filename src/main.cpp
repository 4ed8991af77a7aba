// oceanus: the command line. One binary, one subcommand per role; app/commands.h lists them
// and app/ assembles each from the config.
//
//   oceanus run   --config FILE [--listen HOST:PORT] [--data-dir DIR]
//       every role in one process (the embedded default)
//   oceanus collect | load | tables | react | work --config FILE
//       one role per process (queue type redis): scale and restart each on its own
//   oceanus check --config FILE
//       validate the config and print the resolved sites, fields, tables and rules
//   oceanus dead-tasks | retry-tasks [--action A] [--id ID] --config FILE
//       the tasks that used up their attempts: list them, put them back in the queue
//   oceanus replay --config FILE
//       the dead-lettered events: send them again
//   oceanus erase --config FILE --field uid --value X [--site S] [--dry-run]
//       one person's rows, queued events and dead-letter records out, new ones refused
#include <CLI/CLI.hpp>

#include <iostream>
#include <span>
#include <string>

#include "app/commands.h"
#include "load/replay.h"
#include "util/build_info.h"
#include "util/logging.h"

namespace {

using oceanus::app::Roles;

// A role command and the roles it runs.
struct RoleCommand {
  const char* name;
  const char* help;
  Roles roles;
  CLI::App* app = nullptr;
};

// What the command line gave, filled in by CLI11.
struct Flags {
  std::string log_format = "text";
  std::string config_path;
  oceanus::app::Overrides overrides;
  oceanus::app::DeadTaskOptions dead;
  std::string dead_action;  // --action, moved into dead.filter when given
  std::string dead_id;      // --id, likewise
  oceanus::load::ReplayOptions replay;
  oceanus::app::ReplayWindow replay_window;
  oceanus::load::ErasureRequest erase;
};

void AddRoleCommands(CLI::App& app, Flags& flags, std::span<RoleCommand> commands) {
  for (auto& c : commands) {
    c.app = app.add_subcommand(c.name, c.help);
    c.app->add_option("--config,-c", flags.config_path, "the YAML config file")->required();
    c.app->add_option("--data-dir", flags.overrides.data_dir,
                      "where the spool and SQLite file live (overrides data_dir)");
    c.app->add_option("--admin-listen", flags.overrides.admin_listen,
                      "HOST:PORT of the admin listener, or off (overrides admin.listen)");
    if (c.roles.collect)
      c.app->add_option("--listen", flags.overrides.listen,
                        "HOST:PORT to listen on (overrides server.listen)");
  }
}

// --action and --id of dead-tasks and retry-tasks.
void AddDeadTaskFilter(CLI::App& command, Flags& flags) {
  command.add_option("--action", flags.dead_action, "only the tasks of this action");
  command.add_option("--id", flags.dead_id, "only the task with this id (<rule>/<eid>/<step>)");
}

// An option given, even as "", filters (an empty action then matches nothing and says so).
void TakeDeadTaskFilter(CLI::App& command, Flags& flags) {
  if (command.count("--action") > 0) flags.dead.filter.action = flags.dead_action;
  if (command.count("--id") > 0) flags.dead.filter.id = flags.dead_id;
}

CLI::App* AddDeadTasksCommand(CLI::App& app, Flags& flags) {
  auto* dead = app.add_subcommand("dead-tasks", "print the tasks that used up their attempts");
  dead->add_option("--config,-c", flags.config_path, "the YAML config file")->required();
  dead->add_option("--limit", flags.dead.limit, "at most this many (default 100)");
  dead->add_option("--data-dir", flags.overrides.data_dir,
                   "where tasks.db lives (overrides data_dir)");
  AddDeadTaskFilter(*dead, flags);
  return dead;
}

CLI::App* AddRetryTasksCommand(CLI::App& app, Flags& flags) {
  auto* retry = app.add_subcommand(
      "retry-tasks",
      "put dead tasks back in the queue, due now with their attempts reset; a running worker "
      "takes them");
  retry->add_option("--config,-c", flags.config_path, "the YAML config file")->required();
  retry->add_option("--data-dir", flags.overrides.data_dir,
                    "where tasks.db lives (overrides data_dir)");
  AddDeadTaskFilter(*retry, flags);
  retry->add_flag("--dry-run", flags.dead.dry_run, "count what would be put back");
  return retry;
}

CLI::App* AddReplayCommand(CLI::App& app, Flags& flags) {
  auto* replay = app.add_subcommand(
      "replay",
      "send the dead-letter (or a collector's spool, --spool) back into the queue; records keep "
      "their eid, so none is stored twice");
  replay->add_option("--config,-c", flags.config_path, "the YAML config file")->required();
  replay->add_option("--data-dir", flags.overrides.data_dir,
                     "where the dead-letter and spool live (overrides data_dir)");
  replay->add_option("--site", flags.replay.site, "only this site");
  replay->add_option("--spool", flags.replay.spool_dir,
                     "forward this spool directory's records into Redis instead");
  replay->add_flag("--corrupt", flags.replay.corrupt,
                   "send the valid records of the spool's .corrupt files (those of --spool DIR "
                   "if given) instead");
  replay->add_flag("--dry-run", flags.replay.dry_run, "count what would be replayed");
  replay->add_option("--since", flags.replay_window.since,
                     "only entries set aside at or after this UTC time (\"2026-12-03 10:00\", "
                     "ISO 8601) or this long ago (\"2h\", \"7d\")");
  replay->add_option("--until", flags.replay_window.until,
                     "only entries set aside before this time (same forms)");
  replay->add_option("--reason", flags.replay.reason,
                     "only entries whose reason contains this text");
  return replay;
}

CLI::App* AddEraseCommand(CLI::App& app, Flags& flags) {
  auto* erase = app.add_subcommand(
      "erase",
      "delete one person's rows from the warehouse of every site with the field, and their "
      "records from the dead-letter; their new and still queued events are not stored");
  erase->add_option("--config,-c", flags.config_path, "the YAML config file")->required();
  erase->add_option("--data-dir", flags.overrides.data_dir,
                    "where the suppression list, audit file and dead-letter live (overrides "
                    "data_dir)");
  erase->add_option("--field", flags.erase.field, "the field that names the person (uid, sid)")
      ->required();
  erase->add_option("--value", flags.erase.value, "the person's value of that field")->required();
  erase->add_option("--site", flags.erase.site, "only this site");
  erase->add_flag("--dry-run", flags.erase.dry_run, "count what would be erased, change nothing");
  return erase;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"oceanus: collect events over HTTP, queue them durably, load them into a warehouse"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string("oceanus ") + std::string(oceanus::BuildVersion()) +
                                        " (commit " + std::string(oceanus::BuildCommit()) + ")");
  // Given before or after the command name (fallthrough): `oceanus run --log-format json`.
  cli.fallthrough();
  Flags flags;
  cli.add_option("--log-format", flags.log_format,
                 "text (default) or json: one JSON object per line, for log collectors")
      ->check(CLI::IsMember({"text", "json"}));
  RoleCommand roles[] = {
      {"run",
       "every role in one process: collector, table manager, loader, rules, task worker",
       {true, true, true, true, true, "run"}},
      {"collect",
       "the HTTP collector only (queue type redis)",
       {true, false, false, false, false, "collect"}},
      {"load",
       "the loader only: queue → warehouse (queue type redis)",
       {false, true, false, false, false, "load"}},
      {"tables",
       "the table manager only: keep today's and tomorrow's tables ready",
       {false, false, true, false, false, "tables"}},
      {"react",
       "the rules only: queue → rules → task queue (queue type redis)",
       {false, false, false, true, false, "react"}},
      {"work",
       "the task worker only: task queue → actions",
       {false, false, false, false, true, "work"}},
  };
  AddRoleCommands(cli, flags, roles);
  auto* check = cli.add_subcommand("check", "validate the config and print what it resolves to");
  check->add_option("--config,-c", flags.config_path, "the YAML config file")->required();
  auto* dead = AddDeadTasksCommand(cli, flags);
  auto* retry = AddRetryTasksCommand(cli, flags);
  auto* replay = AddReplayCommand(cli, flags);
  auto* erase = AddEraseCommand(cli, flags);

  CLI11_PARSE(cli, argc, argv);
  auto log_format = oceanus::ParseLogFormat(flags.log_format);
  if (!log_format.ok()) {
    std::cerr << "--log-format: " << log_format.status().message() << "\n";
    return oceanus::app::kExitConfig;
  }
  oceanus::SetLogFormat(*log_format);
  for (const auto& c : roles)
    if (c.app->parsed())
      return oceanus::app::RunCommand(flags.config_path, flags.overrides, c.roles);
  if (check->parsed()) return oceanus::app::CheckCommand(flags.config_path);
  if (dead->parsed() || retry->parsed()) TakeDeadTaskFilter(dead->parsed() ? *dead : *retry, flags);
  if (dead->parsed())
    return oceanus::app::DeadTasksCommand(flags.config_path, flags.overrides, flags.dead);
  if (retry->parsed())
    return oceanus::app::RetryTasksCommand(flags.config_path, flags.overrides, flags.dead);
  if (replay->parsed())
    return oceanus::app::ReplayCommand(flags.config_path, flags.overrides, flags.replay,
                                       flags.replay_window);
  if (erase->parsed())
    return oceanus::app::EraseCommand(flags.config_path, flags.overrides, flags.erase);
  return oceanus::app::kExitRuntime;
}
