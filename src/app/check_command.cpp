// `oceanus check`: validates the config as `run` would (Prepare with every role) and prints
// what it resolves to: listeners, queue, sink, batches, each site with its tables and fields,
// the task queue, the actions and the rules.
#include <chrono>
#include <iostream>

#include "actions/action_registry.h"
#include "app/commands.h"
#include "app/prepare.h"
#include "collect/source.h"
#include "sink/sink_registry.h"
#include "tables/table_names.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::app {
namespace {

void PrintListeners(const Config& c, const TimeZone& tz, const std::string& path) {
  std::cout << "config: " << path << " (ok)\n"
            << "data_dir: " << c.data_dir << "\n"
            << "time_zone: " << tz.name() << "\n"
            << "listen: " << c.server.listen_host << ":" << c.server.listen_port << "\n"
            << "admin: "
            << (c.admin.enabled ? c.admin.listen_host + ":" + std::to_string(c.admin.listen_port) +
                                      (c.admin.token.empty() ? " (no token)" : " (token set)")
                                : std::string("off"))
            << "\n";
}

void PrintQueueAndSink(const Config& c) {
  queue::DescribeQueueConfig(c.queue, std::cout);
  std::cout << "sink: " << c.sink.type << " " << c.sink.settings->Summary() << "\n";
  if (!c.sink.table_prefix.empty()) std::cout << "  table_prefix: " << c.sink.table_prefix << "\n";
  c.sink.settings->Describe(std::cout);
  std::cout << "load: batches of " << c.load.batch_rows << " rows / " << c.load.batch_bytes
            << " bytes / " << c.load.max_wait.count() << " ms, " << c.load.writers
            << " writer(s)\n";
}

void PrintField(const config::Field& f) {
  std::cout << "    " << f.name << ": " << config::ToString(f.type) << " from "
            << config::ToString(f.from);
  if (!f.source_name.empty() && f.source_name != f.name) std::cout << " '" << f.source_name << "'";
  if (f.required) std::cout << ", required";
  if (f.max_length)
    std::cout << ", max " << f.max_length
              << (f.on_overflow == config::Overflow::kTruncate ? " (truncate)" : " (reject)");
  if (!f.pattern.empty()) std::cout << ", pattern " << f.pattern;
  if (!f.transforms.empty()) {
    std::cout << ", transform ";
    for (std::size_t i = 0; i < f.transforms.size(); ++i)
      std::cout << (i ? "," : "") << config::ToString(f.transforms[i]);
  }
  if (!f.delete_chars.empty()) std::cout << ", delete_chars '" << f.delete_chars << "'";
  if (f.json) std::cout << ", json";
  if (f.ip) std::cout << ", ip";
  if (f.default_value) std::cout << ", default '" << *f.default_value << "'";
  std::cout << "\n";
}

void PrintSites(const Config& c, const TimeZone& tz) {
  const auto now = std::chrono::system_clock::now();
  for (const auto& site : c.sites) {
    std::cout << "\nsite " << site.name << "\n  endpoint: " << collect::DescribeEndpoint(c, site);
    if (site.source) {  // the source's own keys of the site (segment: write keys, limits)
      std::cout << "\n";
      site.source->Describe(std::cout);
      std::cout << "  tables: " << config::ToString(site.tables) << ", due now:";
    } else {
      std::cout << "\n  tables: " << config::ToString(site.tables) << ", due now:";
    }
    for (const auto& t : tables::TablesDueAt(site, c.sink.table_prefix, now, tz))
      std::cout << " " << t;
    std::cout << "\n  fields:\n";
    for (const auto& f : site.schema) PrintField(f);
  }
}

void PrintTasksAndRules(const Config& c, const react::RuleSet& rules) {
  if (c.rules.empty()) return;
  std::cout << "\ntasks: " << c.tasks.type << " " << c.tasks.queue->Where() << ", concurrency "
            << c.tasks.concurrency << ", " << c.tasks.max_attempts << " attempts, backoff "
            << c.tasks.backoff.count() << " ms doubling to " << c.tasks.max_backoff.count()
            << " ms\n";
  c.tasks.queue->Describe(std::cout);
  for (const auto& a : c.actions) {
    std::cout << "action " << a.name << " (" << a.type << ")";
    if (!a.configured) std::cout << " — not configured (no address): its steps are skipped";
    if (a.rate_limit.count)
      std::cout << ", at most " << a.rate_limit.count << " per " << a.rate_limit.per.count()
                << " ms";
    std::cout << "\n";
    a.settings->Describe(std::cout);
  }
  rules.Describe(std::cout);
}

}  // namespace

int CheckCommand(const std::string& path) {
  auto c = LoadConfig(path);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  auto prepared = Prepare(*c, kAllRoles);
  if (!prepared.ok()) {
    std::cerr << prepared.status().message() << "\n";
    return kExitConfig;
  }
  PrintListeners(*c, prepared->tz, path);
  PrintQueueAndSink(*c);
  PrintSites(*c, prepared->tz);
  PrintTasksAndRules(*c, prepared->rules);
  return 0;
}

}  // namespace oceanus::app
