// JSON pieces for the event path: string escaping, canonical form of `json: true` fields,
// UTF-8 checks. (RapidJSON does the parsing; nlohmann::json stays off the hot path.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace oceanus::event {

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

// How deep `json: true` fields may nest; deeper text is refused when stored, and not looked
// into by templates (react/template.cpp), so that no recursive walk can overflow the stack.
constexpr int kMaxJsonDepth = 64;

// Parses `in` as JSON and writes its canonical form to `out`: compact, object keys sorted
// (by bytes), a repeated key keeping its last value (as Python's json.loads does), numbers
// exactly as written. The error says why the text is not JSON.
Status CanonicalJson(std::string_view in, std::string& out);

}  // namespace oceanus::event
