// HTTP/1.1 request framing; see request_parser.h for what is refused and why.
#include "http/request_parser.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "http/field_lines.h"
#include "util/ascii.h"

namespace oceanus::http {

namespace {

constexpr std::string_view kMalformed = "malformed HTTP request\n";
constexpr std::string_view kBadChunks = "malformed chunked body\n";
constexpr std::size_t kFirstCapacity = 4096;
// A chunk-size line (size and extensions): more than this is not a client's honest mistake.
constexpr std::size_t kMaxChunkLine = 1024;

// tchar (RFC 9110 §5.6.2): the bytes of a method or a field name.
constexpr std::array<bool, 256> kToken = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!kToken[static_cast<unsigned char>(c)]) return false;
  return true;
}

// Whether every byte of `s` is at least `floor` and not DEL (0x7f), HTAB allowed where `tab`;
// bytes from 0x80 up (obs-text, raw UTF-8) pass. Eight bytes at a time: a block that may
// hold a byte below `floor` or DEL is looked at byte by byte (in practice only one with a tab).
bool AllAtLeast(std::string_view s, unsigned char floor, bool tab) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  // Exact for "some byte of x is below n" (n <= 0x80), the classic SWAR test.
  const auto any_below = [&](std::uint64_t x, std::uint64_t n) {
    return ((x - kOnes * n) & ~x & kHighs) != 0;
  };
  const auto byte_ok = [&](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= floor || (tab && c == '\t')) && c != 0x7f;
  };
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    if (!any_below(x, floor) && !any_below(x ^ (kOnes * 0x7f), 1)) continue;
    for (int i = 0; i < 8; ++i)
      if (!byte_ok(p[i])) return false;
  }
  for (; n > 0; ++p, --n)
    if (!byte_ok(*p)) return false;
  return true;
}

// field-vchar, SP and HTAB (RFC 9110 §5.5): no other control character, CR and LF included.
bool IsFieldValue(std::string_view s) { return AllAtLeast(s, 0x20, true); }

// A request-target's bytes: anything visible (obs-text too: beacons carry raw UTF-8).
bool IsTarget(std::string_view s) { return !s.empty() && AllAtLeast(s, 0x21, false); }

// 1*DIGIT, saturating at UINT64_MAX (a length that large is over any limit).
std::optional<std::uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    n = n > (UINT64_MAX - digit) / 10 ? UINT64_MAX : n * 10 + digit;
  }
  return n;
}

