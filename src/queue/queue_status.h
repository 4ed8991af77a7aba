// The /rstatus answer every queue type shares the shape of:
//
//   {"queue":"<type>"<the queue's own members>,"sites":{"<site>":{<the site's members>},…}}
//
// Each implementation fills in its members (queue/spool/spool_status.h,
// queue/redis/redis_status.h); the sites are in config order.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "queue/queue.h"

namespace oceanus::queue {

// The members of one JSON object, written in order with their separators.
class JsonMembers {
 public:
  explicit JsonMembers(std::string& out) : out_(out) {}
  // Writes `"key":` (after a comma unless it is the first); the caller appends the value.
  std::string& Key(std::string_view key);

 private:
  std::string& out_;
  bool first_ = true;
};

// `head` appends members after "queue" (each starting with a comma); `site` writes a site's
// members. The text ends with a newline.
std::string QueueStatusJson(const config::Config& shared, std::string_view type,
                            const std::function<void(std::string&)>& head,
                            const std::function<void(SiteId, JsonMembers&)>& site);

}  // namespace oceanus::queue
