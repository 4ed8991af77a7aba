// Fuzzes the query-string / form-body decoder (event::ParamList::AddEncoded, Get) and the /gaze
// redirect's ReplaceQueryParam with arbitrary bytes, as they arrive in a request target or an
// application/x-www-form-urlencoded or text/plain body. Invariants: decoding never reads or
// writes out of bounds; a reused (cleared) list decodes exactly like a fresh one; Get returns
// the first value of a name; re-encoding the decoded pairs and decoding again gives the same
// pairs; a failure names at most 64 bytes of the parameter; and replacing `evt` in a query that
// decodes gives a query that still decodes, whose `evt` is the new value and whose other
// parameters are unchanged (the /gaze chain relies on it to move open → see → read → done).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event/params.h"
#include "fuzz_check.h"

namespace {

using oceanus::event::ParamList;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs ToPairs(const ParamList& p) {
  Pairs out;
  for (std::size_t i = 0; i < p.size(); ++i)
    out.emplace_back(std::string(p.name(i)), std::string(p.value(i)));
  return out;
}

// Percent-encodes every byte that is not unreserved, so that the text decodes back to `s`.
void AppendEncoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  ParamList fresh;
  std::string bad_name;
  const bool ok = fresh.AddEncoded(input, &bad_name);
  FUZZ_CHECK(ok || bad_name.size() <= 64, "bad_name of %zu bytes", bad_name.size());

  // A list that held other parameters before decodes the same after clear().
  ParamList reused;
  FUZZ_CHECK(reused.AddEncoded("stale=1&evt=old&%41=%42", nullptr), "fixed text must decode");
  reused.clear();
  std::string reused_bad;
  FUZZ_CHECK(reused.AddEncoded(input, &reused_bad) == ok, "reuse changed the verdict");
  if (!ok) {
    FUZZ_CHECK(reused_bad == bad_name, "reuse changed the error");
    return 0;
  }
  const Pairs pairs = ToPairs(fresh);
  FUZZ_CHECK(ToPairs(reused) == pairs, "a reused list decoded differently");

  std::size_t decoded_bytes = 0, separators = 0;
  for (const auto& [name, value] : pairs) decoded_bytes += name.size() + value.size();
  for (char c : input) separators += c == '&';
  FUZZ_CHECK(decoded_bytes <= input.size(), "decoding grew the text");
  FUZZ_CHECK(pairs.size() <= separators + 1, "more pairs than separators allow");

  // Get: the first value given for a name.
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto got = fresh.Get(pairs[i].first);
    FUZZ_CHECK(got.has_value(), "Get lost parameter %zu", i);
    for (std::size_t j = 0; j < pairs.size(); ++j) {
      if (pairs[j].first != pairs[i].first) continue;
      FUZZ_CHECK(*got == pairs[j].second, "Get did not return the first value");
      break;
    }
  }

  // Round trip: encoding the pairs again decodes to the same pairs. Pairs with an empty name
  // and value ("=") are the one thing that does not survive: they encode to "=", which is fine,
  // but skipped empty pairs ("&&") have no representation at all, and there are none here.
  std::string encoded;
  for (const auto& [name, value] : pairs) {
    if (!encoded.empty()) encoded += '&';
    AppendEncoded(encoded, name);
    encoded += '=';
    AppendEncoded(encoded, value);
  }
  ParamList again;
  FUZZ_CHECK(again.AddEncoded(encoded, nullptr), "re-encoded text does not decode");
  FUZZ_CHECK(ToPairs(again) == pairs, "re-encoded text decodes to other pairs");

  // The /gaze redirect: evt is replaced, the rest stays.
  const std::string replaced = oceanus::event::ReplaceQueryParam(input, "evt", "see");
  ParamList after;
  std::string after_bad;
  FUZZ_CHECK(after.AddEncoded(replaced, &after_bad), "replaced query does not decode: '%s'",
             replaced.c_str());
  const auto evt = after.Get("evt");
  FUZZ_CHECK(evt.has_value() && *evt == "see", "evt is not the new value in '%s'",
             replaced.c_str());
  for (const auto& [name, value] : pairs) {
    if (name == "evt") continue;
    const auto v = after.Get(name);
    FUZZ_CHECK(v.has_value() && *v == *fresh.Get(name), "parameter changed by the replacement");
  }
  return 0;
}
