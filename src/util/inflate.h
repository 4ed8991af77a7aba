// Decompressing request bodies (Content-Encoding: gzip or deflate) with a hard limit on the
// output, so that a small body that inflates to gigabytes (a zip bomb) costs at most `limit`
// bytes of memory and is refused as too large, never read to the end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace oceanus {

enum class InflateResult { kOk, kTooLarge, kCorrupt };

// Inflates `in` (a gzip stream, several members allowed, or with `zlib_or_raw` a zlib or
// raw deflate stream, as HTTP's "deflate" is sent both ways) into `out`. kTooLarge as soon as
// the output would pass `limit` bytes; kCorrupt for anything that is not a whole stream.
InflateResult Inflate(std::string_view in, std::size_t limit, std::string& out,
                      bool zlib_or_raw = false);

}  // namespace oceanus
