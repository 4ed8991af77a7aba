// Decoded request parameters (query string, form body, text/plain beacon body).
//
// A ParamList is reused across the requests of one connection: decoding appends into one
// arena string whose capacity survives clear(), so a steady stream of beacons decodes
// without touching the allocator. Names and values are kept as offsets into the arena, since
// the arena may move while it grows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oceanus::event {

class ParamList {
 public:
  void clear() {
    arena_.clear();
    items_.clear();
  }
  // Decodes "a=1&b=%E3%81%82+c" (application/x-www-form-urlencoded rules: '+' is a space) and
  // appends the pairs. Returns false, leaving the name of the offending parameter in
  // `bad_name`, when a percent escape is malformed ("%zz", a trailing "%4").
  bool AddEncoded(std::string_view encoded, std::string* bad_name);
  // The first value given for `name`; later duplicates are ignored (documented behaviour).
  std::optional<std::string_view> Get(std::string_view name) const;
  std::size_t size() const { return items_.size(); }
  std::string_view name(std::size_t i) const { return view(items_[i].name); }
  std::string_view value(std::size_t i) const { return view(items_[i].value); }

 private:
  struct Span {
    std::uint32_t offset, length;
  };
  struct Item {
    Span name, value;
  };
  std::string_view view(Span s) const { return {arena_.data() + s.offset, s.length}; }
  bool Decode(std::string_view in, Span& out);

  std::string arena_;
  std::vector<Item> items_;
};

// Replaces the value of `name` in a raw query string ("a=1&evt=open&b=2") with `value`
// (which must need no escaping), keeping every other byte as it was.
std::string ReplaceQueryParam(std::string_view query, std::string_view name,
                              std::string_view value);

}  // namespace oceanus::event
