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

BigQueryConfig ParseBlock(const config::Reader& r, const YAML::Node& b) {
  r.ExpectKeys(
      b, "sink.bigquery",
      {"project", "dataset", "location", "key_file", "endpoint", "token_uri", "metadata_endpoint",
       "max_rows", "max_request_bytes", "timeout", "partition_single_tables"});
  BigQueryConfig bq;
  ParseNames(r, b, bq);
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

Result<std::unique_ptr<BigQuerySink>> OpenBigQuerySink(const BigQueryConfig& bq) {
  auto tokens = google::MakeTokenSource(bq.key_file, TokenOptionsOf(bq));
  if (!tokens.ok()) return tokens.status();
  return std::make_unique<BigQuerySink>(bq, std::move(tokens).value());
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
    const std::string& table_prefix, const TimeZone&) const {
  auto sink = OpenBigQuerySink(config_);
  if (!sink.ok()) return sink.status();
  return MakeBigQueryHistory(std::move(sink).value(), table_prefix);
}

}  // namespace oceanus::sink