// Whether a Connection field's comma-separated list names `option`.
bool ListNames(std::string_view list, std::string_view option) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (AsciiIEquals(TrimOws(list.substr(0, comma)), option)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string_view RequestHead::Find(std::string_view name) const {
  for (const auto& f : fields)
    if (AsciiIEquals(f.name, name)) return f.value;
  return {};
}

RequestParser::RequestParser(std::size_t header_limit, std::size_t buffer_limit)
    : header_limit_(header_limit), buffer_limit_(std::max(buffer_limit, header_limit)) {}

std::span<char> RequestParser::ReadSpace() {
  if (state_ == State::kBodyCopied)
    return {copied_.data() + copied_filled_, copied_.size() - copied_filled_};
  if (end_ == capacity_) Grow(end_ + 1);
  return {buffer_.get() + end_, capacity_ - end_};
}

void RequestParser::Commit(std::size_t n) {
  if (state_ == State::kBodyCopied) {
    copied_filled_ += n;
  } else {
    end_ += n;
  }
}

// Doubles the buffer (at least to `at_least`, at most to buffer_limit_). The head's views are
// moved with the bytes they point into.
void RequestParser::Grow(std::size_t at_least) {
  std::size_t capacity = std::max(capacity_ == 0 ? kFirstCapacity : capacity_ * 2, at_least);
  capacity = std::min(capacity, buffer_limit_);
  if (capacity <= capacity_) return;
  auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
  if (end_ != 0) std::memcpy(bigger.get(), buffer_.get(), end_);
  // Views of the old buffer move with its bytes; others (a copied body) stay as they are.
  const char* old_begin = buffer_.get();
  const char* old_end = old_begin + capacity_;
  const auto moved = [&](std::string_view v) {
    if (v.data() == nullptr || v.data() < old_begin || v.data() >= old_end) return v;
    return std::string_view(bigger.get() + (v.data() - old_begin), v.size());
  };
  head_.method = moved(head_.method);
  head_.target = moved(head_.target);
  for (auto& f : head_.fields) {
    f.name = moved(f.name);
    f.value = moved(f.value);
  }
  body_ = moved(body_);
  buffer_ = std::move(bigger);
  capacity_ = capacity;
}

std::string_view RequestParser::TargetSoFar() const {
  if (!head_.target.empty()) return head_.target;
  const std::size_t stop = std::min(end_, pos_ + header_limit_);
  if (!buffer_ || stop <= pos_) return {};
  std::string_view read(buffer_.get() + pos_, stop - pos_);
  read = read.substr(0, read.find_first_of("\r\n"));
  const auto sp1 = read.find(' ');
  if (sp1 == std::string_view::npos) return {};
  read.remove_prefix(sp1 + 1);
  return read.substr(0, read.find(' '));
}

RequestParser::Result RequestParser::Refuse(int status, std::string_view reason) {
  state_ = State::kRefused;
  refusal_ = Refusal{status, reason};
  return Result::kRefused;
}

RequestParser::Step RequestParser::Stop(int status, std::string_view reason) {
  Refuse(status, reason);
  return Step::kDone;
}

RequestParser::Result RequestParser::Parse() {
  const Result result = ParseStep();
  // A request that needs more bytes than the buffer holds: only a chunked body's trailer can
  // get here (a header is refused at header_limit, a body that does not fit is copied out).
  if (result == Result::kNeedMore && state_ != State::kBodyCopied && end_ == buffer_limit_)
    return Refuse(431, "request headers too large\n");
  return result;
}

RequestParser::Result RequestParser::ParseStep() {
  switch (state_) {
    case State::kHeader:
      return ScanHeader();
    case State::kBodyStart:
      return StartBody();
    case State::kBodyInPlace:
      if (end_ - header_end_ < body_.size()) return Result::kNeedMore;
      pos_ = header_end_ + body_.size();
      state_ = State::kComplete;
      return Result::kComplete;
    case State::kBodyCopied:
      if (copied_filled_ < copied_.size()) return Result::kNeedMore;
      body_ = copied_;
      state_ = State::kComplete;
      return Result::kComplete;
    case State::kChunkSize:
    case State::kChunkData:
    case State::kChunkDataEnd:
    case State::kTrailer:
      return ParseChunks();
    case State::kComplete:
      return Result::kComplete;
    case State::kRefused:
      return Result::kRefused;
  }
  return Result::kRefused;
}

// Looks for the empty line that ends the header in the bytes not yet scanned, checking that
// every LF is preceded by CR.
RequestParser::Result RequestParser::ScanHeader() {
  const char* base = buffer_.get();
  // Bytes past the limit are not looked at, so that a header is refused the same way however
  // its bytes were cut into reads.
  const std::size_t scan_end = std::min(end_, header_limit_);
  while (scan_ < scan_end) {
    const void* found = std::memchr(base + scan_, '\n', scan_end - scan_);
    if (found == nullptr) {
      scan_ = scan_end;
      break;
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(found) - base);
    scan_ = lf + 1;
    if (lf == 0 || base[lf - 1] != '\r') return Refuse(400, kMalformed);
    const bool empty_line = lf - 1 == line_start_;
    if (empty_line && line_start_ == pos_) {
      pos_ = line_start_ = lf + 1;  // an empty line before the request line: skipped
      continue;
    }
    if (!empty_line) {
      line_start_ = lf + 1;
      continue;
    }
    if (lf + 1 > header_limit_) return Refuse(431, "request headers too large\n");
    return ParseHeader(pos_, lf + 1);
  }
  if (end_ >= header_limit_) return Refuse(431, "request headers too large\n");
  return Result::kNeedMore;
}

RequestParser::Result RequestParser::ParseHeader(std::size_t begin, std::size_t end) {
  header_end_ = end;
  const char* base = buffer_.get();
  std::string_view rest(base + begin, end - begin - 2);  // up to the final empty line's CRLF
  const auto line_end = rest.find("\r\n");
  if (!ParseRequestLine(rest.substr(0, line_end))) return Refuse(400, kMalformed);
  rest = line_end == std::string_view::npos ? std::string_view() : rest.substr(line_end + 2);
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    if (line.front() == ' ' || line.front() == '\t')
      return Refuse(400, "obsolete line folding in a header field\n");
    if (!ParseField(line)) return Refuse(400, kMalformed);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
  }
  header_reported_ = true;
  if (Result framing = CheckFraming(); framing == Result::kRefused) return framing;
  state_ = State::kBodyStart;
  return Result::kHeader;
}

