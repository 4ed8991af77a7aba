// The bigquery sink's settings (sink type `bigquery`): the `bigquery:` block of the sink
// section, and the project found at start when the block names none.
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "sink/sink_registry.h"

namespace oceanus::sink {

// How rows reach BigQuery: the Storage Write API over gRPC, or tabledata.insertAll (REST).
enum class BigQueryApi { kStorageWrite, kInsertAll };

struct BigQueryConfig {
  BigQueryApi api = BigQueryApi::kStorageWrite;
  // storage_write: COMMITTED streams with offsets kept in the queue's ledger (exactly once),
  // or the _default stream (at least once). See sink/bigquery/storage_writer.h.
  bool exactly_once = true;
  // host:port of the Storage Write API; OCEANUS_BIGQUERY_STORAGE_ENDPOINT overrides it.
  // Plaintext (gRPC local credentials) when it is a loopback address, else TLS.
  std::string storage_endpoint = "bigquerystorage.googleapis.com:443";
  std::size_t stream_max_rows = 10'000'000;   // a writer's stream is rotated past this
  std::chrono::seconds stream_max_age{3600};  // or this
  std::string project;
  std::string dataset;
  std::string location;  // for jobs.query; empty = the dataset's
  std::string key_file;  // service-account JSON; empty = GOOGLE_APPLICATION_CREDENTIALS, else
                         // metadata server
  std::string endpoint = "https://bigquery.googleapis.com";
  std::string token_uri;  // overrides the key's token_uri (tests, proxies)
  std::string metadata_endpoint =
      "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
  std::size_t max_rows = 500;                       // per insertAll request (insert_all)
  std::size_t max_request_bytes = 9 * 1024 * 1024;  // per request (both APIs): under 10 MB
  std::chrono::milliseconds timeout{30'000};
  bool partition_single_tables = true;  // single-table sites: DAY partitioning on dt
};

// A Google Cloud project id as BigQuery paths and SQL take it: [a-z0-9][a-z0-9.:-]{0,127}.
bool IsBigQueryProjectId(std::string_view project);

class BigQuerySettings final : public SinkSettings {
 public:
  explicit BigQuerySettings(BigQueryConfig config) : config_(std::move(config)) {}

  const BigQueryConfig& config() const { return config_; }
  // Where the project came from ("sink.bigquery.project", "project_id of the key file …");
  // empty until Prepare.
  const std::string& project_origin() const { return project_origin_; }

  void Describe(std::ostream& out) const override;
  std::string Summary() const override;
  void MoveDataDir(const std::string&, const std::string&) override {}
  // An empty project becomes the key's project_id, else the metadata server's project (as
  // Google's client libraries find it); then the key is read and a signature tried.
  Status Prepare() override;
  Result<std::unique_ptr<Sink>> Open() const override;
  // Through a BigQuerySink of its own (jobs.query).
  Result<std::unique_ptr<HistorySource>> OpenHistory(const std::string& table_prefix,
                                                     const TimeZone& tz) const override;

 private:
  Status ResolveProject();

  BigQueryConfig config_;
  std::string project_origin_;
};

}  // namespace oceanus::sink
