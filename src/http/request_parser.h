// RequestParser: the framing of HTTP/1.1 requests (RFC 9112) over the bytes one connection
// reads, with the buffer those bytes are read into.
//
// Written for the beacon path instead of using Beast's parser, which allocates a node per
// header field and is rebuilt for every request: here the header is scanned once for its end,
// then split into views of the buffer kept in a vector whose capacity stays with the
// connection's exchange, so a keep-alive GET costs no allocation at all. A body is a view of
// the buffer too when it fits there; only a large or chunked body is copied, once.
//
// Strict where leniency lets two parsers disagree about where a request ends (request
// smuggling, RFC 9112 §11.2), so that a proxy in front and oceanus never frame the same bytes
// differently. Each of these is refused with 400 and the connection closed:
//   - a line ended by a bare LF or a CR not followed by LF (§2.2), a control character in a
//     field value, a space before a field's colon (§5.1);
//   - obsolete line folding, a field line starting with a space (§5.2);
//   - Content-Length sent twice (even with the same value) or not a plain decimal (§6.3);
//   - Content-Length together with Transfer-Encoding (§6.1: "ought to be handled as an error");
//   - a Transfer-Encoding other than a single, final `chunked` (framing.h, 501 or 400).
// Empty lines before the request line are skipped (§2.2). Pipelined requests are answered in
// order: the bytes read past one request stay in the buffer for the next (Next()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/framing.h"

namespace oceanus::http {

struct HeaderField {
  std::string_view name;   // as sent
  std::string_view value;  // without the optional whitespace around it
};

// A request's header, as views of the parser's buffer: valid until Next().
struct RequestHead {
  std::string_view method;  // "GET", or any other token
  std::string_view target;
  unsigned version = 11;  // 10 or 11 (a later HTTP/1.x minor version is read as 1.1)
  std::vector<HeaderField> fields;
  std::optional<std::uint64_t> content_length;  // UINT64_MAX when too long to hold
  bool chunked = false;
  bool keep_alive = true;

  // The first line's value of the field `name` (case-insensitive), or empty.
  std::string_view Find(std::string_view name) const;
};

class RequestParser {
 public:
  enum class Result : std::uint8_t {
    kNeedMore,  // read more into ReadSpace(), Commit, Parse again
    kHeader,    // the header is complete: head() is valid; SetBodyLimit, then Parse the body
    kComplete,  // the request is complete: body() is valid
    kRefused,   // refusal() says the answer; the connection closes after it
  };

  // `header_limit`: the bytes a header may have, request line and final empty line included
  // (431 beyond); `buffer_limit` (at least header_limit): the most the buffer grows to, so a
  // body that fits after the header is read in place.
  RequestParser(std::size_t header_limit, std::size_t buffer_limit);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Where the next read goes: never empty while Parse returns kNeedMore.
  std::span<char> ReadSpace();
  void Commit(std::size_t n);

  // Parses what has been read. kHeader is returned once per request, as soon as the header
  // is complete and before any of the body is parsed, so that the body limit (which depends on
  // the target) and `Expect: 100-continue` can be dealt with first.
  Result Parse();
  // The body limit of this request: call after kHeader. A Content-Length over it is refused
  // with 413 by the next Parse, before any of the body is read; a chunked body once it grows
  // past it.
  void SetBodyLimit(std::size_t limit) { body_limit_ = limit; }

  const RequestHead& head() const { return head_; }
  std::string_view body() const { return body_; }
  const Refusal& refusal() const { return refusal_; }
  // The request's target as far as it was read, to tell whose a refused request was:
  // head().target once the request line parsed, else what follows the method on the first
  // line read (possibly cut, or empty).
  std::string_view TargetSoFar() const;

  // Forgets the current request and keeps the bytes read past it: the start of the next one.
  void Next();
  // Forgets everything read (the buffer's capacity is kept).
  void Reset() {
    Next();
    end_ = 0;
  }
  // Bytes of a next request already read (pipelining), or of a request under way.
  bool Buffered() const { return end_ != 0; }
  // Bytes held beyond the read buffer (a copied body): a pool drops a parser that grew large.
  std::size_t Retained() const { return copied_.capacity(); }

 private:
  enum class State : std::uint8_t {
    kHeader,
    kBodyStart,  // the header was reported; the body limit is set
    kBodyInPlace,
    kBodyCopied,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailer,
    kComplete,
    kRefused,
  };

  // What one step of the chunked body did.
  enum class Step : std::uint8_t { kContinue, kNeedMore, kDone };

  Result ParseStep();
  Result ScanHeader();
  Result ParseHeader(std::size_t begin, std::size_t end);
  bool ParseRequestLine(std::string_view line);
  bool ParseField(std::string_view line);
  Result CheckFraming();
  Result StartBody();
  Result ParseChunks();
  Step ChunkSizeLine();
  Step ChunkData();
  Step ChunkDataEnd();
  Step TrailerLines();
  // The next line of the chunked body at pos_ (CRLF excluded) if it is all read; sets a
  // refusal and returns false for a bare LF.
  std::optional<std::string_view> NextLine(bool& bad);
  void Compact();  // drops the chunked body bytes already copied out of the buffer
  void Grow(std::size_t at_least);
  Result Refuse(int status, std::string_view reason);
  Step Stop(int status, std::string_view reason);  // Refuse, within the chunked body

  std::size_t header_limit_;
  std::size_t buffer_limit_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t end_ = 0;         // bytes read
  std::size_t pos_ = 0;         // bytes parsed
  std::size_t scan_ = 0;        // header: where the search for its end resumes
  std::size_t line_start_ = 0;  // header: the line being scanned
  std::size_t header_end_ = 0;
  std::size_t body_limit_ = 0;
  std::uint64_t chunk_left_ = 0;
  std::size_t trailer_bytes_ = 0;
  State state_ = State::kHeader;
  bool header_reported_ = false;
  std::string te_lines_;  // Transfer-Encoding sent on several lines, combined (FieldLines)
  RequestHead head_;
  std::string copied_;  // a body that does not fit in the buffer, or a chunked one
  std::size_t copied_filled_ = 0;
  std::string_view body_;
  Refusal refusal_{400, ""};
};

}  // namespace oceanus::http
