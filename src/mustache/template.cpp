// The mustache renderer: a small recursive-descent compiler to a node tree, and a renderer
// that walks it with a stack of contexts (innermost last), as the spec describes.
#include "mustache/template.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "event/json.h"

namespace oceanus::mustache {

struct Template::Node {
  enum class Kind { kText, kVar, kRawVar, kSection, kInverted };
  Kind kind = Kind::kText;
  std::string text;  // kText: the text; otherwise the name
  std::vector<Node> children;
};

Template::Template() = default;
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::Template(const Template&) = default;
Template& Template::operator=(const Template&) = default;

namespace {

// Deeper JSON in a string field is not looked into. Any field's text can land here (a section
// over a string pushes it, and every name inside is then looked up in it), and RapidJSON's
// parser and writer recurse once per level, so 100k nested '[' in a 64 KiB-or-more body would
// overflow the stack (tests/fuzz/fuzz_template feeds such text). The limit is the one
// `json: true` fields have when they are stored.
using event::kMaxJsonDepth;

bool NestedDeeperThan(std::string_view s, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

const rapidjson::Value* JsonCache::Parse(const rapidjson::Value& text) {
  if (!text.IsString()) return nullptr;
  auto it = docs_.find(&text);
  if (it == docs_.end()) {
    auto doc = std::make_unique<rapidjson::Document>();
    const char first = text.GetStringLength() > 0 ? text.GetString()[0] : '\0';
    if ((first == '{' || first == '[') &&
        !NestedDeeperThan(std::string_view(text.GetString(), text.GetStringLength()),
                          kMaxJsonDepth)) {
      // Numbers as strings: {{jsn.price}} prints "1200.50" as written, not as a double.
      doc->Parse<rapidjson::kParseNumbersAsStringsFlag>(text.GetString(), text.GetStringLength());
    }
    if (doc->HasParseError()) doc->SetNull();
    it = docs_.emplace(&text, std::move(doc)).first;
  }
  const rapidjson::Value& v = *it->second;
  return v.IsObject() || v.IsArray() ? &v : nullptr;
}

namespace {

// One step of a dotted path: a member of an object (or of JSON text), or an array index.
const rapidjson::Value* Step(const rapidjson::Value& v, std::string_view key, JsonCache& cache) {
  const rapidjson::Value* base = &v;
  if (base->IsString()) base = cache.Parse(*base);
  if (base == nullptr) return nullptr;
  if (base->IsObject()) {
    auto it = base->FindMember(rapidjson::Value(
        rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
    return it == base->MemberEnd() ? nullptr : &it->value;
  }
  if (base->IsArray()) {
    std::size_t index = 0;
    if (key.empty()) return nullptr;
    for (char c : key) {
      if (c < '0' || c > '9') return nullptr;
      index = index * 10 + static_cast<std::size_t>(c - '0');
    }
    return index < base->Size() ? &(*base)[static_cast<rapidjson::SizeType>(index)] : nullptr;
  }
  return nullptr;
}

bool Falsy(const rapidjson::Value* v) {
  return v == nullptr || v->IsNull() || v->IsFalse() || (v->IsArray() && v->Empty()) ||
         (v->IsString() && v->GetStringLength() == 0);
}

void AppendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A name a tag may hold: "." (the current item) or dotted parts of letters, digits and
// _ - $ @ : (and any UTF-8 beyond ASCII, for JSON keys). Anything else — a space, a brace,
// a parenthesis — means the tag is not what its author meant, e.g. `{{jsn.title (` whose
// closing braces are missing, so that the next tag's `}}` ends it.
bool ValidName(std::string_view name) {
  if (name == ".") return true;
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = std::isalnum(c) || c == '_' || c == '-' || c == '$' || c == '@' || c == ':' ||
                    c >= 0x80 || (c == '.' && name[i + 1] != '.');
    if (!ok) return false;
  }
  return true;
}

struct Parser {
  std::string_view text;
  std::size_t pos = 0;

  // "line 2, column 7" of a byte offset (1-based; columns count bytes).
  std::string Where(std::size_t offset) const {
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i)
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
  }

  // The start of a tag, for messages: "{{jsn.title (" (at most 30 bytes, one line).
  std::string Excerpt(std::size_t open) const {
    std::string_view e = text.substr(open, 30);
    e = e.substr(0, e.find('\n'));
    return std::string(e) + (e.size() < text.size() - open ? "…" : "");
  }

  Status Error(const std::string& what, std::size_t at) const {
    return Status::InvalidArgument(what + " at " + Where(at));
  }

  Status CheckName(std::string_view name, std::size_t open) const {
    if (ValidName(name)) return Status::Ok();
    return Error("'" + Excerpt(open) + "': a tag names one field (letters, digits, _ - and dots),",
                 open);
  }

  // Parses until `{{/close}}` (or the end when close is empty) into `out`.
  Status ParseInto(std::vector<Template::Node>& out, const std::string& close,
                   std::size_t opened_at) {
    using Kind = Template::Node::Kind;
    while (pos < text.size()) {
      const std::size_t open = text.find("{{", pos);
      if (open == std::string_view::npos) {
        out.push_back({Kind::kText, std::string(text.substr(pos)), {}});
        pos = text.size();
        break;
      }
      if (open > pos) out.push_back({Kind::kText, std::string(text.substr(pos, open - pos)), {}});
      const bool triple = text.compare(open, 3, "{{{") == 0;
      const std::string_view end_tag = triple ? "}}}" : "}}";
      const std::size_t body = open + (triple ? 3 : 2);
      const std::size_t end = text.find(end_tag, body);
      // A "{{" before the closing braces: this tag was never closed, and the next one's
      // braces would end it.
      const std::size_t reopened = text.find("{{", body);
      if (end == std::string_view::npos || reopened < end)
        return Error("unclosed tag '" + Excerpt(open) + "' (no }} before the next tag or the end)",
                     open);
      std::string_view tag = Trim(text.substr(body, end - body));
      pos = end + end_tag.size();
      if (triple) {
        if (tag.empty()) return Error("empty tag", open);
        if (Status s = CheckName(tag, open); !s.ok()) return s;
        out.push_back({Kind::kRawVar, std::string(tag), {}});
        continue;
      }
      const char sigil = tag.empty() ? '\0' : tag.front();
      std::string name(Trim(tag.substr(sigil == '\0' ? 0 : 1)));
      switch (sigil) {
        case '!':
          continue;
        case '#':
        case '^': {
          if (name.empty()) return Error("section without a name", open);
          if (Status s = CheckName(name, open); !s.ok()) return s;
          Template::Node section{sigil == '#' ? Kind::kSection : Kind::kInverted, name, {}};
          if (Status s = ParseInto(section.children, name, open); !s.ok()) return s;
          out.push_back(std::move(section));
          continue;
        }
        case '/':
          if (name != close) {
            return Error(close.empty() ? "'{{/" + name + "}}' closes no open section"
                                       : "'{{/" + name + "}}' does not close section '" + close +
                                             "' (opened at " + Where(opened_at) + ")",
                         open);
          }
          return Status::Ok();
        case '&':
          if (Status s = CheckName(name, open); !s.ok()) return s;
          out.push_back({Kind::kRawVar, name, {}});
          continue;
        case '>':
          return Error("partials ({{> name}}) are not supported", open);
        case '=':
          return Error("delimiter changes ({{= =}}) are not supported", open);
        case '\0':
          return Error("empty tag", open);
        default:
          if (Status s = CheckName(tag, open); !s.ok()) return s;
          out.push_back({Kind::kVar, std::string(tag), {}});
      }
    }
    if (!close.empty())
      return Error("unclosed section '" + close + "' (no {{/" + close + "}})", opened_at);
    return Status::Ok();
  }
};

struct Renderer {
  bool escape_html;
  JsonCache cache;
  std::vector<const rapidjson::Value*> stack;

  const rapidjson::Value* Resolve(std::string_view name) {
    if (name == ".") return stack.back();
    const std::size_t dot = name.find('.');
    const std::string_view head = name.substr(0, dot);
    const rapidjson::Value* v = nullptr;
    for (auto it = stack.rbegin(); it != stack.rend() && v == nullptr; ++it)
      v = Step(**it, head, cache);
    if (v == nullptr || dot == std::string_view::npos) return v;
    return LookupPath(*v, name.substr(dot + 1), cache);
  }

  void Render(const std::vector<Template::Node>& nodes, std::string& out) {
    using Kind = Template::Node::Kind;
    for (const auto& node : nodes) {
      switch (node.kind) {
        case Kind::kText:
          out += node.text;
          break;
        case Kind::kVar:
        case Kind::kRawVar: {
          const rapidjson::Value* v = Resolve(node.text);
          if (v == nullptr) break;
          const std::string text = ValueText(*v);
          if (node.kind == Kind::kVar && escape_html) {
            AppendEscaped(out, text);
          } else {
            out += text;
          }
          break;
        }
        case Kind::kSection: {
          const rapidjson::Value* v = Resolve(node.text);
          if (Falsy(v)) break;
          if (v->IsArray()) {
            for (const auto& item : v->GetArray()) {
              stack.push_back(&item);
              Render(node.children, out);
              stack.pop_back();
            }
          } else {
            stack.push_back(v);
            Render(node.children, out);
            stack.pop_back();
          }
          break;
        }
        case Kind::kInverted:
          if (Falsy(Resolve(node.text))) Render(node.children, out);
          break;
      }
    }
  }
};

}  // namespace

const rapidjson::Value* LookupPath(const rapidjson::Value& root, std::string_view path,
                                   JsonCache& cache) {
  const rapidjson::Value* v = &root;
  while (v != nullptr) {
    const std::size_t dot = path.find('.');
    v = Step(*v, path.substr(0, dot), cache);
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return v;
}

std::string ValueText(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsNull()) return "";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<Template> Template::Compile(std::string_view text) {
  Template t;
  Parser parser{text};
  if (Status s = parser.ParseInto(t.nodes_, "", 0); !s.ok()) return s;
  return t;
}

Result<Template> LoadTemplateFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) return Status::InvalidArgument("cannot read the template file " + path);
  auto t = Template::Compile(text.str());
  if (!t.ok()) return Status::InvalidArgument(path + ": " + t.status().message());
  return t;
}

std::string Template::Render(const rapidjson::Value& context, bool escape_html) const {
  Renderer r{escape_html, {}, {&context}};
  std::string out;
  r.Render(nodes_, out);
  return out;
}

bool Template::is_static() const {
  return nodes_.empty() || (nodes_.size() == 1 && nodes_[0].kind == Node::Kind::kText);
}

}  // namespace oceanus::mustache
