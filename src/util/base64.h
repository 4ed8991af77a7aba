// Base64 (RFC 4648): the standard alphabet with padding (MIME bodies, RFC 2047 headers) and
// the URL-safe alphabet without padding (JWTs); decoding of the standard one (HTTP Basic auth).
#pragma once

#include <string>
#include <string_view>

namespace oceanus {

enum class Base64Alphabet { kStandard, kUrlNoPadding };

std::string EncodeBase64(std::string_view bytes,
                         Base64Alphabet alphabet = Base64Alphabet::kStandard);
// Decodes standard Base64 (padding optional) into `out`; false on any other character or a
// length no encoding has (HTTP Basic credentials).
bool DecodeBase64(std::string_view text, std::string& out);

}  // namespace oceanus
