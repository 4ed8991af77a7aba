// Segment messages: types, times, checks and event ids; see segment_message.h.
#include "collect/sources/segment/segment_message.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>

#include "util/time.h"

namespace oceanus::collect::segment {
namespace {

using Clock = std::chrono::system_clock;

struct PathName {
  std::string_view path;
  CallType call;
};
constexpr std::array<PathName, 15> kPaths = {{
    {"track", CallType::kTrack},
    {"t", CallType::kTrack},
    {"page", CallType::kPage},
    {"p", CallType::kPage},
    {"screen", CallType::kScreen},
    {"s", CallType::kScreen},
    {"identify", CallType::kIdentify},
    {"i", CallType::kIdentify},
    {"group", CallType::kGroup},
    {"g", CallType::kGroup},
    {"alias", CallType::kAlias},
    {"a", CallType::kAlias},
    {"batch", CallType::kBatch},
    {"b", CallType::kBatch},
    {"import", CallType::kBatch},
}};

bool Digits(std::string_view s, std::size_t at, std::size_t n, int& value) {
  if (at + n > s.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

void WriteTime(Clock::time_point t, std::string& out) {
  char buf[kUtcMicrosLength];
  out.assign(buf, FormatUtcMicros(t, buf));
}

// SHA-1 of the concatenated parts into `digest` (20 bytes). The algorithm is fetched once and
// each thread keeps its context: EVP_Digest(…, EVP_sha1(), …) looked the algorithm up in
// OpenSSL 3's provider tables and allocated a context for every message.
void Sha1(std::initializer_list<std::string_view> parts, unsigned char* digest) {
  static EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  EVP_DigestInit_ex2(ctx.get(), kSha1, nullptr);
  for (const std::string_view part : parts) EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  EVP_DigestFinal_ex(ctx.get(), digest, nullptr);
}

}  // namespace

std::optional<CallType> CallOfPath(std::string_view rest) {
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  for (const auto& p : kPaths)
    if (p.path == rest) return p.call;
  return std::nullopt;
}

std::optional<CallType> CallOfType(std::string_view type) {
  for (const auto& p : kPaths)
    if (p.path == type && p.path.size() > 1 && p.call != CallType::kBatch) return p.call;
  return std::nullopt;
}

std::string_view TypeName(CallType call) {
  switch (call) {
    case CallType::kTrack:
      return "track";
    case CallType::kPage:
      return "page";
    case CallType::kScreen:
      return "screen";
    case CallType::kIdentify:
      return "identify";
    case CallType::kGroup:
      return "group";
    case CallType::kAlias:
      return "alias";
    case CallType::kBatch:
      return "batch";
  }
  return "";
}

namespace {

constexpr int kFirstYear = 1970;
constexpr int kLastYear = 2199;

bool InTimeRange(Clock::time_point t) {
  const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(t)};
  return date.year() >= std::chrono::year(kFirstYear) &&
         date.year() <= std::chrono::year(kLastYear);
}

}  // namespace

std::optional<Clock::time_point> ParseIsoTime(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute) || s[16] != ':' ||
      !Digits(s, 17, 2, second))
    return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits: about 1678 to 2262. Within 1970-2199 the
  // clock-skew rule's received - (sentAt - client time) stays inside it too (the fuzzer
  // found year 1013 overflowing). Other years are taken as no time at all.
  if (year < kFirstYear || year > kLastYear) return std::nullopt;
  std::size_t at = 19;
  long micros = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    std::size_t digits = 0;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[at] - '0');
      ++digits;
      ++at;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t d = digits; d < 6; ++d) micros *= 10;
  }
  int offset_minutes = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const int sign = s[at] == '-' ? -1 : 1;
    int oh, om;
    if (!Digits(s, at + 1, 2, oh)) return std::nullopt;
    std::size_t m = at + 3;
    if (m < s.size() && s[m] == ':') ++m;
    if (!Digits(s, m, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
    at = m + 2;
  }
  if (at != s.size()) return std::nullopt;
  const auto t = std::chrono::sys_days(date) + std::chrono::hours(hour) +
                 std::chrono::minutes(minute - offset_minutes) + std::chrono::seconds(second) +
                 std::chrono::microseconds(micros);
  return std::chrono::time_point_cast<Clock::duration>(t);
}

