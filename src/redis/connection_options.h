// Where a Redis server is and how long to wait for it: what every user of the Redis client
// (the redis queue, the rules' shared guards, replay) connects with.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace oceanus::redis {

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;
  unsigned db = 0;
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds command_timeout{1'000};
};

}  // namespace oceanus::redis
