// Rows encoded by hand (proto_rows.h) are what protobuf itself reads with the descriptor
// built from the same table: each type, NULLs as unset fields, negative numbers, and a value
// that is not of its column's type refused with the reason.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <gtest/gtest.h>

#include "sink/bigquery/proto_rows.h"
#include "util/time.h"

namespace oceanus::sink {
namespace {

using config::FieldType;

TableSpec Table() {
  TableSpec t;
  t.name = "t";
  const std::pair<const char*, FieldType> columns[] = {
      {"eid", FieldType::kString}, {"n", FieldType::kInteger},    {"x", FieldType::kFloat},
      {"ok", FieldType::kBoolean}, {"dt", FieldType::kTimestamp}, {"note", FieldType::kString}};
  for (const auto& [name, type] : columns) {
    tables::Column c;
    c.name = name;
    c.type = type;
    t.columns.push_back(c);
  }
  return t;
}

TEST(ProtoRowsTest, ProtobufReadsTheRowsWithTheDescriptorBuiltFromTheTable) {
  const TableSpec table = Table();
  google::protobuf::FileDescriptorProto file;
  file.set_name("row.proto");
  *file.add_message_type() = RowDescriptor(table);
  google::protobuf::DescriptorPool pool;
  const google::protobuf::FileDescriptor* fd = pool.BuildFile(file);
  ASSERT_NE(fd, nullptr);
  const google::protobuf::Descriptor* d = fd->FindMessageTypeByName("Row");
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->field_count(), 6);
  EXPECT_EQ(d->field(4)->name(), "dt");
  EXPECT_EQ(d->field(4)->number(), 5);

  std::string bytes, reason;
  Row row = {"e-1", "-42", "2.5", "true", "2026-12-02 10:00:00.250000", std::nullopt};
  ASSERT_TRUE(EncodeRow(table, row, bytes, reason)) << reason;
  google::protobuf::DynamicMessageFactory factory(&pool);
  std::unique_ptr<google::protobuf::Message> m(factory.GetPrototype(d)->New());
  ASSERT_TRUE(m->ParseFromString(bytes));
  const auto* r = m->GetReflection();
  EXPECT_EQ(r->GetString(*m, d->field(0)), "e-1");
  EXPECT_EQ(r->GetInt64(*m, d->field(1)), -42);
  EXPECT_DOUBLE_EQ(r->GetDouble(*m, d->field(2)), 2.5);
  EXPECT_TRUE(r->GetBool(*m, d->field(3)));
  const auto t = ParseUtcMicros("2026-12-02 10:00:00.250000");
  EXPECT_EQ(r->GetInt64(*m, d->field(4)),
            std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count());
  EXPECT_FALSE(r->HasField(*m, d->field(5)));  // NULL: not set (proto2 semantics)
}

TEST(ProtoRowsTest, AValueNotOfItsColumnsTypeIsRefusedWithTheReason) {
  std::string bytes, reason;
  Row row = {"e-1", "forty", std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_FALSE(EncodeRow(Table(), row, bytes, reason));
  EXPECT_EQ(reason, "column n: 'forty' is not an integer");
}

}  // namespace
}  // namespace oceanus::sink