MessageView::MessageView(const JsonTape& tape, std::size_t index, CallType call,
                         const BatchDefaults& defaults, Clock::time_point received)
    : tape_(tape), index_(index), received_(received), timestamp_(received) {
  if (tape_.kind(index_) != JsonTape::Kind::kObject) return;
  if (call != CallType::kBatch) {
    type_ = call;
  } else if (auto type = tape_.String(index_, "type")) {
    type_ = CallOfType(*type);
  }
  context_ = tape_.Member(index_, "context");
  if (context_ && tape_.kind(*context_) != JsonTape::Kind::kObject) context_.reset();
  batch_context_ = defaults.context;
  auto time_of = [&](std::string_view name) -> std::optional<Clock::time_point> {
    if (auto text = tape_.String(index_, name)) return ParseIsoTime(*text);
    return std::nullopt;
  };
  original_ = time_of("originalTimestamp");
  if (!original_) original_ = time_of("timestamp");
  sent_ = time_of("sentAt");
  if (!sent_ && defaults.sent_at && tape_.kind(*defaults.sent_at) == JsonTape::Kind::kString)
    sent_ = ParseIsoTime(tape_.text(*defaults.sent_at));
  if (original_ && sent_) {
    timestamp_ = received_ - (*sent_ - *original_);
    // A correction that leaves the years ParseIsoTime takes (a sentAt centuries off) is no
    // sane time: the server's is.
    if (!InTimeRange(timestamp_)) timestamp_ = received_;
  } else if (original_) {
    timestamp_ = *original_;
  }
}

std::optional<MessageReject> MessageView::Check() const {
  if (tape_.kind(index_) != JsonTape::Kind::kObject) return MessageReject::kNotObject;
  if (!type_) return MessageReject::kUnknownType;
  auto present = [&](std::string_view name) {
    const auto m = tape_.Member(index_, name);
    if (!m) return false;
    const auto kind = tape_.kind(*m);
    if (kind == JsonTape::Kind::kString) return !tape_.text(*m).empty();
    return kind == JsonTape::Kind::kNumber;
  };
  if (!present("userId") && !present("anonymousId")) return MessageReject::kMissingId;
  if (*type_ == CallType::kTrack && !present("event")) return MessageReject::kMissingEvent;
  if (*type_ == CallType::kGroup && !present("groupId")) return MessageReject::kMissingGroupId;
  if (*type_ == CallType::kAlias && !present("previousId"))
    return MessageReject::kMissingPreviousId;
  return std::nullopt;
}

std::string_view MessageView::Explain(MessageReject reject) {
  switch (reject) {
    case MessageReject::kNotObject:
      return "a message must be a JSON object";
    case MessageReject::kTooLarge:
      return "the message is larger than max_message_bytes";
    case MessageReject::kMissingId:
      return "a message needs userId or anonymousId";
    case MessageReject::kMissingEvent:
      return "a track call needs event";
    case MessageReject::kMissingGroupId:
      return "a group call needs groupId";
    case MessageReject::kMissingPreviousId:
      return "an alias call needs previousId";
    case MessageReject::kUnknownType:
      return "type must be track, page, screen, identify, group or alias";
    case MessageReject::kInvalidFields:
      return "a field of the site's schema is invalid";
  }
  return "";
}

bool MessageView::EventId(std::string_view site, char* out) const {
  const auto id = tape_.Member(index_, "messageId");
  if (!id) return false;
  const auto kind = tape_.kind(*id);
  if ((kind != JsonTape::Kind::kString && kind != JsonTape::Kind::kNumber) ||
      tape_.text(*id).empty())
    return false;
  MessageEventId(site, tape_.text(*id), out);
  return true;
}

