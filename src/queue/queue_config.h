// The queue section of the config: which queue (`type:`, a name in the queue registry), how
// durable, who reads it; the type's own keys are parsed by its factory (queue_registry.h).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "config/parser_fwd.h"

namespace oceanus::queue {

class QueueSettings;

enum class Durability {
  kOs,     // answered once write() returned: survives a crash of oceanus, not of the machine
  kFsync,  // answered after fdatasync (group commit): survives power loss
};

const char* ToString(Durability durability);  // "os" | "fsync"

struct QueueConfig {
  std::string type = "spool";  // a registered queue type
  Durability durability = Durability::kOs;
  std::size_t segment_bytes = 64 * 1024 * 1024;
  // Consumer groups that read every stream; retention waits for all of them.
  std::vector<std::string> groups = {"load"};
  // The type's own settings; set by ParseQueueConfig (null only in a hand-made QueueConfig).
  std::shared_ptr<const QueueSettings> settings;
};

// The queue section; an absent one (undefined node) gives the defaults. The keys of every
// registered type are accepted and checked, and only the chosen type's are used: a `redis:`
// block stays valid under `type: spool`, so switching queues is a one-line change.
QueueConfig ParseQueueConfig(const config::Reader& r, const YAML::Node& node);

// For `oceanus check`: "queue: TYPE (durability D)", the type's headline (redis: its address
// and stream names), "  key: value" lines of the resolved settings, then "groups: …".
void DescribeQueueConfig(const QueueConfig& queue, std::ostream& out);

}  // namespace oceanus::queue
