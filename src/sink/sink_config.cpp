// Parses the sink section (sink/sink_config.h): the common keys here, the rest by the
// factory of each registered type.
#include "sink/sink_config.h"

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/reader.h"
#include "sink/sink_registry.h"

namespace oceanus::sink {
namespace {

// The registered type that a config naming none gets.
std::string DefaultType() {
  for (const auto& [name, factory] : SinkRegistry::Get().all())
    if (factory->IsDefault()) return name;
  return {};
}

}  // namespace

SinkConfig ParseSinkConfig(const config::Reader& r, const YAML::Node& s,
                           const config::Config& shared) {
  const auto& registry = SinkRegistry::Get();
  SinkConfig sink;
  sink.type = DefaultType();
  if (s) {
    std::vector<std::string> keys = {"type", "table_prefix"};
    for (const auto& [name, factory] : registry.all())
      for (auto& key : factory->Keys()) keys.push_back(std::move(key));
    r.ExpectKeys(s, "sink", keys);
    if (s["type"]) {
      sink.type = r.Str(s["type"]);
      if (registry.Find(sink.type) == nullptr)
        r.Fail(s["type"],
               "unknown sink type '" + sink.type + "' (expected one of: " + registry.Types() + ")");
    }
  }
  // Every type reads its own keys, so that a block kept for another type is checked too.
  for (const auto& [name, factory] : registry.all()) {
    auto settings = factory->Parse(r, s, shared, name == sink.type);
    if (name == sink.type) sink.settings = std::move(settings);
  }
  if (s && s["table_prefix"]) {
    sink.table_prefix = r.Str(s["table_prefix"]);
    if (!sink.table_prefix.empty() && !config::ValidName(sink.table_prefix, false))
      r.Fail(s["table_prefix"], "table_prefix must match [a-z_][a-z0-9_]*");
  }
  return sink;
}

}  // namespace oceanus::sink
