// The queue section of the config: which queue (spool | redis), how durable, who reads it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "redis/connection_options.h"

namespace YAML {
class Node;
}
namespace oceanus::config {
class Reader;
struct Config;
}  // namespace oceanus::config

namespace oceanus::queue {

enum class Durability {
  kOs,     // answered once write() returned: survives a crash of oceanus, not of the machine
  kFsync,  // answered after fdatasync (group commit): survives power loss
};

// Redis Streams (queue type `redis`): the server (the connection options) and the streams.
struct RedisConfig : redis::ConnectionOptions {
  std::string prefix;    // stream key = <prefix><site>; dead-letter = <prefix><site>:dead
  bool publish = false;  // also PUBLISH each record on channel <site>, as the original did
  std::chrono::milliseconds claim_idle{30'000};  // pending this long in a consumer: claim it
  unsigned max_deliveries = 5;                   // then it goes to the dead-letter stream
  std::chrono::milliseconds trim_every{5'000};
};

struct QueueConfig {
  std::string type = "spool";  // spool | redis
  Durability durability = Durability::kOs;
  std::size_t segment_bytes = 64 * 1024 * 1024;
  // Consumer groups that read every stream; retention waits for all of them.
  std::vector<std::string> groups = {"load"};
  RedisConfig redis;
};

// The queue section; an absent one (undefined node) gives the defaults.
QueueConfig ParseQueueConfig(const config::Reader& r, const YAML::Node& node);

}  // namespace oceanus::queue
