// Fuzzes the HTTP/1.1 request parser (http::RequestParser) with arbitrary bytes, as a client or
// a proxy in front could send them on one keep-alive connection. The first byte chooses how
// the rest is cut into reads. Invariants: parsing never reads or writes out of bounds and
// always ends (every kNeedMore is followed by bytes or by the end of the input); the requests
// and the refusal are the same however the bytes are cut, since a request's framing must not
// depend on how TCP segments it (the point of request smuggling is that it does); a complete
// request's method is a token, its field values hold no CR, LF or NUL, its body is within the
// body limit, and a request is never framed with both a length and chunked; a refusal's status
// is one of 400, 413, 431 and 501.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "http/request_parser.h"

namespace {

using oceanus::http::RequestParser;
using Result = RequestParser::Result;

constexpr std::size_t kHeaderLimit = 2048;
constexpr std::size_t kBufferLimit = 4096;
constexpr std::size_t kBodyLimit = 8192;

// Everything one connection's bytes parsed into, as text, to compare two ways of reading.
std::string ParseAll(std::string_view bytes, std::size_t step) {
  RequestParser parser(kHeaderLimit, kBufferLimit);
  std::string out;
  while (true) {
    Result r = parser.Parse();
    if (r == Result::kHeader) {
      parser.SetBodyLimit(kBodyLimit);
      r = parser.Parse();
    }
    if (r == Result::kNeedMore) {
      if (bytes.empty()) return out + "[incomplete]";
      auto space = parser.ReadSpace();
      FUZZ_CHECK(!space.empty(), "no room to read into while a request is incomplete");
      const std::size_t n = std::min({space.size(), step, bytes.size()});
      std::memcpy(space.data(), bytes.data(), n);
      parser.Commit(n);
      bytes.remove_prefix(n);
      continue;
    }
    if (r == Result::kRefused) {
      const int status = parser.refusal().status;
      FUZZ_CHECK(status == 400 || status == 413 || status == 431 || status == 501, "status %d",
                 status);
      return out + "[refused " + std::to_string(status) + "]";
    }
    FUZZ_CHECK(r == Result::kComplete, "unexpected result %d", static_cast<int>(r));
    const auto& head = parser.head();
    FUZZ_CHECK(!head.method.empty(), "empty method");
    FUZZ_CHECK(!(head.chunked && head.content_length), "framed by a length and by chunks");
    FUZZ_CHECK(parser.body().size() <= kBodyLimit, "body of %zu bytes", parser.body().size());
    out += std::string(head.method) + ' ' + std::string(head.target) + '\n';
    for (const auto& f : head.fields) {
      FUZZ_CHECK(f.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos,
                 "a field value holds CR, LF or NUL");
      out += std::string(f.name) + ':' + std::string(f.value) + '\n';
    }
    out += std::to_string(parser.body().size()) + ':' + std::string(parser.body()) + '\n';
    out += head.keep_alive ? "keep\n" : "close\n";
    if (!head.keep_alive) return out;  // the session would close here
    parser.Next();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = data[0] == 0 ? 1 : data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string whole = ParseAll(bytes, SIZE_MAX);
  const std::string cut = ParseAll(bytes, step);
  const std::string bytewise = ParseAll(bytes, 1);
  FUZZ_CHECK(whole == cut, "reads of %zu bytes parse differently:\n%s\n--- whole:\n%s", step,
             cut.c_str(), whole.c_str());
  FUZZ_CHECK(whole == bytewise, "byte-by-byte reads parse differently:\n%s\n--- whole:\n%s",
             bytewise.c_str(), whole.c_str());
  return 0;
}
