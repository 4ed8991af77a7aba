// Text helpers for writing JSON by hand: UTF-8 checks and JSON string literals. They depend on
// nothing else, so that the log writer (util/logging.cpp) and every stage can use them; the
// canonical form of `json: true` event fields is event/json.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace oceanus {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);
// Number of code points in valid UTF-8.
std::size_t Utf8Length(std::string_view s);
// Byte length of the first `max_code_points` code points of valid UTF-8.
std::size_t Utf8PrefixBytes(std::string_view s, std::size_t max_code_points);

// Appends `s` as a JSON string literal (quotes included). Non-ASCII UTF-8 is kept as is;
// control characters, quotes and backslashes are escaped.
void AppendJsonString(std::string& out, std::string_view s);
// As AppendJsonString, for text that may not be UTF-8 (a request target, a warehouse value):
// each byte that does not begin a well-formed sequence becomes U+FFFD, so that the output is
// valid JSON (RFC 8259 §8.1) whatever the input. Valid UTF-8 is written exactly as above.
void AppendJsonStringLossy(std::string& out, std::string_view s);

}  // namespace oceanus
