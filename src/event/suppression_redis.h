// The suppression list (event/suppression.h) in Redis, for the redis queue: one list key,
// <key_prefix>suppressed, whose elements are the lines of the text, so that every collector and
// loader of the deployment withholds what one `oceanus erase` added, wherever it ran.
//
// ReadIfChanged asks LLEN and reads the list (LRANGE) only when its length moved: lines are only
// appended. Append creates the header and reads it back in one Lua script (of two erasures at
// once, one creates it), then RPUSHes the line.
#pragma once

#include <memory>
#include <string>

#include "event/suppression.h"
#include "redis/redis_connection.h"
#include "redis/redis_options.h"

namespace oceanus::event {

class RedisSuppressionStore final : public SuppressionList::Store {
 public:
  RedisSuppressionStore(redis::ConnectOptions options, std::string key);
  Result<std::optional<std::string>> ReadIfChanged() override;
  Status Append(const std::string& header,
                const std::function<Result<std::string>(std::string_view)>& line_for) override;
  std::string Describe() const override;

 private:
  Status Connected();

  const redis::ConnectOptions options_;
  const std::string key_;
  std::unique_ptr<redis::RedisConnection> conn_;
  long long length_ = -1;  // of the list when last read
};

}  // namespace oceanus::event
