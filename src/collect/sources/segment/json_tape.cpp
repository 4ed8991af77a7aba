// JsonTape: RapidJSON's SAX reader writing the tape; see json_tape.h.
//
// The iterative reader calls StartObject/StartArray while the stream is on the opening
// bracket and EndObject/EndArray while it is on the closing one (it takes the bracket after
// the call), which is how each container learns its bytes without a second pass.
#include "collect/sources/segment/json_tape.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <array>
#include <limits>

#include "event/json.h"
#include "util/json.h"

namespace oceanus::collect {

class JsonTape::Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
 public:
  Builder(JsonTape& tape, const rapidjson::MemoryStream& stream) : tape_(tape), stream_(stream) {}
  bool too_deep = false;

  bool Null() { return Leaf(Kind::kNull, {}); }
  bool Bool(bool b) { return Leaf(b ? Kind::kTrue : Kind::kFalse, {}); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return Leaf(Kind::kNumber, std::string_view(s, n));
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return Leaf(Kind::kString, std::string_view(s, n));
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    pending_key_ = Store(std::string_view(s, n));
    return true;
  }
  bool StartObject() { return Open(Kind::kObject); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(Kind::kArray); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

 private:
  Span Store(std::string_view s) {
    Span span{static_cast<std::uint32_t>(tape_.arena_.size()),
              static_cast<std::uint32_t>(s.size())};
    tape_.arena_.append(s);
    return span;
  }
  Value& Add(Kind kind) {
    Value& v = tape_.values_.emplace_back();
    v.kind = kind;
    if (!open_.empty() && tape_.values_[open_.back()].kind == Kind::kObject) v.key = pending_key_;
    return v;
  }
  bool Leaf(Kind kind, std::string_view text) {
    Value& v = Add(kind);
    if (!text.empty()) v.text = Store(text);
    v.next = static_cast<std::uint32_t>(tape_.values_.size());
    return true;
  }
  bool Open(Kind kind) {
    if (open_.size() >= static_cast<std::size_t>(event::kMaxJsonDepth)) {
      too_deep = true;
      return false;
    }
    Value& v = Add(kind);
    v.begin = static_cast<std::uint32_t>(stream_.Tell());
    open_.push_back(tape_.values_.size() - 1);
    return true;
  }
  bool Close() {
    Value& v = tape_.values_[open_.back()];
    open_.pop_back();
    v.end = static_cast<std::uint32_t>(stream_.Tell() + 1);
    v.next = static_cast<std::uint32_t>(tape_.values_.size());
    return true;
  }

  JsonTape& tape_;
  const rapidjson::MemoryStream& stream_;
  std::vector<std::size_t> open_;
  Span pending_key_;
};

Status JsonTape::Parse(std::string_view text) {
  source_ = text;
  arena_.clear();
  values_.clear();
  if (text.size() >= std::numeric_limits<std::uint32_t>::max())
    return Status::InvalidArgument("JSON text too large");
  // UTF-8 is checked once over the whole text, eight bytes at a time, rather than by
  // rapidjson character by character (kParseValidateEncodingFlag cost as much as the rest
  // of the parse). Escapes cannot make it invalid: rapidjson refuses lone surrogates.
  if (!IsValidUtf8(text)) return Status::InvalidArgument("invalid UTF-8");
  constexpr unsigned kFlags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::MemoryStream stream(text.data(), text.size());
  Builder builder(*this, stream);
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (builder.too_deep) {
    values_.clear();
    return Status::InvalidArgument("nested deeper than " + std::to_string(event::kMaxJsonDepth) +
                                   " levels");
  }
  if (result.IsError()) {
    values_.clear();
    return Status::InvalidArgument(std::string(rapidjson::GetParseError_En(result.Code())) +
                                   " at offset " + std::to_string(result.Offset()));
  }
  return Status::Ok();
}

std::string_view JsonTape::raw(std::size_t i) const {
  const Value& v = values_[i];
  if (v.kind != Kind::kObject && v.kind != Kind::kArray) return {};
  return source_.substr(v.begin, v.end - v.begin);
}

std::optional<std::size_t> JsonTape::Member(std::size_t object, std::string_view name) const {
  if (object >= values_.size() || values_[object].kind != Kind::kObject) return std::nullopt;
  std::optional<std::size_t> found;
  for (std::size_t c = first_child(object); c < next(object); c = next(c))
    if (key(c) == name) found = c;
  return found;
}

std::optional<std::size_t> JsonTape::Find(std::size_t object, std::string_view path) const {
  std::optional<std::size_t> at = object;
  while (at) {
    const auto dot = path.find('.');
    at = Member(*at, path.substr(0, dot));
    if (dot == std::string_view::npos) return at;
    path.remove_prefix(dot + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> JsonTape::String(std::size_t object, std::string_view name) const {
  const auto m = Member(object, name);
  if (!m || kind(*m) != Kind::kString) return std::nullopt;
  return text(*m);
}

bool JsonTape::Scalar(std::size_t i, std::string& out) const {
  switch (kind(i)) {
    case Kind::kNull:
      return false;
    case Kind::kFalse:
      out = "false";
      return true;
    case Kind::kTrue:
      out = "true";
      return true;
    case Kind::kNumber:
    case Kind::kString:
      out.assign(text(i));
      return true;
    case Kind::kArray:
    case Kind::kObject:
      out.clear();
      AppendCanonical(i, out);
      return true;
  }
  return false;
}

// Recursion is bounded by the parse's depth cap (event::kMaxJsonDepth).
void JsonTape::AppendCanonical(std::size_t i, std::string& out) const {
  switch (kind(i)) {
    case Kind::kNull:
      out += "null";
      return;
    case Kind::kFalse:
      out += "false";
      return;
    case Kind::kTrue:
      out += "true";
      return;
    case Kind::kNumber:
      out += text(i);
      return;
    case Kind::kString:
      AppendJsonString(out, text(i));
      return;
    case Kind::kArray: {
      out += '[';
      for (std::size_t c = first_child(i); c < next(i); c = next(c)) {
        if (c != first_child(i)) out += ',';
        AppendCanonical(c, out);
      }
      out += ']';
      return;
    }
    case Kind::kObject:
      break;
  }
  AppendObject({i}, out);
}

void JsonTape::AppendCanonicalMerged(std::size_t first, std::size_t second,
                                     std::span<const std::string_view> skip,
                                     std::string& out) const {
  AppendObject({first, second}, out, skip);
}

void JsonTape::AppendCanonicalWithout(std::size_t object, std::span<const std::string_view> skip,
                                      std::string& out) const {
  AppendObject({object}, out, skip);
}

void JsonTape::AppendObject(std::initializer_list<std::size_t> objects, std::string& out,
                            std::span<const std::string_view> skip) const {
  // The members sorted by key, stably. Most objects are small: their indices stay on the
  // stack and are sorted by insertion (two allocations per object, the vector and
  // stable_sort's buffer, were a visible part of a Segment batch's cost).
  constexpr std::size_t kSmall = 16;
  std::array<std::size_t, kSmall> small;
  std::vector<std::size_t> large;
  std::size_t n = 0;
  for (const std::size_t object : objects) {
    for (std::size_t c = first_child(object); c < next(object); c = next(c)) {
      if (std::find(skip.begin(), skip.end(), key(c)) != skip.end()) continue;
      if (n < kSmall) {
        small[n] = c;
      } else {
        if (large.empty()) large.assign(small.begin(), small.end());
        large.push_back(c);
      }
      ++n;
    }
  }
  std::size_t* members = large.empty() ? small.data() : large.data();
  const auto by_key = [&](std::size_t a, std::size_t b) { return key(a) < key(b); };
  if (large.empty()) {
    for (std::size_t k = 1; k < n; ++k)
      for (std::size_t j = k; j > 0 && by_key(members[j], members[j - 1]); --j)
        std::swap(members[j], members[j - 1]);
  } else {
    std::stable_sort(large.begin(), large.end(), by_key);
  }
  out += '{';
  bool first = true;
  for (std::size_t k = 0; k < n; ++k) {
    // A repeated key keeps its last value: the last of equal keys in the stable order.
    if (k + 1 < n && key(members[k]) == key(members[k + 1])) continue;
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, key(members[k]));
    out += ':';
    AppendCanonical(members[k], out);
  }
  out += '}';
}

}  // namespace oceanus::collect
