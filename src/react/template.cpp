// The mustache renderer: a small recursive-descent compiler to a node tree, and a renderer
// that walks it with a stack of contexts (innermost last), as the spec describes.
#include "react/template.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "event/json.h"

namespace oceanus::react {

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
// parser and writer recurse once per level: 100k nested '[' in a 64 KiB-or-more body
// overflowed the stack (found by tests/fuzz/fuzz_template). The limit is the one `json: true`
// fields have when they are stored.
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

struct Parser {
  std::string_view text;
  std::size_t pos = 0;

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
      if (end == std::string_view::npos)
        return Status::InvalidArgument("unclosed tag at offset " + std::to_string(open));
      std::string_view tag = Trim(text.substr(body, end - body));
      pos = end + end_tag.size();
      if (triple) {
        if (tag.empty())
          return Status::InvalidArgument("empty tag at offset " + std::to_string(open));
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
          if (name.empty())
            return Status::InvalidArgument("section without a name at offset " +
                                           std::to_string(open));
          Template::Node section{sigil == '#' ? Kind::kSection : Kind::kInverted, name, {}};
          if (Status s = ParseInto(section.children, name, open); !s.ok()) return s;
          out.push_back(std::move(section));
          continue;
        }
        case '/':
          if (name != close) {
            return Status::InvalidArgument(
                close.empty() ? "'{{/" + name + "}}' closes no open section"
                              : "'{{/" + name + "}}' at offset " + std::to_string(open) +
                                    " does not close section '" + close + "'");
          }
          return Status::Ok();
        case '&':
          out.push_back({Kind::kRawVar, name, {}});
          continue;
        case '>':
          return Status::InvalidArgument("partials ({{> name}}) are not supported");
        case '=':
          return Status::InvalidArgument("delimiter changes ({{= =}}) are not supported");
        case '\0':
          return Status::InvalidArgument("empty tag at offset " + std::to_string(open));
        default:
          out.push_back({Kind::kVar, std::string(tag), {}});
      }
    }
    if (!close.empty())
      return Status::InvalidArgument("unclosed section '" + close + "' (opened at offset " +
                                     std::to_string(opened_at) + ")");
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

std::string Template::Render(const rapidjson::Value& context, bool escape_html) const {
  Renderer r{escape_html, {}, {&context}};
  std::string out;
  r.Render(nodes_, out);
  return out;
}

bool Template::is_static() const {
  return nodes_.empty() || (nodes_.size() == 1 && nodes_[0].kind == Node::Kind::kText);
}

}  // namespace oceanus::react
