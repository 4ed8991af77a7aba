// JsonTape: a JSON text parsed once into a flat array of values, for the segment source.
//
// A segment request is read many times over: its write key, its batch, then per message the
// type, the ids, the times and every schema path. Parsing it once into a tape (one entry per
// value, in document order, each container knowing where its subtree ends) makes every
// later look-up a short walk with no allocation, and keeps every container's exact bytes in
// the source text, so that a message's size and a `properties` object's text cost nothing.
//
//   {"a":1,"b":{"c":"x"}}   →   0 object [0,21) next 4
//                               1 number "1"        key "a"   next 2
//                               2 object [11,20)    key "b"   next 4
//                               3 string "x"        key "c"   next 4
//
// Strings (and keys) are decoded into one arena; numbers keep the text they were written
// with (as event/json.h does). Parsing is iterative, nesting is capped at
// event::kMaxJsonDepth, and the text must be UTF-8.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::collect {

class JsonTape {
 public:
  enum class Kind : std::uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

  // Parses `text`, which must outlive the tape's use (raw() points into it). The error says
  // why the text is not JSON.
  Status Parse(std::string_view text);

  // Values are addressed by index; the root is 0.
  Kind kind(std::size_t i) const { return values_[i].kind; }
  // A string's decoded text, a number's text; "" for the other kinds.
  std::string_view text(std::size_t i) const { return Arena(values_[i].text); }
  // The member name of a value inside an object; "" elsewhere.
  std::string_view key(std::size_t i) const { return Arena(values_[i].key); }
  // An object's or array's bytes in the parsed text, brackets included; "" for scalars.
  std::string_view raw(std::size_t i) const;
  // The index after `i`'s subtree: its next sibling, if it has one.
  std::size_t next(std::size_t i) const { return values_[i].next; }
  // A container's first child (== next(i) when it is empty).
  std::size_t first_child(std::size_t i) const { return i + 1; }

  // The member `name` of object `object` (the last one when a name is repeated, as the
  // canonical JSON of event/json.h keeps); nullopt when absent or `object` is no object.
  std::optional<std::size_t> Member(std::size_t object, std::string_view name) const;
  // The value at dotted `path` under object `object` ("context.page.url").
  std::optional<std::size_t> Find(std::size_t object, std::string_view path) const;
  // A string member's text; nullopt when absent or not a string.
  std::optional<std::string_view> String(std::size_t object, std::string_view name) const;

  // The value as the event builder takes it (event::JsonSource): a string's text, a number
  // or boolean as written, an object or array as canonical JSON (AppendCanonical). False for
  // null.
  bool Scalar(std::size_t i, std::string& out) const;
  // Appends value `i` in the canonical form of event/json.h (compact, object keys sorted by
  // bytes, a repeated key keeping its last value, numbers as written), the same text
  // event::CanonicalJson makes of raw(i), without parsing it again.
  void AppendCanonical(std::size_t i, std::string& out) const;
  // The members of objects `first` and `second` as one object in canonical form, a key of
  // `second` replacing the same key of `first` (a batch's context under a message's),
  // without the members named in `skip` (top level only).
  void AppendCanonicalMerged(std::size_t first, std::size_t second,
                             std::span<const std::string_view> skip, std::string& out) const;
  // Object `object` in canonical form without the members named in `skip` (top level only).
  void AppendCanonicalWithout(std::size_t object, std::span<const std::string_view> skip,
                              std::string& out) const;

 private:
  struct Span {
    std::uint32_t offset = 0, length = 0;
  };
  struct Value {
    Kind kind = Kind::kNull;
    Span key;
    Span text;
    std::uint32_t begin = 0, end = 0;  // containers: their bytes in the source
    std::uint32_t next = 0;
  };
  class Builder;
  // The members of `objects` (in order, later keys replacing earlier) as one canonical object.
  void AppendObject(std::initializer_list<std::size_t> objects, std::string& out,
                    std::span<const std::string_view> skip = {}) const;
  std::string_view Arena(Span s) const {
    return std::string_view(arena_).substr(s.offset, s.length);
  }

  std::string_view source_;
  std::string arena_;
  std::vector<Value> values_;
};

}  // namespace oceanus::collect
