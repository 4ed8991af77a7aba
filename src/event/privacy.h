// What a site keeps of who sent an event (docs/PRIVACY.md): the client address rewritten by
// privacy.ip, and the cookieless visitor id of fields `from: visitor_hash`.
//
// The visitor id is KeyedHash(salt of the day, site \0 address \0 User-Agent), 32 hex
// characters, as Plausible counts visitors without cookies: stable for one visitor within a
// UTC day, unrelated across days and sites. The salt is random, made when the day's first
// event arrives, held only in memory and overwritten when the next day's replaces it, so an
// id cannot be reversed or linked to another day's once its day is over. With the redis
// queue the collectors share each day's salt through Redis, where it expires soon after its
// day (event/salts_redis.h).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "config/config.h"
#include "util/keyed_hash.h"
#include "util/net.h"

namespace oceanus::event {

using Salt = HashKey;  // a SipHash key: 128 random bits

// The salt of each day, one at a time; shared by the I/O threads of a collector. Each thread
// keeps a copy (SaltCache), so the lock is taken once per thread and day.
class DailySalts {
 public:
  DailySalts() = default;
  DailySalts(const DailySalts&) = delete;
  DailySalts& operator=(const DailySalts&) = delete;
  ~DailySalts();

  // The salt of `day` (days since 1970-01-01, UTC); a new random one when `day` is later than
  // the held one, which is then destroyed. An earlier day (a thread's clock a little behind
  // at midnight) gets the held salt: a salt is never made again for a day that is over.
  Salt ForDay(std::int64_t day);

  // A salt for `day` that the collectors agreed on (event/salts_redis.h), taken by ForDay when
  // that day begins here instead of a random one. Ignored for a day begun or over here: one
  // collector never changes a day's salt, so its ids stay stable within the day.
  void Provide(std::int64_t day, const Salt& salt);

 private:
  std::mutex mu_;
  std::int64_t day_ = -1;
  Salt salt_{};
  std::map<std::int64_t, Salt> provided_;  // days not begun yet (today and tomorrow at most)
};

// One I/O thread's copy of the day's salt.
class SaltCache {
 public:
  SaltCache() = default;
  SaltCache(const SaltCache&) = delete;
  SaltCache& operator=(const SaltCache&) = delete;
  ~SaltCache();
  const Salt& Get(DailySalts& salts, std::int64_t day);

 private:
  const DailySalts* source_ = nullptr;
  std::int64_t day_ = -1;
  Salt salt_{};
};

// The visitor id of (site, client address, User-Agent) under `salt`, appended to `out`.
void AppendVisitorHash(const Salt& salt, std::string_view site, std::string_view client_ip,
                       std::string_view user_agent, std::string& out);

// `value` (an address, canonical text) as privacy.ip keeps it: truncated to its network, a
// keyed hash, or (false) not stored. kKeep leaves it. False also when `value` is no address
// and the mode is truncate (nothing of it can be kept safely).
bool ApplyIpPrivacy(const config::Privacy& privacy, std::string& value);

// The network of `ip` with `v4_bits` (IPv4) or `v6_bits` (IPv6) of prefix kept.
IpAddress TruncateAddress(const IpAddress& ip, unsigned v4_bits, unsigned v6_bits);

}  // namespace oceanus::event
