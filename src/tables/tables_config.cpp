// Parses the tables section (tables/tables_config.h).
#include "tables/tables_config.h"

#include "config/reader.h"

namespace oceanus::tables {

TablesConfig ParseTablesConfig(const config::Reader& r, const YAML::Node& t) {
  TablesConfig tables;
  if (!t) return tables;
  r.ExpectKeys(t, "tables", {"check_every"});
  if (t["check_every"]) tables.check_every = r.PositiveDuration(t["check_every"], "check_every");

  return tables;
}

}  // namespace oceanus::tables