std::optional<std::size_t> MessageView::ContextValue(std::string_view path) const {
  const std::string_view top = path.substr(0, path.find('.'));
  if (context_ && tape_.Member(*context_, top)) return tape_.Find(*context_, path);
  if (batch_context_) return tape_.Find(*batch_context_, path);
  return std::nullopt;
}

std::optional<std::string_view> MessageView::ContextString(std::string_view name) const {
  const auto at = ContextValue(name);
  if (!at || tape_.kind(*at) != JsonTape::Kind::kString) return std::nullopt;
  return tape_.text(*at);
}

namespace {

// The context's members that copy the client address and User-Agent, left out as `withheld`
// asks; `keys` holds them.
std::span<const std::string_view> WithheldContextKeys(event::JsonWithheld withheld,
                                                      std::array<std::string_view, 3>& keys) {
  std::size_t n = 0;
  if (withheld.address) keys[n++] = "ip";
  if (withheld.user_agent) {
    keys[n++] = "userAgent";
    keys[n++] = "userAgentData";  // the client hints: the same device details, structured
  }
  return {keys.data(), n};
}

}  // namespace

bool MessageView::GetTime(std::string_view path, std::string& out) const {
  if (path == "timestamp") {
    WriteTime(timestamp_, out);
    return true;
  }
  if (path == "receivedAt") {
    WriteTime(received_, out);
    return true;
  }
  const auto& t = path == "sentAt" ? sent_ : original_;
  if (!t) return false;
  WriteTime(*t, out);
  return true;
}

bool MessageView::GetContext(std::string_view path, std::string& out, bool& canonical,
                             event::JsonWithheld withheld) const {
  std::array<std::string_view, 3> keys;
  const auto skip = WithheldContextKeys(withheld, keys);
  if (path != "context") {
    const std::string_view inner = path.substr(8);
    const std::string_view top = inner.substr(0, inner.find('.'));
    if (std::find(skip.begin(), skip.end(), top) != skip.end()) return false;
    const auto at = ContextValue(inner);
    if (!at || !tape_.Scalar(*at, out)) return false;
    const auto kind = tape_.kind(*at);
    canonical = kind == JsonTape::Kind::kObject || kind == JsonTape::Kind::kArray;
    return true;
  }
  if (!context_ && !batch_context_) return false;
  out.clear();
  if (context_ && batch_context_)
    tape_.AppendCanonicalMerged(*batch_context_, *context_, skip, out);
  else
    tape_.AppendCanonicalWithout(context_ ? *context_ : *batch_context_, skip, out);
  canonical = true;
  return true;
}

bool MessageView::Get(std::string_view path, std::string& out, bool& canonical,
                      event::JsonWithheld withheld) const {
  if (path == "type") {
    if (!type_) return false;
    out.assign(TypeName(*type_));
    return true;
  }
  if (path == "timestamp" || path == "originalTimestamp" || path == "sentAt" ||
      path == "receivedAt")
    return GetTime(path, out);
  if (path == "context" || path.substr(0, 8) == "context.")
    return GetContext(path, out, canonical, withheld);
  const auto at = tape_.Find(index_, path);
  if (!at || !tape_.Scalar(*at, out)) return false;
  const auto kind = tape_.kind(*at);
  canonical = kind == JsonTape::Kind::kObject || kind == JsonTape::Kind::kArray;
  return true;
}

void MessageEventId(std::string_view site, std::string_view message_id, char* out) {
  static constexpr unsigned char kNamespace[16] = {0x6f, 0x63, 0x65, 0x61, 0x6e, 0x75, 0x53, 0x00,
                                                   0x80, 0x00, 0x73, 0x65, 0x67, 0x6d, 0x65, 0x6e};
  unsigned char digest[EVP_MAX_MD_SIZE];
  Sha1({std::string_view(reinterpret_cast<const char*>(kNamespace), sizeof kNamespace), site, "\n",
        message_id},
       digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[digest[i] >> 4];
    out[o++] = kHex[digest[i] & 0xF];
  }
}

}  // namespace oceanus::collect::segment
