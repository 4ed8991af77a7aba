// SipHash-2-4 and key derivation over libsodium; see keyed_hash.h.
#include "util/keyed_hash.h"

#include <sodium.h>

#include <cstdlib>

namespace oceanus {
namespace {

static_assert(crypto_shorthash_siphashx24_KEYBYTES == sizeof(HashKey));
static_assert(crypto_shorthash_siphashx24_BYTES == sizeof(KeyedDigest));

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

KeyedDigest KeyedHash(const HashKey& key, std::initializer_list<std::string_view> parts) {
  thread_local std::string joined;
  joined.clear();
  for (const std::string_view part : parts) joined.append(part);
  KeyedDigest out{};
  // The buffer is not wiped: it holds what the request's own buffers hold until the next
  // request overwrites both.
  crypto_shorthash_siphashx24(out.data(), Bytes(joined), joined.size(), key.data());
  return out;
}

HashKey DeriveHashKey(std::string_view secret) {
  // Picks libsodium's fastest BLAKE2b for this CPU; SipHash has a single implementation, so
  // KeyedHash needs no initialisation.
  static const int initialised = sodium_init();
  (void)initialised;
  HashKey key{};
  // Only fails for sizes out of BLAKE2b's range, which these are not.
  if (crypto_generichash(key.data(), key.size(), Bytes(secret), secret.size(), nullptr, 0) != 0)
    std::abort();
  return key;
}

void AppendHex(const KeyedDigest& digest, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t at = out.size();
  out.resize(at + 2 * digest.size());
  char* hex = out.data() + at;
  for (const std::uint8_t byte : digest) {
    *hex++ = kHex[byte >> 4];
    *hex++ = kHex[byte & 0xf];
  }
}

}  // namespace oceanus
