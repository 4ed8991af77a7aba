// The exact bytes of every answer, written straight into a per-connection buffer.
//
// Responses are assembled by hand rather than through beast::http::response: the beacon
// answer is the same few hundred bytes every time, and building it through a fields
// container would cost allocations per request on the hottest path. Headers follow the
// original (SEED_NOTES.md): no-cache trio and Access-Control-Allow-Origin on every answer.
#pragma once

#include <string>
#include <string_view>

#include "collect/collector.h"

namespace oceanus::http {

// The 1x1 transparent GIF (43 bytes), the same image nginx's empty_gif serves.
std::string_view TransparentGif();

// Appends a complete HTTP/1.1 response for `outcome` to `out`.
void AppendResponse(std::string& out, const collect::Outcome& outcome, bool keep_alive,
                    std::string_view date);

// Status line reason phrase.
std::string_view ReasonPhrase(int status);

}  // namespace oceanus::http
