// Mustache templates for rule arguments and report mails.
//
// A template is compiled once (at start, so a typo is a config error) and rendered against a
// JSON context: `{{evt}}`, `{{jsn.price}}`, sections `{{#history}}…{{/history}}`, inverted
// sections `{{^uid}}…{{/uid}}`, comments `{{! … }}`, unescaped `{{{x}}}` / `{{& x}}`.
// Partials and delimiter changes are not supported (a clear error, not silence).
//
// Dotted names descend into objects, and into string values that hold JSON: the event keeps
// `jsn` as the text it was stored with, and `{{jsn.price}}` still finds the price (numbers
// print exactly as written). Whether `{{x}}` escapes HTML is chosen per render: report
// mails are HTML; a Slack text or a spreadsheet cell is not, and must not show `&amp;`.
// (mstch, the Debian mustache library, can only switch escaping through a global, so the
// renderer is ours.)
#pragma once

#include <rapidjson/document.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::mustache {

// Parses string values that hold JSON on first use and keeps them for the rest of a render
// or a rule evaluation.
class JsonCache {
 public:
  // The parsed value of `text` if it is a JSON object or array, else nullptr.
  const rapidjson::Value* Parse(const rapidjson::Value& text);

 private:
  std::map<const rapidjson::Value*, std::unique_ptr<rapidjson::Document>> docs_;
};

// Looks up "a.b.c" in `root` (an object); nullptr when any step is missing.
const rapidjson::Value* LookupPath(const rapidjson::Value& root, std::string_view path,
                                   JsonCache& cache);

// A scalar as text: strings as they are, numbers as written, true/false, null = "";
// objects and arrays as compact JSON.
std::string ValueText(const rapidjson::Value& v);

class Template;

// Reads and compiles a template file (report mails). Errors name the file, and the line and
// column in it.
Result<Template> LoadTemplateFile(const std::string& path);

class Template {
 public:
  // Errors say what and where: "unclosed tag '{{jsn.title (…' (no }} before the next tag or the
  // end) at line 1, column 7". A tag's name must be one field name or dotted path (or "."):
  // a space or brace in it means a tag was left open.
  static Result<Template> Compile(std::string_view text);

  std::string Render(const rapidjson::Value& context, bool escape_html) const;
  // True when the template has no tags: rendering gives the text back.
  bool is_static() const;

  struct Node;  // the parsed tree (defined in the .cpp)
  Template();
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  Template(const Template&);
  Template& operator=(const Template&);

 private:
  std::vector<Node> nodes_;
};

}  // namespace oceanus::mustache
