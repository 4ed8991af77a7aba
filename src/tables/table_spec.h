// The shape of one warehouse table, derived from a site schema (tables/table_names.h) and
// handed to a sink (sink/sink.h) to ensure and to write. It lives here, below both, so that
// the table naming code needs nothing from the sinks.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace oceanus::tables {

struct Column {
  std::string name;
  config::FieldType type = config::FieldType::kString;
  config::ColumnMode mode = config::ColumnMode::kNullable;
  std::string description;
  bool json = false;  // the field is `json: true` (warehouses with a JSON type store it as that)
};

struct TableSpec {
  std::string name;  // full table name, prefix included
  std::vector<Column> columns;
  std::string key_column = "eid";
  // Non-empty: one table partitioned by day on this column (warehouses that can; SQLite
  // ignores it). Set for single-table sites that have a dt column.
  std::string time_partition_field;

  // The index of key_column in columns; columns.size() when it is not one of them.
  std::size_t KeyIndex() const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i].name == key_column) return i;
    return columns.size();
  }
};

}  // namespace oceanus::tables
