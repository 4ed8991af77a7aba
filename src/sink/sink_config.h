// The sink section of the config: which warehouse the loader writes to, and its settings.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}
namespace oceanus::config {
class Reader;
struct Config;
}  // namespace oceanus::config

namespace oceanus::sink {

// BigQuery (sink type `bigquery`).
struct BigQueryConfig {
  std::string project;
  std::string dataset;
  std::string location;  // for jobs.query; empty = the dataset's
  std::string key_file;  // service-account JSON; empty = GOOGLE_APPLICATION_CREDENTIALS, else
                         // metadata server
  std::string endpoint = "https://bigquery.googleapis.com";
  std::string token_uri;  // overrides the key's token_uri (tests, proxies)
  std::string metadata_endpoint =
      "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
  std::size_t max_rows = 500;                       // per insertAll request
  std::size_t max_request_bytes = 9 * 1024 * 1024;  // under BigQuery's 10 MB request limit
  std::chrono::milliseconds timeout{30'000};
  bool partition_single_tables = true;  // single-table sites: DAY partitioning on dt
};

struct SinkConfig {
  std::string type = "sqlite";  // sqlite | bigquery
  std::string path;             // sqlite: default <data_dir>/oceanus.db
  std::string table_prefix;
  BigQueryConfig bigquery;
};

// The sink section; an absent one gives SQLite at <data_dir>/oceanus.db.
SinkConfig ParseSinkConfig(const config::Reader& r, const YAML::Node& node,
                           const config::Config& shared);

// A Google Cloud project id as BigQuery paths and SQL take it: [a-z0-9][a-z0-9.:-]{0,127}.
bool IsBigQueryProjectId(std::string_view project);

}  // namespace oceanus::sink
