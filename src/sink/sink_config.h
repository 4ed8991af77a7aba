// The sink section of the config: which warehouse the loader writes to, and its settings.
//
// The section's common keys are read here; `type:` picks a registered sink type
// (sink/sink_registry.h), whose factory parses the rest of the section (sink/<type>/).
#pragma once

#include <memory>
#include <string>

#include "config/parser_fwd.h"

namespace oceanus::sink {

class SinkSettings;

struct SinkConfig {
  std::string type;  // a registered sink type; absent in the file: the default type's name
  std::string table_prefix;
  std::shared_ptr<SinkSettings> settings;  // the type's own; never null after parsing
};

// The sink section; an absent one gives the default type with its defaults. An unknown type
// fails at its position, listing the registered types.
SinkConfig ParseSinkConfig(const config::Reader& r, const YAML::Node& node,
                           const config::Config& shared);

}  // namespace oceanus::sink