// method SP request-target SP HTTP-version (RFC 9112 §3).
bool RequestParser::ParseRequestLine(std::string_view line) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  head_.method = line.substr(0, sp1);
  head_.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(head_.method) || !IsTarget(head_.target)) return false;
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
      version[7] > '9')
    return false;
  head_.version = version[7] == '0' ? 10 : 11;
  return true;
}

// field-name ":" OWS field-value OWS (RFC 9112 §5).
bool RequestParser::ParseField(std::string_view line) {
  std::size_t colon = 0;  // the name's token bytes, which must end at the colon
  while (colon < line.size() && kToken[static_cast<unsigned char>(line[colon])]) ++colon;
  if (colon == 0 || colon == line.size() || line[colon] != ':') return false;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = TrimOws(line.substr(colon + 1));
  if (!IsFieldValue(value)) return false;
  head_.fields.push_back({name, value});
  return true;
}

// The body's length from Content-Length and Transfer-Encoding, and whether the connection is
// kept, from the fields once they are all read.
RequestParser::Result RequestParser::CheckFraming() {
  FieldLines te(te_lines_);
  bool has_te = false;
  int lengths = 0;
  bool close = false;
  bool keep_alive = false;
  for (const auto& f : head_.fields) {
    if (AsciiIEquals(f.name, "content-length")) {
      if (++lengths > 1) return Refuse(400, "more than one Content-Length\n");
      head_.content_length = ParseDecimal(f.value);
      if (!head_.content_length) return Refuse(400, "malformed Content-Length\n");
    } else if (AsciiIEquals(f.name, "transfer-encoding")) {
      has_te = true;
      te.Add(f.value);
    } else if (AsciiIEquals(f.name, "connection")) {
      close = close || ListNames(f.value, "close");
      keep_alive = keep_alive || ListNames(f.value, "keep-alive");
    }
  }
  head_.keep_alive = !close && (head_.version >= 11 || keep_alive);
  if (auto refusal = CheckTransferEncoding(head_.version, has_te, te.value()))
    return Refuse(refusal->status, refusal->reason);
  if (has_te && lengths > 0) return Refuse(400, "Content-Length with Transfer-Encoding\n");
  head_.chunked = has_te;
  return Result::kHeader;
}

// After kHeader: the body limit is known, so the body's reading can be set up.
RequestParser::Result RequestParser::StartBody() {
  pos_ = header_end_;
  if (head_.chunked) {
    state_ = State::kChunkSize;
    return ParseChunks();
  }
  const std::uint64_t length = head_.content_length.value_or(0);
  if (length > body_limit_) return Refuse(413, "");
  if (length == 0) {
    body_ = {};
    state_ = State::kComplete;
    return Result::kComplete;
  }
  if (header_end_ + length <= buffer_limit_) {
    if (header_end_ + length > capacity_) Grow(header_end_ + length);
    body_ = {buffer_.get() + header_end_, static_cast<std::size_t>(length)};
    state_ = State::kBodyInPlace;
    return ParseStep();
  }
  // Larger than the buffer: every byte after the header is the body's.
  copied_.resize(length);
  copied_filled_ = end_ - header_end_;
  std::memcpy(copied_.data(), buffer_.get() + header_end_, copied_filled_);
  end_ = header_end_;
  state_ = State::kBodyCopied;
  return ParseStep();
}

std::optional<std::string_view> RequestParser::NextLine(bool& bad) {
  const char* base = buffer_.get();
  const void* found = std::memchr(base + pos_, '\n', end_ - pos_);
  if (found == nullptr) return std::nullopt;
  const auto lf = static_cast<std::size_t>(static_cast<const char*>(found) - base);
  if (lf == pos_ || base[lf - 1] != '\r') {
    bad = true;
    return std::nullopt;
  }
  std::string_view line(base + pos_, lf - 1 - pos_);
  pos_ = lf + 1;
  return line;
}

// chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1); the extensions are ignored.
RequestParser::Step RequestParser::ChunkSizeLine() {
  bool bad = false;
  const std::size_t start = pos_;
  const auto line = NextLine(bad);
  if (bad) return Stop(400, kBadChunks);
  // Too long whether its end has been read or not (its CR may be the last byte read).
  if (!line && end_ - start > kMaxChunkLine + 1) return Stop(400, kBadChunks);
  if (!line) return Step::kNeedMore;
  if (line->size() > kMaxChunkLine) return Stop(400, kBadChunks);
  std::size_t digits = 0;
  std::uint64_t size = 0;
  for (char c : *line) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) break;
    if (++digits > 15) return Stop(413, "");  // over any body limit
    size = size * 16 + static_cast<std::uint64_t>(v);
  }
  const std::string_view ext = TrimOws(line->substr(digits));
  if (digits == 0 || (!ext.empty() && ext.front() != ';') || !IsFieldValue(ext))
    return Stop(400, kBadChunks);
  if (size > body_limit_ - copied_.size()) return Stop(413, "");
  chunk_left_ = size;
  state_ = size == 0 ? State::kTrailer : State::kChunkData;
  return Step::kContinue;
}

RequestParser::Step RequestParser::ChunkData() {
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, end_ - pos_));
  copied_.append(buffer_.get() + pos_, n);
  pos_ += n;
  chunk_left_ -= n;
  if (chunk_left_ != 0) return Step::kNeedMore;
  state_ = State::kChunkDataEnd;
  return Step::kContinue;
}

RequestParser::Step RequestParser::ChunkDataEnd() {
  if (end_ - pos_ < 2) return Step::kNeedMore;
  if (buffer_[pos_] != '\r' || buffer_[pos_ + 1] != '\n') return Stop(400, kBadChunks);
  pos_ += 2;
  state_ = State::kChunkSize;
  return Step::kContinue;
}

// The trailer section after the last chunk: fields that are read and ignored (nothing here
// looks at them), up to the empty line; they count against the header limit.
RequestParser::Step RequestParser::TrailerLines() {
  while (true) {
    bool bad = false;
    const std::size_t start = pos_;
    const auto line = NextLine(bad);
    if (bad) return Stop(400, kBadChunks);
    if (!line) {
      if (trailer_bytes_ + (end_ - start) > header_limit_)
        return Stop(431, "request headers too large\n");
      return Step::kNeedMore;
    }
    trailer_bytes_ += pos_ - start;
    if (trailer_bytes_ > header_limit_) return Stop(431, "request headers too large\n");
    if (line->empty()) break;
    if (line->front() == ' ' || line->front() == '\t' ||
        line->find(':') == std::string_view::npos || !IsFieldValue(*line))
      return Stop(400, kBadChunks);
  }
  body_ = copied_;
  state_ = State::kComplete;
  return Step::kDone;
}

RequestParser::Result RequestParser::ParseChunks() {
  Step step = Step::kContinue;
  while (step == Step::kContinue) {
    switch (state_) {
      case State::kChunkSize:
        step = ChunkSizeLine();
        break;
      case State::kChunkData:
        step = ChunkData();
        break;
      case State::kChunkDataEnd:
        step = ChunkDataEnd();
        break;
      case State::kTrailer:
        step = TrailerLines();
        break;
      default:
        step = Step::kDone;
    }
  }
  if (step == Step::kNeedMore) {
    Compact();
    return Result::kNeedMore;
  }
  return state_ == State::kComplete ? Result::kComplete : Result::kRefused;
}

void RequestParser::Compact() {
  if (pos_ == header_end_) return;
  std::memmove(buffer_.get() + header_end_, buffer_.get() + pos_, end_ - pos_);
  end_ -= pos_ - header_end_;
  pos_ = header_end_;
}

void RequestParser::Next() {
  const std::size_t rest = state_ == State::kComplete ? end_ - pos_ : 0;
  if (rest != 0) std::memmove(buffer_.get(), buffer_.get() + pos_, rest);
  end_ = rest;
  pos_ = scan_ = line_start_ = header_end_ = 0;
  body_limit_ = 0;
  chunk_left_ = 0;
  trailer_bytes_ = 0;
  state_ = State::kHeader;
  header_reported_ = false;
  head_.method = head_.target = {};
  head_.version = 11;
  head_.fields.clear();
  head_.content_length.reset();
  head_.chunked = false;
  head_.keep_alive = true;
  copied_.clear();
  copied_filled_ = 0;
  body_ = {};
  refusal_ = Refusal{400, ""};
}

}  // namespace oceanus::http
