// HMAC-SHA256 (RFC 2104) for the collector's pseudonyms: a hashed client address, the daily
// visitor id. One keyed hash per request on the I/O threads, so it reuses a per-thread digest
// context instead of OpenSSL's one-shot HMAC(), which allocates a context every call.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace oceanus {

using Sha256Digest = std::array<std::uint8_t, 32>;

// HMAC-SHA256 of the concatenated `parts` under `key` (any length).
Sha256Digest HmacSha256(std::string_view key, std::initializer_list<std::string_view> parts);

// The first `bytes` bytes of `digest` as lower-case hex (2 × bytes characters) into `out`.
void AppendHex(const Sha256Digest& digest, std::size_t bytes, std::string& out);

}  // namespace oceanus
