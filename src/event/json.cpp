// Canonical JSON and UTF-8 helpers.
//
// CanonicalJson keeps numbers as their original text (RapidJSON's kParseNumbersAsStrings), so
// that re-serialising never turns 0.1 into 0.10000000000000001 or 1e400 into an error: the
// original system stored `jsn` re-serialised with sorted keys, and that is what downstream
// queries (JSON_EXTRACT on the stored text) expect. Parsing is iterative, so deep nesting
// cannot overflow the stack; writing is recursive with a depth cap for the same reason.
#include "event/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <vector>

namespace oceanus::event {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 if it is malformed.
std::size_t SequenceLength(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// A parsed JSON value. Numbers keep the text they were written with.
struct Node {
  enum class Kind { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  std::string text;               // number or string
  std::vector<std::string> keys;  // object member names, parallel to items
  std::vector<Node> items;        // array items or object values
};

// RapidJSON SAX handler that builds a Node tree. Children are appended to their parent's
// vector only when the previous sibling is complete, so the stack's pointers stay valid.
class TreeBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeBuilder> {
 public:
  Node root;
  bool too_deep = false;

  bool Null() { return Add(Node::Kind::kNull, {}) != nullptr; }
  bool Bool(bool b) { return Add(b ? Node::Kind::kTrue : Node::Kind::kFalse, {}) != nullptr; }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    return Add(Node::Kind::kNumber, std::string_view(s, n)) != nullptr;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return Add(Node::Kind::kString, std::string_view(s, n)) != nullptr;
  }
  bool StartObject() { return Open(Node::Kind::kObject); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    stack_.back()->keys.emplace_back(s, n);
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(Node::Kind::kArray); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

 private:
  Node* Add(Node::Kind kind, std::string_view text) {
    Node* node;
    if (stack_.empty()) {
      node = &root;
    } else {
      stack_.back()->items.emplace_back();
      node = &stack_.back()->items.back();
    }
    node->kind = kind;
    node->text.assign(text);
    return node;
  }
  bool Open(Node::Kind kind) {
    if (stack_.size() >= kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    stack_.push_back(Add(kind, {}));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }
  std::vector<Node*> stack_;
};

void WriteNode(const Node& node, std::string& out) {
  switch (node.kind) {
    case Node::Kind::kNull:
      out += "null";
      break;
    case Node::Kind::kFalse:
      out += "false";
      break;
    case Node::Kind::kTrue:
      out += "true";
      break;
    case Node::Kind::kNumber:
      out += node.text;
      break;
    case Node::Kind::kString:
      AppendJsonString(out, node.text);
      break;
    case Node::Kind::kArray: {
      out += '[';
      for (std::size_t i = 0; i < node.items.size(); ++i) {
        if (i > 0) out += ',';
        WriteNode(node.items[i], out);
      }
      out += ']';
      break;
    }
    case Node::Kind::kObject: {
      std::vector<std::size_t> order(node.keys.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return node.keys[a] < node.keys[b]; });
      out += '{';
      bool first = true;
      for (std::size_t k = 0; k < order.size(); ++k) {
        const std::size_t i = order[k];
        // A repeated key keeps its last value.
        if (k + 1 < order.size() && node.keys[i] == node.keys[order[k + 1]]) continue;
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, node.keys[i]);
        out += ':';
        WriteNode(node.items[i], out);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    // Fast path over ASCII runs.
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::size_t Utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::size_t Utf8PrefixBytes(std::string_view s, std::size_t max_code_points) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == max_code_points) return i;
      ++count;
    }
  }
  return s.size();
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void AppendJsonStringLossy(std::string& out, std::string_view s) {
  if (IsValidUtf8(s)) return AppendJsonString(out, s);
  std::string repaired;
  repaired.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = SequenceLength(s, i);
    if (n == 0) {
      repaired += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
      continue;
    }
    repaired.append(s, i, n);
    i += n;
  }
  AppendJsonString(out, repaired);
}

Status CanonicalJson(std::string_view in, std::string& out) {
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                              rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseValidateEncodingFlag;
  TreeBuilder builder;
  rapidjson::MemoryStream stream(in.data(), in.size());
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (builder.too_deep)
    return Status::InvalidArgument("nested deeper than " + std::to_string(kMaxJsonDepth) +
                                   " levels");
  if (result.IsError()) {
    return Status::InvalidArgument(std::string(rapidjson::GetParseError_En(result.Code())) +
                                   " at offset " + std::to_string(result.Offset()));
  }
  out.clear();
  WriteNode(builder.root, out);
  return Status::Ok();
}

}  // namespace oceanus::event
