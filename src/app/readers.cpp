// OpenReaders (app/process.h): the queue's readers of one consumer group, one per site.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "app/process.h"

namespace oceanus::app {
namespace {

// "host-pid": the consumer name in Redis consumer groups, unique per process.
std::string ConsumerName() {
  char host[256] = "oceanus";
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

}  // namespace

Result<std::vector<std::unique_ptr<queue::QueueReader>>> OpenReaders(const Config& config,
                                                                     queue::Spool* spool,
                                                                     const std::string& group) {
  std::vector<std::unique_ptr<queue::QueueReader>> readers;
  const std::string consumer = ConsumerName();
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    if (config.queue.type == "redis") {
      readers.push_back(std::make_unique<queue::redis::RedisReader>(config, i, group, consumer));
      continue;
    }
    auto reader = spool->OpenReader(i, group);
    if (!reader.ok()) {
      spdlog::critical("spool reader for {} ({}): {}", config.sites[i].name, group,
                       reader.status().ToString());
      return reader.status();
    }
    readers.push_back(std::move(reader).value());
  }
  return readers;
}

}  // namespace oceanus::app
