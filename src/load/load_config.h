// The load section of the config: how the loader cuts the queue into batches.
#pragma once

#include <chrono>
#include <cstddef>

#include "config/parser_fwd.h"

namespace oceanus::load {

struct LoadConfig {
  std::size_t batch_rows = 500;
  std::size_t batch_bytes = 1024 * 1024;
  std::chrono::milliseconds max_wait{1'000};
  // Batches written at the same time, each by a thread with a connection of its own. 0 in
  // the file's absence: the config parser sets the sink's default (sink_registry.h).
  std::size_t writers = 0;
};

// The load section; an absent one (undefined node) gives the defaults.
LoadConfig ParseLoadConfig(const config::Reader& r, const YAML::Node& node);

}  // namespace oceanus::load
