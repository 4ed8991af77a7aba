// Parses the sink section (sink/sink_config.h).
#include "sink/sink_config.h"

#include <re2/re2.h>

#include "config/config.h"
#include "config/reader.h"

namespace oceanus::sink {

using config::ValidName;

bool IsBigQueryProjectId(std::string_view project) {
  return RE2::FullMatch(project, R"([a-z0-9][a-z0-9.:\-]{0,127})");
}

SinkConfig ParseSinkConfig(const config::Reader& r, const YAML::Node& s,
                           const config::Config& shared) {
  SinkConfig sink;
  if (!s) {
    sink.path = shared.data_dir + "/oceanus.db";
    return sink;
  }
  r.ExpectKeys(s, "sink", {"type", "path", "table_prefix", "bigquery"});
  if (s["type"]) {
    sink.type = r.Str(s["type"]);
    if (sink.type != "sqlite" && sink.type != "bigquery")
      r.Fail(s["type"], "unknown sink type '" + sink.type + "' (expected: sqlite, bigquery)");
  }
  if (const auto& b = s["bigquery"]) {
    r.ExpectKeys(
        b, "sink.bigquery",
        {"project", "dataset", "location", "key_file", "endpoint", "token_uri", "metadata_endpoint",
         "max_rows", "max_request_bytes", "timeout", "partition_single_tables"});
    auto& bq = sink.bigquery;
    // Both go into request paths and into SQL as identifiers (the history report's query),
    // where they cannot be parameters: only the characters Google allows pass.
    if (b["project"]) {
      bq.project = r.Str(b["project"]);
      if (!bq.project.empty() && !IsBigQueryProjectId(bq.project))
        r.Fail(b["project"], "bigquery project '" + bq.project +
                                 "' is not a project id (lower-case letters, digits, - . :)");
    }
    if (b["dataset"]) {
      bq.dataset = r.Str(b["dataset"]);
      if (!bq.dataset.empty() &&
          (bq.dataset.size() > 1024 || !RE2::FullMatch(bq.dataset, "[A-Za-z0-9_]+")))
        r.Fail(b["dataset"], "bigquery dataset '" + bq.dataset + "' must match [A-Za-z0-9_]+");
    }
    if (b["location"]) bq.location = r.Str(b["location"]);
    if (b["key_file"]) bq.key_file = r.Str(b["key_file"]);
    if (b["endpoint"]) bq.endpoint = r.Str(b["endpoint"]);
    if (b["token_uri"]) bq.token_uri = r.Str(b["token_uri"]);
    if (b["metadata_endpoint"]) bq.metadata_endpoint = r.Str(b["metadata_endpoint"]);
    if (b["max_rows"]) bq.max_rows = r.Unsigned(b["max_rows"], 50'000);
    if (b["max_request_bytes"])
      bq.max_request_bytes = r.Bytes(b["max_request_bytes"], 1024, 10'000'000, "max_request_bytes");
    if (b["timeout"]) bq.timeout = r.Duration(b["timeout"]);
    if (b["partition_single_tables"])
      bq.partition_single_tables = r.Bool(b["partition_single_tables"]);
    if (bq.max_rows == 0) r.Fail(b["max_rows"], "max_rows must be at least 1");
  }
  // An empty project is found at start, as Google's client libraries find it: the
  // service-account key's project_id, else the metadata server's project (main.cpp).
  if (sink.type == "bigquery" && sink.bigquery.dataset.empty())
    r.Fail(s, "sink type bigquery needs sink.bigquery.dataset");
  if (s["path"]) sink.path = r.Str(s["path"]);
  if (s["table_prefix"]) {
    sink.table_prefix = r.Str(s["table_prefix"]);
    if (!sink.table_prefix.empty() && !ValidName(sink.table_prefix, false))
      r.Fail(s["table_prefix"], "table_prefix must match [a-z_][a-z0-9_]*");
  }

  if (sink.path.empty()) sink.path = shared.data_dir + "/oceanus.db";
  return sink;
}

}  // namespace oceanus::sink
