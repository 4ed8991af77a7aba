// The sink kind's interfaces for the registry (config/registry.h): what a sink type parses
// from the sink section, and what its parsed settings open.
//
// A sink type is one folder (sink/sqlite/, sink/bigquery/) holding its settings, its parser, a
// SinkFactory and the line that registers it:
//
//   OCEANUS_REGISTER(sink::SinkFactory, MyWarehouseSinkFactory, "my_warehouse");
//
// The sink section's common keys (`type`, `table_prefix`) are read by sink/sink_config.cpp;
// every other key of the section belongs to one type. The core (config loader, prepare, the
// load/tables/work/admin roles, `oceanus check`) sees only these interfaces.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "config/parser_fwd.h"
#include "config/registry.h"
#include "sink/history.h"
#include "sink/sink.h"
#include "util/status.h"
#include "util/time.h"

namespace oceanus::sink {

// One sink type's parsed, validated settings. Describe (ComponentSettings) prints them
// resolved, one "  key: value" line each, for `oceanus check`.
class SinkSettings : public config::ComponentSettings {
 public:
  // What `oceanus check` prints after "sink: TYPE ": where the rows go, e.g. the file
  // "/var/lib/oceanus/oceanus.db" or "project P (from ORIGIN), dataset D". Meaningful once
  // Prepare has run (check runs it).
  virtual std::string Summary() const = 0;

  // The --data-dir flag moved data_dir from `from` to `to`: values that default to a place
  // under data_dir follow it; values the file gives explicitly elsewhere stay.
  virtual void MoveDataDir(const std::string& from, const std::string& to) = 0;

  // Resolves what is found only at start and tries the credentials (no token is fetched, no
  // table touched), before any stage starts. Called by the roles that use the warehouse (load,
  // tables, work: history reports) and by `check`; a collector never calls it. An error is a
  // config error, its message prefixed with the file name by the caller.
  virtual Status Prepare() = 0;

  // The warehouse, opened for writing (the loader's; one thread at a time). Fails with a
  // message naming what could not be opened.
  virtual Result<std::unique_ptr<Sink>> Open() const = 0;
  // How many sinks opened from these settings may write at the same time, one thread each
  // (`load.writers`): a warehouse that takes one writer at a time says 1. The default
  // `load.writers` is this, up to kDefaultWriters.
  virtual std::size_t MaxWriters() const { return 64; }
  static constexpr std::size_t kDefaultWriters = 2;

  // What reports and the visitor timeline read a subject's events from, through a connection
  // of its own (the loader keeps writing through its own). Table names are built from
  // `table_prefix` and the site in `tz`, as the loader builds them.
  virtual Result<std::unique_ptr<HistorySource>> OpenHistory(const std::string& table_prefix,
                                                             const TimeZone& tz) const = 0;
};

// Parses one sink type's keys of the sink section. Registered under the type's name.
class SinkFactory {
 public:
  virtual ~SinkFactory() = default;

  // The keys of the sink section this type takes, besides the common `type` and
  // `table_prefix` (the section's key check accepts the keys of every registered type).
  virtual std::vector<std::string> Keys() const = 0;

  // The type used when the config names none (no sink section, or no `type:`). Exactly one
  // registered type says so: the embedded one.
  virtual bool IsDefault() const { return false; }

  // Reads and validates this type's keys of `section` (undefined: the file has no sink
  // section), failing through `r` with the key's file:line:col. `selected` is false when the
  // section names another type: what is written is still checked (a mistake in a block kept
  // for later is found now), but nothing is required. Never returns null.
  virtual std::shared_ptr<SinkSettings> Parse(const config::Reader& r, const YAML::Node& section,
                                              const config::Config& shared,
                                              bool selected) const = 0;
};

using SinkRegistry = config::Registry<SinkFactory>;

}  // namespace oceanus::sink
