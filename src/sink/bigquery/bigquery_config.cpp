// The bigquery sink type: the `bigquery:` block (parsed and validated), the settings it
// resolves to at start, and its registration.
#include "sink/bigquery/bigquery_config.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <ostream>

#include "config/reader.h"
#include "google/auth.h"
#include "sink/bigquery/bigquery_history.h"
#include "sink/bigquery/bigquery_sink.h"
#include "sink/bigquery/storage_write_client.h"

namespace oceanus::sink {
namespace {

// Project and dataset go into request paths and into SQL as identifiers (the history
// report's query), where they cannot be parameters: only the characters Google allows pass.
void ParseNames(const config::Reader& r, const YAML::Node& b, BigQueryConfig& bq) {
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
}

void ParseStorageWrite(const config::Reader& r, const YAML::Node& b, BigQueryConfig& bq) {
  if (b["api"]) {
    const std::string api = r.Str(b["api"]);
    if (api == "storage_write") {
      bq.api = BigQueryApi::kStorageWrite;
    } else if (api == "insert_all") {
      bq.api = BigQueryApi::kInsertAll;
    } else {
      r.Fail(b["api"],
             "unknown bigquery api '" + api + "' (expected one of: storage_write, insert_all)");
    }
  }
  if (b["delivery"]) {
    const std::string delivery = r.Str(b["delivery"]);
    if (delivery != "exactly_once" && delivery != "at_least_once")
      r.Fail(b["delivery"], "unknown bigquery delivery '" + delivery +
                                "' (expected one of: exactly_once, at_least_once)");
    if (bq.api == BigQueryApi::kInsertAll && delivery == "exactly_once")
      r.Fail(b["delivery"],
             "delivery exactly_once needs api storage_write (insertAll "
             "de-duplicates for about a minute only)");
    bq.exactly_once = delivery == "exactly_once";
  }
  if (bq.api == BigQueryApi::kInsertAll) bq.exactly_once = false;
  if (b["storage_endpoint"]) {
    bq.storage_endpoint = r.Str(b["storage_endpoint"]);
    if (!RE2::FullMatch(bq.storage_endpoint, R"((\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):[0-9]{1,5})"))
      r.Fail(b["storage_endpoint"],
             "storage_endpoint '" + bq.storage_endpoint + "' is not host:port");
  }
  if (b["stream_max_rows"]) bq.stream_max_rows = r.Unsigned(b["stream_max_rows"], 1'000'000'000);
  if (bq.stream_max_rows == 0) r.Fail(b["stream_max_rows"], "stream_max_rows must be at least 1");
  if (b["stream_max_age"])
    bq.stream_max_age =
        std::chrono::duration_cast<std::chrono::seconds>(r.Duration(b["stream_max_age"]));
  if (bq.stream_max_age.count() <= 0)
    r.Fail(b["stream_max_age"], "stream_max_age must be at least 1s");
}

BigQueryConfig ParseBlock(const config::Reader& r, const YAML::Node& b) {
  r.ExpectKeys(
      b, "sink.bigquery",
      {"project", "dataset", "location", "key_file", "endpoint", "token_uri", "metadata_endpoint",
       "max_rows", "max_request_bytes", "timeout", "partition_single_tables", "api", "delivery",
       "storage_endpoint", "stream_max_rows", "stream_max_age"});
  BigQueryConfig bq;
  ParseNames(r, b, bq);
  ParseStorageWrite(r, b, bq);
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
  return bq;
}

class BigQuerySinkFactory final : public SinkFactory {
 public:
  std::vector<std::string> Keys() const override { return {"bigquery"}; }
  std::shared_ptr<SinkSettings> Parse(const config::Reader& r, const YAML::Node& s,
                                      const config::Config&, bool selected) const override {
    BigQueryConfig bq;
    if (s && s["bigquery"]) bq = ParseBlock(r, s["bigquery"]);
    // An empty project is found at start (Prepare); the dataset has no such default.
    if (selected && bq.dataset.empty()) r.Fail(s, "sink type bigquery needs sink.bigquery.dataset");
    return std::make_shared<BigQuerySettings>(std::move(bq));
  }
};

google::TokenOptions TokenOptionsOf(const BigQueryConfig& bq) {
  google::TokenOptions options;
  options.token_uri_override = bq.token_uri;
  options.metadata_endpoint = bq.metadata_endpoint;
  return options;
}

// The endpoint the Storage Write API is reached at: the environment's, else the config's.
std::string StorageEndpoint(const BigQueryConfig& bq) {
  const char* env = std::getenv("OCEANUS_BIGQUERY_STORAGE_ENDPOINT");
  return env != nullptr && *env != '\0' ? std::string(env) : bq.storage_endpoint;
}

Result<std::unique_ptr<BigQuerySink>> OpenBigQuerySink(BigQueryConfig bq) {
  auto tokens = google::MakeTokenSource(bq.key_file, TokenOptionsOf(bq));
  if (!tokens.ok()) return tokens.status();
  bq.storage_endpoint = StorageEndpoint(bq);
  return BigQuerySink::Open(std::move(bq), std::move(tokens).value());
}

// Where the key comes from, as MakeTokenSource decides it.
std::string KeySource(const std::string& key_file) {
  if (!key_file.empty()) return key_file;
  const char* env = std::getenv("GOOGLE_APPLICATION_CREDENTIALS");
  if (env != nullptr && *env != '\0') return std::string(env) + " (GOOGLE_APPLICATION_CREDENTIALS)";
  return "(metadata server)";
}

}  // namespace

OCEANUS_REGISTER(SinkFactory, BigQuerySinkFactory, "bigquery");

bool IsBigQueryProjectId(std::string_view project) {
  return RE2::FullMatch(project, R"([a-z0-9][a-z0-9.:\-]{0,127})");
}

Status BigQuerySettings::ResolveProject() {
  if (!config_.project.empty()) {
    project_origin_ = "sink.bigquery.project";
    return Status::Ok();
  }
  auto found = google::FindDefaultProject(config_.key_file, config_.metadata_endpoint);
  if (!found.ok()) return found.status();
  if (!IsBigQueryProjectId(found->id))
    return Status::InvalidArgument("project '" + found->id + "' from " + found->origin +
                                   " is not a project id (lower-case letters, digits, - . :)");
  config_.project = found->id;
  project_origin_ = found->origin;
  return Status::Ok();
}

Status BigQuerySettings::Prepare() {
  if (Status s = ResolveProject(); !s.ok())
    return Status::InvalidArgument("sink.bigquery: " + s.message());
  // The key is read and a probe signature made; tokens are fetched later, by the stage.
  google::TokenOptions options;
  options.metadata_endpoint = config_.metadata_endpoint;
  auto tokens = google::MakeTokenSource(config_.key_file, options);
  if (!tokens.ok()) return Status::InvalidArgument("sink.bigquery: " + tokens.status().message());
  return Status::Ok();
}

std::string BigQuerySettings::Summary() const {
  return "project " + config_.project + " (from " + project_origin_ + "), dataset " +
         config_.dataset;
}

void BigQuerySettings::Describe(std::ostream& out) const {
  const BigQueryConfig& bq = config_;
  out << "  project: " << bq.project << "\n"
      << "  dataset: " << bq.dataset << "\n"
      << "  location: " << (bq.location.empty() ? "(the dataset's)" : bq.location) << "\n"
      << "  endpoint: " << bq.endpoint << "\n"
      << "  key_file: " << KeySource(bq.key_file) << "\n";
  if (!bq.token_uri.empty()) out << "  token_uri: " << bq.token_uri << "\n";
  out << "  api: " << (bq.api == BigQueryApi::kStorageWrite ? "storage_write" : "insert_all")
      << "\n";
  if (bq.api == BigQueryApi::kStorageWrite) {
    out << "  delivery: "
        << (bq.exactly_once ? "exactly_once (COMMITTED streams, offsets in the queue's ledger)"
                            : "at_least_once (the _default stream)")
        << "\n"
        << "  storage_endpoint: " << StorageEndpoint(bq)
        << (IsLoopbackEndpoint(StorageEndpoint(bq)) ? " (loopback: plaintext)" : " (TLS)") << "\n";
    if (bq.exactly_once)
      out << "  stream_max_rows: " << bq.stream_max_rows << "\n"
          << "  stream_max_age: " << bq.stream_max_age.count() << " s\n";
  }
  out << "  max_rows: " << bq.max_rows << "\n"
      << "  max_request_bytes: " << bq.max_request_bytes << "\n"
      << "  timeout: " << bq.timeout.count() << " ms\n"
      << "  partition_single_tables: " << (bq.partition_single_tables ? "true" : "false") << "\n";
}

Result<std::unique_ptr<Sink>> BigQuerySettings::Open() const {
  auto sink = OpenBigQuerySink(config_);
  if (!sink.ok()) return sink.status();
  return std::unique_ptr<Sink>(std::move(sink).value());
}

Result<std::unique_ptr<HistorySource>> BigQuerySettings::OpenHistory(
    const std::string& table_prefix, const TimeZone& tz) const {
  auto sink = OpenBigQuerySink(config_);
  if (!sink.ok()) return sink.status();
  return MakeBigQueryHistory(std::move(sink).value(), table_prefix, tz);
}

}  // namespace oceanus::sink
