// Percent-decoding of query strings and form bodies into a reusable ParamList.
#include "event/params.h"

#include <string>

namespace oceanus::event {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the percent-decoded `in` ('+' is a space) to `out`; false for a malformed escape
// ("%zz", or "%4" at the end), after which `out` holds a partial result.
bool PercentDecode(std::string_view in, std::string& out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// Whether a raw (still encoded) parameter name decodes to `name`, as AddEncoded would decode
// it. ReplaceQueryParam compares decoded names because the event reads them decoded:
// "ev%74=open" is evt=open (the first value winning), and a replacement that missed it would
// leave /gaze redirecting to the same step forever (tests/fuzz/fuzz_params checks this). A
// malformed escape, which AddEncoded rejects, is compared as written.
bool NameDecodesTo(std::string_view raw, std::string_view name) {
  std::string decoded;
  if (!PercentDecode(raw, decoded)) return raw == name;
  return decoded == name;
}

}  // namespace

bool ParamList::Decode(std::string_view in, Span& out) {
  out.offset = static_cast<std::uint32_t>(arena_.size());
  if (!PercentDecode(in, arena_)) return false;
  out.length = static_cast<std::uint32_t>(arena_.size() - out.offset);
  return true;
}

bool ParamList::AddEncoded(std::string_view encoded, std::string* bad_name) {
  while (!encoded.empty()) {
    const std::size_t amp = encoded.find('&');
    const std::string_view pair = encoded.substr(0, amp);
    encoded = amp == std::string_view::npos ? std::string_view() : encoded.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view raw_name = pair.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    Item item;
    if (!Decode(raw_name, item.name) || !Decode(raw_value, item.value)) {
      if (bad_name != nullptr) {
        // Report the name as far as it decodes; it is only for the error message.
        bad_name->assign(raw_name.substr(0, 64));
      }
      return false;
    }
    items_.push_back(item);
  }
  return true;
}

std::optional<std::string_view> ParamList::Get(std::string_view name) const {
  for (const auto& item : items_) {
    // Most names are a few characters long and of equal length: the first byte decides
    // cheaply before a full compare.
    if (item.name.length != name.size()) continue;
    if (!name.empty() && arena_[item.name.offset] != name[0]) continue;
    if (view(item.name) == name) return view(item.value);
  }
  return std::nullopt;
}

std::string ReplaceQueryParam(std::string_view query, std::string_view name,
                              std::string_view value) {
  std::string out;
  out.reserve(query.size() + value.size());
  bool replaced = false;
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (!out.empty()) out += '&';
    if (!replaced && !pair.empty() && NameDecodesTo(pair.substr(0, eq), name)) {
      out.append(name).append("=").append(value);
      replaced = true;
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  if (!replaced) {
    if (!out.empty()) out += '&';
    out.append(name).append("=").append(value);
  }
  return out;
}

}  // namespace oceanus::event
