// The rejected-events store with the redis queue: a stream per site, <prefix><site>:rejected
// (<prefix>:rejected for requests that named no site), fields at, kind, reason, status,
// detail and payload, so that every process of the deployment writes to and reads from one
// place. Capped after every batch: XTRIM MAXLEN (exactly max_per_site) and MINID (max_age),
// whose answers count what the bound dropped.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "queue/redis/redis_config.h"
#include "queue/rejected.h"
#include "redis/redis_connection.h"

namespace oceanus::queue::redis {

class RedisRejectedStore final : public RejectedStore {
 public:
  // `sites`: the configured site names (List and Count read their streams).
  RedisRejectedStore(const RedisConfig& config, std::vector<std::string> sites, RejectedBound bound)
      : config_(config), sites_(std::move(sites)), bound_(bound) {
    sites_.emplace_back();  // requests that named no site
  }
  Result<std::uint64_t> Add(std::span<const Rejection> batch) override;
  Result<std::vector<Rejection>> List(const RejectedQuery& query) override;
  Result<RejectedCounts> Count() override;
  // XREVRANGE over the stream, XDEL of the entries picked.
  Result<long long> Erase(const std::string& site, const TextMatcher& matches,
                          bool count_only) override;

 private:
  std::string Key(const std::string& site) const;
  // Every entry of `site`'s stream, newest first, to `visit` until it returns false.
  // Every entry of `site`'s stream, newest first, to `visit(id, entry)` until it returns false.
  template <class Visit>
  Status Scan(oceanus::redis::RedisConnection& conn, const std::string& site, Visit&& visit) const;

  const RedisConfig& config_;
  std::vector<std::string> sites_;
  RejectedBound bound_;
  std::unique_ptr<oceanus::redis::RedisConnection> writer_;
};

}  // namespace oceanus::queue::redis
