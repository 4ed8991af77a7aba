// Bounded inflation with zlib; see inflate.h.
#include "util/inflate.h"

#include <zlib.h>

#include <algorithm>

namespace oceanus {
namespace {

// One pass of zlib over `in` with window bits `window` (31: gzip, 15: zlib, -15: raw).
InflateResult Run(std::string_view in, std::size_t limit, std::string& out, int window) {
  out.clear();
  z_stream z{};
  if (inflateInit2(&z, window) != Z_OK) return InflateResult::kCorrupt;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  InflateResult result = InflateResult::kOk;
  char chunk[16384];
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = sizeof chunk - z.avail_out;
    if (out.size() + produced > limit) {
      result = InflateResult::kTooLarge;
      break;
    }
    out.append(chunk, produced);
    if (rc == Z_STREAM_END) {
      // gzip allows members one after another (RFC 1952 §2.2): go on with the next one.
      if (window == 31 && z.avail_in > 0) {
        if (inflateReset(&z) != Z_OK) {
          result = InflateResult::kCorrupt;
          break;
        }
        continue;
      }
      if (z.avail_in > 0) result = InflateResult::kCorrupt;
      break;
    }
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced > 0)) {
      result = InflateResult::kCorrupt;
      break;
    }
    if (z.avail_in == 0 && produced == 0) {  // input ended before the stream did
      result = InflateResult::kCorrupt;
      break;
    }
  }
  inflateEnd(&z);
  return result;
}

}  // namespace

InflateResult Inflate(std::string_view in, std::size_t limit, std::string& out, bool zlib_or_raw) {
  if (!zlib_or_raw) return Run(in, limit, out, 31);
  const InflateResult zlib = Run(in, limit, out, 15);
  if (zlib != InflateResult::kCorrupt) return zlib;
  return Run(in, limit, out, -15);
}

}  // namespace oceanus
