// Fuzzes the rule and report-mail templates (mustache::Template): Compile of arbitrary text, and
// Render against a fixed event-like JSON context in both escape modes (plain for Slack and
// sheet cells, HTML for report mails). Input: the template; optionally a NUL byte and then text
// that the context carries as the string field `data` — event fields are strings that dotted
// names look into as JSON (`{{data.a.0}}`), so that text is attacker-controlled in production.
// Invariants: no crash or undefined behaviour; a failed compile says why; rendering is
// deterministic and a copied template renders the same; a template without tags does not
// depend on the context; HTML escaping only ever adds bytes. Templates with more than a few
// sections are compiled but not rendered: sections over lists multiply (that is mustache, not
// a bug).
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mustache/template.h"

namespace {

constexpr const char* kContext = R"({
  "evt": "paid", "uid": "u1", "sid": "0123abcd", "site": "samplesite", "rule": "paid",
  "dt": "2025-11-25 01:02:03.123456", "dt_local": "2025-11-25 10:02:03",
  "date_local": "20251125", "name": "<b>O'Brien & \"co\"</b>",
  "url": "https://example.jp/?a=1&b=2",
  "jsn": "{\"price\":1200.50,\"title\":\"A & B\",\"tags\":[\"x\",\"y\"],\"n\":{\"k\":[1,{\"z\":null}]}}",
  "history": [{"evt": "a", "url": "/1", "dt_local": "2025-11-25 10:00:00"},
              {"evt": "b", "url": "/2", "jsn": "[1,2]"}],
  "empty": [], "flag": true, "off": false, "none": null, "n": 42, "pi": 3.14, "neg": -1e300,
  "obj": {"a": {"b": "c"}, "list": ["x", "y"]}, "unicode": "日本語 \u0000 nul"
})";

// Sections a template opens ("{{#", spaces allowed after the braces).
std::size_t CountSections(std::string_view t) {
  std::size_t n = 0;
  for (std::size_t at = t.find("{{"); at != std::string_view::npos; at = t.find("{{", at + 2)) {
    std::size_t i = at + 2;
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
    n += i < t.size() && t[i] == '#';
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  // (Never a null pointer, not even when empty: rapidjson asserts on that.)
  const std::string_view extra = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  auto compiled = oceanus::mustache::Template::Compile(text);
  if (!compiled.ok()) {
    FUZZ_CHECK(!compiled.status().message().empty(), "an error without a message");
    return 0;
  }
  const oceanus::mustache::Template& t = *compiled;
  if (CountSections(text) > 6) return 0;

  rapidjson::Document context;
  context.Parse(kContext);
  FUZZ_CHECK(!context.HasParseError(), "fixed context must parse");
  context.AddMember("data",
                    rapidjson::Value(extra.data(), static_cast<rapidjson::SizeType>(extra.size()),
                                     context.GetAllocator()),
                    context.GetAllocator());

  const std::string plain = t.Render(context, /*escape_html=*/false);
  const std::string html = t.Render(context, /*escape_html=*/true);
  FUZZ_CHECK(t.Render(context, false) == plain, "rendering is not deterministic");
  const oceanus::mustache::Template copy = t;
  FUZZ_CHECK(copy.Render(context, true) == html, "a copy renders differently");
  FUZZ_CHECK(html.size() >= plain.size(), "escaping removed bytes");
  if (t.is_static()) {
    // No tags left (comments are dropped at compile): the context cannot matter.
    rapidjson::Document empty;
    empty.SetObject();
    FUZZ_CHECK(plain == html && t.Render(empty, false) == plain, "a static template varies");
  }
  return 0;
}
