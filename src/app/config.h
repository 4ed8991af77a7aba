// The whole config file: what every stage shares (config::Config, the base) and each stage's
// own section, as the stage itself defines and parses it.
//
// `LoadConfig` reads the YAML file, expands ${ENV} references, applies defaults and checks
// every key; a mistake comes back as "file:line:col: what is wrong" before anything starts
// (Envoy's habit: a bad config fails at load, never at the first request). Each stage is
// handed its own section and the shared part, never the whole file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "actions/action_config.h"
#include "config/config.h"
#include "load/load_config.h"
#include "queue/queue_config.h"
#include "react/rule_config.h"
#include "sink/sink_config.h"
#include "tables/tables_config.h"
#include "tasks/tasks_config.h"
#include "util/status.h"

namespace oceanus::app {

struct Config : config::Config {
  queue::QueueConfig queue;
  load::LoadConfig load;
  sink::SinkConfig sink;
  tables::TablesConfig tables;
  tasks::TasksConfig tasks;
  std::vector<actions::ActionConfig> actions;
  std::vector<react::Rule> rules;

  const actions::ActionConfig* FindAction(std::string_view name) const {
    return actions::FindAction(actions, name);
  }
};

// Reads and validates a config file. Errors are "file:line:col: message".
Result<Config> LoadConfig(const std::string& path);
// Same, from text (tests); `file` is used in messages.
Result<Config> ParseConfig(const std::string& text, const std::string& file);

}  // namespace oceanus::app
