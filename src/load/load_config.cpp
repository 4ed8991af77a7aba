// Parses the load section (load/load_config.h).
#include "load/load_config.h"

#include "config/reader.h"

namespace oceanus::load {

LoadConfig ParseLoadConfig(const config::Reader& r, const YAML::Node& l) {
  LoadConfig load;
  if (!l) return load;
  r.ExpectKeys(l, "load", {"batch_rows", "batch_bytes", "max_wait", "writers"});
  // 0 would make every batch full before it has a row: nothing would ever be loaded.
  if (l["batch_rows"]) load.batch_rows = r.AtLeast(l["batch_rows"], 1, 1'000'000, "batch_rows");
  if (l["batch_bytes"]) load.batch_bytes = r.Bytes(l["batch_bytes"], 1, 1ull << 30, "batch_bytes");
  if (l["max_wait"]) load.max_wait = r.Duration(l["max_wait"]);
  if (l["writers"]) load.writers = r.AtLeast(l["writers"], 1, 64, "writers");

  return load;
}

}  // namespace oceanus::load
