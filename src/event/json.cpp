// Canonical JSON for `json: true` fields.
//
// CanonicalJson keeps numbers as their original text (RapidJSON's kParseNumbersAsStrings), so
// that re-serialising never turns 0.1 into 0.10000000000000001 (a number beyond a double's
// range, such as 1e400, is still refused: RapidJSON checks the exponent even then): `jsn`
// is stored re-serialised with sorted keys, as the original system stored it, because that is
// what downstream queries (JSON_EXTRACT on the stored text) expect. Parsing is iterative, so deep
// nesting cannot overflow the stack; writing is recursive with a depth cap for the same reason.
#include "event/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <vector>

#include "util/json.h"

namespace oceanus::event {
namespace {

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
