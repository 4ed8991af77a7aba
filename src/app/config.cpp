// app/config.h: the file's root mapping, handed out section by section.
#include "app/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "collect/source.h"
#include "config/reader.h"
#include "sink/sink_registry.h"

namespace oceanus::app {
namespace {

Config Parse(const config::Reader& r, const YAML::Node& root, const std::string& file) {
  Config c;
  c.file = file;
  if (!root.IsDefined() || root.IsNull()) r.Fail(root, "the file is empty");
  config::RejectDuplicateKeys(r, root);
  r.ExpectKeys(root, "the top level",
               {"data_dir", "time_zone", "log_level", "server", "queue", "load", "sink", "tables",
                "admin", "rejected", "default_site", "sites", "tasks", "actions", "rules"});
  config::ParseShared(r, root, collect::RegisteredSiteSources(), c);
  c.queue = queue::ParseQueueConfig(r, root["queue"]);
  c.load = load::ParseLoadConfig(r, root["load"]);
  c.sink = sink::ParseSinkConfig(r, root["sink"], c);
  const std::size_t max_writers = c.sink.settings->MaxWriters();
  if (c.load.writers == 0) {
    c.load.writers = std::min(max_writers, sink::SinkSettings::kDefaultWriters);
  } else if (c.load.writers > max_writers) {
    r.Fail(root["load"]["writers"], "writers: sink type " + c.sink.type + " takes at most " +
                                        std::to_string(max_writers) + " writer(s) at a time");
  }
  c.tables = tables::ParseTablesConfig(r, root["tables"]);
  c.tasks = tasks::ParseTasksConfig(r, root["tasks"], c);
  c.actions = actions::ParseActions(r, root["actions"], c);
  c.rules = react::ParseRules(r, root["rules"], c, c.actions);
  // Rules read the stream through their own consumer group; retention waits for it.
  auto& groups = c.queue.groups;
  if (!c.rules.empty() && std::find(groups.begin(), groups.end(), "react") == groups.end())
    groups.push_back("react");
  return c;
}

}  // namespace

Result<Config> ParseConfig(const std::string& text, const std::string& file) {
  config::Reader reader(file);
  try {
    const YAML::Node root = YAML::Load(text);
    return Parse(reader, root, file);
  } catch (const config::ConfigError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's own message repeats the position; give it in our form.
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open the config file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace oceanus::app
