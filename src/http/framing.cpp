// Transfer-Encoding and Expect checks; see framing.h for the rules and why.
#include "http/framing.h"

#include "util/ascii.h"

namespace oceanus::http {

std::optional<Refusal> CheckTransferEncoding(unsigned version, bool present,
                                             std::string_view transfer_encoding) {
  if (!present) return std::nullopt;
  if (version < 11) return Refusal{400, "Transfer-Encoding in an HTTP/1.0 request\n"};
  bool last_chunked = false;
  int chunked = 0;
  std::string_view rest = transfer_encoding;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view coding = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    coding = TrimOws(coding.substr(0, coding.find(';')));  // parameters do not name the coding
    if (coding.empty()) continue;
    last_chunked = AsciiIEquals(coding, "chunked");
    if (!last_chunked) return Refusal{501, "transfer coding not implemented (only chunked is)\n"};
    ++chunked;
  }
  if (!last_chunked || chunked > 1)
    return Refusal{400, "Transfer-Encoding must name chunked once, as the last coding\n"};
  return std::nullopt;
}

bool ExpectsContinue(unsigned version, std::string_view expect) {
  return version >= 11 && AsciiIEquals(TrimOws(expect), "100-continue");
}

}  // namespace oceanus::http
