// RowDescriptor and EncodeRow: the protobuf wire format written directly; see the header.
#include "sink/bigquery/proto_rows.h"

#include <bit>
#include <chrono>
#include <cstdint>

#include "sink/row_values.h"

namespace oceanus::sink {
namespace {

using FieldProto = ::google::protobuf::FieldDescriptorProto;

FieldProto::Type ProtoType(config::FieldType type) {
  switch (type) {
    case config::FieldType::kInteger:
    case config::FieldType::kTimestamp:
      return FieldProto::TYPE_INT64;
    case config::FieldType::kFloat:
      return FieldProto::TYPE_DOUBLE;
    case config::FieldType::kBoolean:
      return FieldProto::TYPE_BOOL;
    default:
      return FieldProto::TYPE_STRING;
  }
}

void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

void PutTag(std::string& out, std::size_t field, WireType wire) {
  PutVarint(out, (static_cast<std::uint64_t>(field) << 3) | wire);
}

// One value of column `c` (field c+1); false with `reason` when it is not of the type.
bool PutValue(const Column& col, std::size_t c, const std::string& v, std::string& out,
              std::string& reason) {
  switch (col.type) {
    case config::FieldType::kInteger: {
      auto n = ReadInteger(col, v, reason);
      if (!n) return false;
      PutTag(out, c + 1, kVarint);
      PutVarint(out, static_cast<std::uint64_t>(*n));  // two's complement, as int64 is
      return true;
    }
    case config::FieldType::kTimestamp: {
      auto t = ReadTimestamp(col, v, reason);
      if (!t) return false;
      const auto micros =
          std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
      PutTag(out, c + 1, kVarint);
      PutVarint(out, static_cast<std::uint64_t>(micros));
      return true;
    }
    case config::FieldType::kFloat: {
      auto d = ReadFloat(col, v, reason);
      if (!d) return false;
      PutTag(out, c + 1, kFixed64);
      const auto bits = std::bit_cast<std::uint64_t>(*d);
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
      return true;
    }
    case config::FieldType::kBoolean: {
      auto b = ReadBoolean(col, v, reason);
      if (!b) return false;
      PutTag(out, c + 1, kVarint);
      out.push_back(*b ? 1 : 0);
      return true;
    }
    default:
      PutTag(out, c + 1, kLengthDelimited);
      PutVarint(out, v.size());
      out += v;
      return true;
  }
}

}  // namespace

::google::protobuf::DescriptorProto RowDescriptor(const TableSpec& table) {
  ::google::protobuf::DescriptorProto d;
  d.set_name("Row");
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    FieldProto* f = d.add_field();
    f->set_name(table.columns[c].name);
    f->set_number(static_cast<int>(c + 1));
    f->set_label(FieldProto::LABEL_OPTIONAL);
    f->set_type(ProtoType(table.columns[c].type));
  }
  return d;
}

bool EncodeRow(const TableSpec& table, const Row& row, std::string& out, std::string& reason) {
  out.clear();
  for (std::size_t c = 0; c < table.columns.size() && c < row.size(); ++c) {
    if (!row[c]) continue;
    if (!PutValue(table.columns[c], c, *row[c], out, reason)) return false;
  }
  return true;
}

}  // namespace oceanus::sink
