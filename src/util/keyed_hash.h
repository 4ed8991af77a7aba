// The keyed hash of the collector's pseudonyms (a hashed client address, the daily visitor
// id): SipHash-2-4 with a 128-bit key and a 128-bit output (libsodium's
// crypto_shorthash_siphashx24), the PRF Plausible's daily visitor ids use. It is made for
// short inputs under a secret key: without the key an output cannot be recomputed from a
// guessed input, so even the small IPv4 space cannot be searched. It runs once or twice per
// request on the I/O threads, where it costs about a tenth of HMAC-SHA256 over OpenSSL's EVP.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace oceanus {

using HashKey = std::array<std::uint8_t, 16>;
using KeyedDigest = std::array<std::uint8_t, 16>;

// The hash of the concatenated `parts` under `key`. The parts are joined in a per-thread
// buffer, so no call allocates once that buffer has grown to the longest input.
KeyedDigest KeyedHash(const HashKey& key, std::initializer_list<std::string_view> parts);

// A key made from a secret of any length (BLAKE2b of it), for secrets given as text.
HashKey DeriveHashKey(std::string_view secret);

// `digest` as lower-case hex (32 characters) into `out`.
void AppendHex(const KeyedDigest& digest, std::string& out);

}  // namespace oceanus
