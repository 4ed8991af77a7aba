// Where a Redis is and how to talk to it: what every user of the client (the Redis queue,
// the reactors' shared guards) needs to open a connection, and nothing of what it stores.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace oceanus::redis {

struct ConnectOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;  // empty: no AUTH
  unsigned db = 0;       // 0: no SELECT
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds command_timeout{1'000};
};

}  // namespace oceanus::redis
