// What the roles are built from, derived from the config before any stage starts.
//
// Everything `run` derives from the config before it starts a stage — time zone, rules, the
// collector (networks, tracker script, event builders), the device regexes, what the sink
// resolves at start (SinkSettings::Prepare: a project, a key probe) and the actions' Google
// credentials — is built by one function, Prepare, which `check` calls too:
// whatever `run` would refuse, `check` refuses.
#pragma once

#include <memory>
#include <string>

#include "app/commands.h"
#include "app/config.h"
#include "collect/collector.h"
#include "event/suppression.h"
#include "react/rules.h"
#include "sink/history.h"
#include "sink/sink.h"
#include "util/status.h"
#include "util/time.h"

namespace oceanus::app {

// The file with the command-line overrides applied (and checked as the file's values are).
Result<Config> LoadWithOverrides(const std::string& path, const Overrides& overrides);

struct Prepared {
  TimeZone tz;
  react::RuleSet rules;
  std::shared_ptr<const collect::Collector> collector;  // roles.collect
  // The erased people (`oceanus erase`) whose events the collector and the loader withhold;
  // read once here, then again by a timer thread while running.
  std::shared_ptr<event::SuppressionList> suppressed;
  // The collector's salts of the day, which the housekeeping thread fills from Redis when the
  // queue has one every collector reaches (event/salts_redis.h).
  std::shared_ptr<event::DailySalts> salts = std::make_shared<event::DailySalts>();
};

// Builds what the given roles need from the config, validating as it goes. `check` passes
// every role. Errors are config errors (exit 2).
Result<Prepared> Prepare(Config& config, const Roles& roles);

// Where the suppression list of erased people is kept: with a queue whose Redis every process
// reaches, a Redis list; else the data dir's file.
std::unique_ptr<event::SuppressionList::Store> SuppressionStoreFor(const Config& config);

// The warehouse the config names, opened for writing.
Result<std::unique_ptr<sink::Sink>> OpenSink(const Config& config);
// What reports read history from: the sink's own query, through a connection of its own.
Result<std::unique_ptr<sink::HistorySource>> OpenHistory(const Config& config, const TimeZone& tz);

}  // namespace oceanus::app
