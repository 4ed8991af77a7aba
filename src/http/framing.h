// The checks a request's framing headers need once its header is read and before its body
// is: plain functions of header values, so that they are tested without sockets.
//
// Transfer-Encoding (RFC 9112 §6.1): the only transfer coding implemented is chunked, which
// RequestParser decodes. Anything else would be handed on still encoded ("gzip, chunked" read as if
// it were plain), so it is refused: 501 for a coding not implemented, 400 when chunked is not the
// last coding (the body's length cannot be known), and 400 for any Transfer-Encoding in an HTTP/1.0
// request (a 1.0 message with one MUST be treated as faulty). Each closes the connection: the rest
// of the stream cannot be framed.
//
// Expect: 100-continue (RFC 9110 §10.1.1): the client waits for "100 Continue" before it
// sends the body; without one, curl and others stall for a second.
#pragma once

#include <optional>
#include <string_view>

namespace oceanus::http {

struct Refusal {
  int status;
  std::string_view reason;  // the answer's body, a static string
};

// `version`: 10 or 11; `transfer_encoding`: every field line combined (FieldLines), `present`
// whether the request has the field at all (an empty value is still a faulty framing).
std::optional<Refusal> CheckTransferEncoding(unsigned version, bool present,
                                             std::string_view transfer_encoding);

// True when an HTTP/1.1 request asks for "100 Continue" before it sends its body.
bool ExpectsContinue(unsigned version, std::string_view expect);

// The interim answer sent for it.
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace oceanus::http
