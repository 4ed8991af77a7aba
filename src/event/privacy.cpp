// Privacy rewrites of the collector; see privacy.h.
#include "event/privacy.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "util/keyed_hash.h"

namespace oceanus::event {

DailySalts::~DailySalts() {
  OPENSSL_cleanse(salt_.data(), salt_.size());
  for (auto& [day, salt] : provided_) OPENSSL_cleanse(salt.data(), salt.size());
}

Salt DailySalts::ForDay(std::int64_t day) {
  std::lock_guard<std::mutex> lock(mu_);
  if (day > day_) {
    if (auto it = provided_.find(day); it != provided_.end()) {
      salt_ = it->second;
    } else if (RAND_bytes(salt_.data(), static_cast<int>(salt_.size())) != 1) {
      // RAND_bytes only fails without an entropy source, which OpenSSL checks at start; a
      // salt that could not be made must not be a predictable one: that ends the process.
      std::abort();
    }
    day_ = day;
    for (auto it = provided_.begin(); it != provided_.end() && it->first <= day;) {
      OPENSSL_cleanse(it->second.data(), it->second.size());
      it = provided_.erase(it);
    }
  }
  return salt_;
}

void DailySalts::Provide(std::int64_t day, const Salt& salt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (day > day_) provided_[day] = salt;
}

SaltCache::~SaltCache() { OPENSSL_cleanse(salt_.data(), salt_.size()); }

const Salt& SaltCache::Get(DailySalts& salts, std::int64_t day) {
  if (day != day_ || source_ != &salts) {
    salt_ = salts.ForDay(day);
    day_ = day;
    source_ = &salts;
  }
  return salt_;
}

void AppendVisitorHash(const Salt& salt, std::string_view site, std::string_view client_ip,
                       std::string_view user_agent, std::string& out) {
  static constexpr char kSeparator = '\0';
  const std::string_view sep(&kSeparator, 1);
  AppendHex(KeyedHash(salt, {site, sep, client_ip, sep, user_agent}), out);
}

IpAddress TruncateAddress(const IpAddress& ip, unsigned v4_bits, unsigned v6_bits) {
  // Over the 128-bit (IPv4-mapped) form: an IPv4 prefix starts after the 96-bit mapping.
  const unsigned keep = ip.is_v4() ? 96 + v4_bits : v6_bits;
  std::array<std::uint8_t, 16> bytes = ip.bytes();
  for (unsigned bit = keep; bit < 128; ++bit)
    bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return IpAddress::FromV6(bytes);
}

bool ApplyIpPrivacy(const config::Privacy& privacy, std::string& value) {
  switch (privacy.ip) {
    case config::IpPrivacy::kKeep:
      return true;
    case config::IpPrivacy::kDrop:
      return false;
    case config::IpPrivacy::kHash: {
      IpAddress ip;
      const KeyedDigest digest =
          IpAddress::Parse(value, ip)
              ? KeyedHash(privacy.ip_hash_key,
                          {std::string_view(reinterpret_cast<const char*>(ip.bytes().data()),
                                            ip.bytes().size())})
              : KeyedHash(privacy.ip_hash_key, {value});
      value.clear();
      AppendHex(digest, value);
      return true;
    }
    case config::IpPrivacy::kTruncate: {
      IpAddress ip;
      if (!IpAddress::Parse(value, ip)) return false;
      char buf[64];
      value.assign(buf, TruncateAddress(ip, privacy.ipv4_prefix, privacy.ipv6_prefix).Format(buf));
      return true;
    }
  }
  return true;
}

}  // namespace oceanus::event
