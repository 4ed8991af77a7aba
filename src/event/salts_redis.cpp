// The daily salts through Redis; see salts_redis.h.
#include "event/salts_redis.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <utility>

namespace oceanus::event {
namespace {

// KEYS[1] the day's key; ARGV[1] a new salt, ARGV[2] when it expires (unix seconds). Answers
// the salt every collector uses for the day: the first one set.
constexpr const char* kAgree = R"lua(
local salt = redis.call('GET', KEYS[1])
if not salt then
  salt = ARGV[1]
  redis.call('SET', KEYS[1], salt, 'EXAT', ARGV[2])
end
return salt
)lua";

std::string Hex(const Salt& salt) {
  std::string out;
  AppendHex(salt, out);
  return out;
}

bool FromHex(std::string_view hex, Salt& salt) {
  if (hex.size() != 2 * salt.size()) return false;
  for (std::size_t i = 0; i < salt.size(); ++i) {
    unsigned v = 0;
    for (char c : hex.substr(2 * i, 2)) {
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else
        return false;
    }
    salt[i] = static_cast<std::uint8_t>(v);
  }
  return true;
}

}  // namespace

SharedSalts::SharedSalts(redis::ConnectOptions options, std::string key_prefix)
    : options_(std::move(options)), key_prefix_(std::move(key_prefix)) {}

Status SharedSalts::Sync(DailySalts& salts, std::chrono::system_clock::time_point now) {
  const std::int64_t today = std::chrono::floor<std::chrono::days>(now).time_since_epoch().count();
  while (!provided_.empty() && *provided_.begin() < today) provided_.erase(provided_.begin());
  for (const std::int64_t day : {today, today + 1}) {
    if (provided_.count(day)) continue;
    if (!conn_ || conn_->broken()) {
      auto c = redis::RedisConnection::Connect(options_);
      if (!c.ok()) return c.status();
      conn_ = std::move(c).value();
    }
    Salt fresh{};
    if (RAND_bytes(fresh.data(), static_cast<int>(fresh.size())) != 1)
      return Status::Internal("no random bytes for a salt");
    const std::string expires = std::to_string((day + 1) * 86400 + 600);
    auto agreed = conn_->Command(
        {"EVAL", kAgree, "1", key_prefix_ + "salt:" + std::to_string(day), Hex(fresh), expires});
    OPENSSL_cleanse(fresh.data(), fresh.size());
    if (!agreed.ok()) return agreed.status();
    Salt salt{};
    if (!FromHex(redis::ReplyString(agreed->get()), salt))
      return Status::Corruption("redis key " + key_prefix_ + "salt:" + std::to_string(day) +
                                " is not a salt");
    salts.Provide(day, salt);
    OPENSSL_cleanse(salt.data(), salt.size());
    provided_.insert(day);
  }
  return Status::Ok();
}

}  // namespace oceanus::event
