// Base64 (RFC 4648): the standard alphabet with padding (MIME bodies, RFC 2047 headers) and
// the URL-safe alphabet without padding (JWTs).
#pragma once

#include <string>
#include <string_view>

namespace oceanus {

enum class Base64Alphabet { kStandard, kUrlNoPadding };

std::string EncodeBase64(std::string_view bytes,
                         Base64Alphabet alphabet = Base64Alphabet::kStandard);

}  // namespace oceanus
