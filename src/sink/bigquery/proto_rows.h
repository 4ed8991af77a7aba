// Rows as the Storage Write API takes them: protobuf messages whose type is described by a
// DescriptorProto built from the table spec, so that a column added to the table (by the
// table manager) is a field of the next append's writer schema.
//
// Field i+1 is column i, named as the column, optional (proto2: a NULL is a field not set).
// Types as the Write API maps them: STRING → string, INTEGER → int64, FLOAT → double,
// BOOLEAN → bool, TIMESTAMP → int64 microseconds since the epoch. Rows are encoded by hand
// (tag, varint or fixed64 or length and bytes): no message object per row.
#pragma once

#include <google/protobuf/descriptor.pb.h>

#include <string>

#include "sink/sink.h"

namespace oceanus::sink {

// The writer schema of `table`: one message type, named "Row" (the name does not matter to
// BigQuery; it must be a valid identifier).
::google::protobuf::DescriptorProto RowDescriptor(const TableSpec& table);

// Encodes `row` (values in table.columns order) into `out` (cleared first). False with
// `reason` when a value is not of its column's type (sink/row_values.h): that row can never
// be stored and goes to the dead-letter.
bool EncodeRow(const TableSpec& table, const Row& row, std::string& out, std::string& reason);

}  // namespace oceanus::sink
