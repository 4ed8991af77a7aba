// The tables section of the config: how often the table manager ensures the tables due.
#pragma once

#include <chrono>

#include "config/parser_fwd.h"

namespace oceanus::tables {

struct TablesConfig {
  std::chrono::milliseconds check_every{30'000};
};

// The tables section; an absent one (undefined node) gives the defaults.
TablesConfig ParseTablesConfig(const config::Reader& r, const YAML::Node& node);

}  // namespace oceanus::tables
