// The canonical form of `json: true` event fields, and how deep they may nest. (RapidJSON
// does the parsing; the UTF-8 checks and string escaping are util/json.h.)
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace oceanus::event {

// How deep `json: true` fields may nest; deeper text is refused when stored, and not looked
// into by templates (react/template.cpp), so that no recursive walk can overflow the stack.
constexpr int kMaxJsonDepth = 64;

// Parses `in` as JSON and writes its canonical form to `out`: compact, object keys sorted
// (by bytes), a repeated key keeping its last value (as Python's json.loads does), numbers
// exactly as written. The error says why the text is not JSON.
Status CanonicalJson(std::string_view in, std::string& out);

}  // namespace oceanus::event
