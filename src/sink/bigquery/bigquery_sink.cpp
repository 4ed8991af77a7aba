// BigQuerySink: tables.get / insert / patch and tabledata.insertAll over the REST API
// (endpoint configurable, so the tests talk to a local fake of the same shapes).
#include "sink/bigquery/bigquery_sink.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <optional>

#include "util/ascii.h"
#include "util/log.h"
#include "util/time.h"

namespace oceanus::sink {
namespace {

// Any non-2xx answer as a Status; the message carries BigQuery's own error text.
Status ClassifyHttp(const HttpResponse& r, const std::string& what) {
  if (r.status >= 200 && r.status < 300) return Status::Ok();
  std::string detail = r.body.substr(0, 500);
  rapidjson::Document doc;
  doc.Parse(r.body.data(), r.body.size());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("error") && doc["error"].IsObject() &&
      doc["error"].HasMember("message") && doc["error"]["message"].IsString())
    detail = doc["error"]["message"].GetString();
  std::string msg = what + ": HTTP " + std::to_string(r.status) + ": " + detail;
  if (auto it = r.headers.find("retry-after"); it != r.headers.end())
    msg += " (Retry-After " + it->second + ")";
  if (r.status == 404) return Status::NotFound(msg);
  if (r.status == 400) return Status::InvalidArgument(msg);
  // 401/403 (credentials or permissions), 408, 429, 5xx: keep the data queued and retry.
  return Status::Unavailable(msg);
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteKey(JsonWriter& w, const std::string& key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

// One schema field as tables.insert and tables.patch take it.
void WriteField(JsonWriter& w, const Column& c) {
  w.StartObject();
  w.Key("name");
  w.String(c.name);
  w.Key("type");
  w.String(BigQueryType(c.type));
  w.Key("mode");
  w.String(c.mode == config::ColumnMode::kRequired ? "REQUIRED" : "NULLABLE");
  if (!c.description.empty()) {
    w.Key("description");
    w.String(c.description);
  }
  w.EndObject();
}

bool IsNumber(const std::string& v, bool integer) {
  if (v.empty()) return false;
  if (integer) {
    long long n;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return ec == std::errc() && p == v.data() + v.size();
  }
  double d;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  return ec == std::errc() && p == v.data() + v.size();
}

// One row as insertAll's {"insertId":…,"json":{…}}.
void WriteRow(JsonWriter& w, const TableSpec& table, const Row& row, std::size_t key) {
  w.StartObject();
  w.Key("insertId");
  w.String(row[key].value_or(""));
  w.Key("json");
  w.StartObject();
  for (std::size_t c = 0; c < table.columns.size() && c < row.size(); ++c) {
    if (!row[c]) continue;
    WriteKey(w, table.columns[c].name);
    const std::string& v = *row[c];
    switch (table.columns[c].type) {
      case config::FieldType::kInteger:
      case config::FieldType::kFloat:
        // A number goes as written; a value that is not one goes as a string: BigQuery then
        // rejects that row alone.
        if (IsNumber(v, table.columns[c].type == config::FieldType::kInteger)) {
          w.RawValue(v.data(), v.size(), rapidjson::kNumberType);
        } else {
          w.String(v);
        }
        break;
      case config::FieldType::kBoolean:
        w.Bool(v == "true" || v == "1");
        break;
      default:
        w.String(v);
    }
  }
  w.EndObject();
  w.EndObject();
}

// The tables.insert resource: reference, schema, and day partitioning where configured.
std::string TableResource(const sink::BigQueryConfig& config, const TableSpec& table) {
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  w.Key("tableReference");
  w.StartObject();
  w.Key("projectId");
  w.String(config.project);
  w.Key("datasetId");
  w.String(config.dataset);
  w.Key("tableId");
  w.String(table.name);
  w.EndObject();
  w.Key("schema");
  w.StartObject();
  w.Key("fields");
  w.StartArray();
  for (const auto& c : table.columns) WriteField(w, c);
  w.EndArray();
  w.EndObject();
  if (config.partition_single_tables && !table.time_partition_field.empty()) {
    w.Key("timePartitioning");
    w.StartObject();
    w.Key("type");
    w.String("DAY");
    w.Key("field");
    w.String(table.time_partition_field);
    w.EndObject();
  }
  w.EndObject();
  return {body.GetString(), body.GetSize()};
}

// The tables.patch body for a table whose tables.get answer is `got`: every field, the
// existing ones exactly as BigQuery gave them, then the columns of `table` it lacks, which
// are appended to `added`.
std::string SchemaPatch(const rapidjson::Document& got, const TableSpec& table,
                        std::vector<std::string>& added) {
  std::set<std::string> existing;
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  w.Key("schema");
  w.StartObject();
  w.Key("fields");
  w.StartArray();
  if (got.HasMember("schema") && got["schema"].HasMember("fields") &&
      got["schema"]["fields"].IsArray()) {
    for (const auto& f : got["schema"]["fields"].GetArray()) {
      if (f.HasMember("name") && f["name"].IsString()) existing.insert(f["name"].GetString());
      f.Accept(w);
    }
  }
  for (const auto& c : table.columns) {
    if (existing.count(c.name)) continue;
    Column nullable = c;  // a new column cannot be REQUIRED on a table that has rows
    nullable.mode = config::ColumnMode::kNullable;
    WriteField(w, nullable);
    added.push_back(c.name);
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return {body.GetString(), body.GetSize()};
}

// insertAll request bodies, {"kind":…,"skipInvalidRows":false,…,"rows":[row,…]}. The two
// buffers (the request, and the row being added) are reused from request to request.
class InsertAllBody {
 public:
  InsertAllBody(const TableSpec& table, std::size_t key) : table_(table), key_(key) {}

  // Begins the next request body.
  void Start() {
    body_.Clear();
    writer_.Reset(body_);
    rows_ = 0;
    writer_.StartObject();
    writer_.Key("kind");
    writer_.String("bigquery#tableDataInsertAllRequest");
    writer_.Key("skipInvalidRows");
    writer_.Bool(false);
    writer_.Key("ignoreUnknownValues");
    writer_.Bool(false);
    writer_.Key("rows");
    writer_.StartArray();
  }
  // Adds the row, unless the body holds rows already and would grow past `max_bytes` with it
  // (a request always carries at least one row).
  bool Add(const Row& row, std::size_t max_bytes) {
    row_json_.Clear();
    row_writer_.Reset(row_json_);
    WriteRow(row_writer_, table_, row, key_);
    // 3: the comma before the row and the closing "]}".
    if (rows_ > 0 && body_.GetSize() + row_json_.GetSize() + 3 > max_bytes) return false;
    writer_.RawValue(row_json_.GetString(), row_json_.GetSize(), rapidjson::kObjectType);
    ++rows_;
    return true;
  }
  // Closes the body; the text stays valid until the next Start.
  std::string_view Finish() {
    writer_.EndArray();
    writer_.EndObject();
    return {body_.GetString(), body_.GetSize()};
  }

 private:
  const TableSpec& table_;
  const std::size_t key_;
  rapidjson::StringBuffer body_;
  JsonWriter writer_{body_};
  rapidjson::StringBuffer row_json_;
  JsonWriter row_writer_{row_json_};
  std::size_t rows_ = 0;
};

}  // namespace

const char* BigQueryType(config::FieldType type) {
  switch (type) {
    case config::FieldType::kInteger:
      return "INTEGER";
    case config::FieldType::kFloat:
      return "FLOAT";
    case config::FieldType::kBoolean:
      return "BOOLEAN";
    case config::FieldType::kTimestamp:
      return "TIMESTAMP";
    default:
      return "STRING";
  }
}

BigQuerySink::BigQuerySink(sink::BigQueryConfig config, std::unique_ptr<google::TokenSource> tokens)
    : config_(std::move(config)), tokens_(std::move(tokens)) {}

BigQuerySink::~BigQuerySink() = default;

Result<std::unique_ptr<BigQuerySink>> BigQuerySink::Open(
    sink::BigQueryConfig config, std::unique_ptr<google::TokenSource> tokens) {
  auto sink = std::make_unique<BigQuerySink>(std::move(config), std::move(tokens));
  if (sink->config_.api == BigQueryApi::kStorageWrite) {
    auto client = StorageWriteClient::Connect(
        {.endpoint = sink->config_.storage_endpoint, .timeout = sink->config_.timeout},
        sink->tokens_);
    if (!client.ok()) return client.status();
    BigQuerySink* self = sink.get();
    sink->storage_ = std::make_unique<StorageWriter>(
        sink->config_, std::move(client).value(), [self](const TableSpec& table) {
          self->known_columns_.erase(table.name);  // BigQuery's schema is not what was cached
          return self->EnsureTable(table);
        });
  }
  return sink;
}

std::string BigQuerySink::LedgerName() const {
  return storage_ && config_.exactly_once ? "bigquery" : "";
}

void BigQuerySink::UseLedger(std::shared_ptr<queue::Ledger> ledger) {
  if (storage_) storage_->UseLedger(std::move(ledger));
}

std::uint64_t BigQuerySink::bytes_sent() const {
  return bytes_sent_.load() + (storage_ ? storage_->client().bytes_sent() : 0);
}

std::uint64_t BigQuerySink::requests() const {
  return requests_.load() + (storage_ ? storage_->client().appends() : 0);
}

std::string BigQuerySink::TablesUrl() const {
  return config_.endpoint + "/bigquery/v2/projects/" + FormEncode(config_.project) + "/datasets/" +
         FormEncode(config_.dataset) + "/tables";
}

Result<HttpResponse> BigQuerySink::Call(const std::string& method, const std::string& url,
                                        std::string_view body) {
  auto token = tokens_->Token();
  if (!token.ok()) {
    // A refused key is not fixed by retrying, but the events must stay queued until it is.
    return Status::Unavailable("BigQuery credentials: " + token.status().message());
  }
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.body.assign(body);
  request.timeout = config_.timeout;
  request.headers = {{"Authorization", "Bearer " + *token}, {"Content-Type", "application/json"}};
  ++requests_;
  bytes_sent_ += body.size();
  return HttpFetch(request);
}

Status BigQuerySink::EnsureTable(const TableSpec& table) {
  if (auto known = known_columns_.find(table.name); known != known_columns_.end()) {
    bool all = true;
    for (const auto& c : table.columns) all = all && known->second.count(c.name);
    if (all) return Status::Ok();
  }
  const std::string url = TablesUrl() + "/" + FormEncode(table.name);
  auto got = Call("GET", url, "");
  if (!got.ok()) return got.status();
  Status s = ClassifyHttp(*got, "tables.get " + table.name);
  if (s.code() == Status::Code::kNotFound) {
    auto created = Call("POST", TablesUrl(), TableResource(config_, table));
    if (!created.ok()) return created.status();
    if (created->status != 409) {  // 409: another loader created it meanwhile
      Status c = ClassifyHttp(*created, "tables.insert " + table.name);
      if (!c.ok()) return c;
      spdlog::info("bigquery: created table {}.{}", config_.dataset, table.name);
    }
  } else if (!s.ok()) {
    return s;
  } else {
    // Exists: add the columns it lacks (additive only), keeping its fields as they are.
    rapidjson::Document doc;
    doc.Parse(got->body.data(), got->body.size());
    if (doc.HasParseError() || !doc.IsObject())
      return Status::Unavailable("tables.get " + table.name + ": not JSON");
    std::vector<std::string> added;
    const std::string patch = SchemaPatch(doc, table, added);
    if (!added.empty()) {
      auto patched = Call("PATCH", url, patch);
      if (!patched.ok()) return patched.status();
      Status p = ClassifyHttp(*patched, "tables.patch " + table.name);
      if (!p.ok()) return p;
      spdlog::info("bigquery: added {} column(s) to {}.{}", added.size(), config_.dataset,
                   table.name);
    }
  }
  std::set<std::string> names;
  for (const auto& c : table.columns) names.insert(c.name);
  known_columns_[table.name] = std::move(names);
  return Status::Ok();
}

namespace {

// BigQuery's reasons for one insertErrors entry, "BigQuery invalid at x: message; …".
// `only_stopped` stays true when every error is "stopped": the row was refused only because
// a neighbour in the same request was invalid.
std::string InsertErrorReason(const rapidjson::Value& entry, bool& only_stopped) {
  std::string reason;
  if (!entry.HasMember("errors") || !entry["errors"].IsArray()) return reason;
  for (const auto& err : entry["errors"].GetArray()) {
    const std::string r =
        err.HasMember("reason") && err["reason"].IsString() ? err["reason"].GetString() : "";
    if (r == "stopped") continue;
    only_stopped = false;
    if (!reason.empty()) reason += "; ";
    reason += "BigQuery " + r;
    if (err.HasMember("location") && err["location"].IsString())
      reason += std::string(" at ") + err["location"].GetString();
    if (err.HasMember("message") && err["message"].IsString())
      reason += ": " + std::string(err["message"].GetString());
  }
  return reason;
}

}  // namespace

WriteResult BigQuerySink::Write(const TableSpec& table, const std::vector<Row>& rows) {
  if (storage_) return storage_->Write(table, rows);
  if (config_.api == BigQueryApi::kStorageWrite)
    return {Status::Internal("bigquery: api storage_write needs a sink made by BigQuerySink::Open"),
            {},
            {}};
  return InsertAll(table, rows);
}

WriteResult BigQuerySink::InsertAll(const TableSpec& table, const std::vector<Row>& rows) {
  WriteResult result;
  std::size_t key = 0;
  for (std::size_t c = 0; c < table.columns.size(); ++c)
    if (table.columns[c].name == table.key_column) key = c;
  const std::string url = TablesUrl() + "/" + FormEncode(table.name) + "/insertAll";

  std::vector<std::size_t> todo(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) todo[i] = i;
  std::set<std::size_t> rejected;
  std::size_t next = 0;
  InsertAllBody body(table, key);
  // Requests of at most max_rows rows and max_request_bytes; "stopped" rows are resent.
  for (int round = 0; next < todo.size(); ++round) {
    if (round >
        10 * static_cast<int>(rows.size() / std::max<std::size_t>(1, config_.max_rows) + 1)) {
      result.status = Status::Internal("insertAll did not settle");
      return result;
    }
    std::vector<std::size_t> chunk;
    body.Start();
    while (next < todo.size() && chunk.size() < config_.max_rows) {
      if (!body.Add(rows[todo[next]], config_.max_request_bytes)) break;
      chunk.push_back(todo[next++]);
    }
    auto response = Call("POST", url, body.Finish());
    if (!response.ok()) {
      result.status = response.status();
      return result;
    }
    Status s = ClassifyHttp(*response, "insertAll " + table.name);
    if (auto it = response->headers.find("retry-after"); !s.ok() && it != response->headers.end())
      result.retry_after = std::chrono::seconds(std::atoi(it->second.c_str()));
    if (!s.ok()) {
      // A 400 for the whole request is not about one row: keep everything queued.
      result.status =
          s.code() == Status::Code::kInvalidArgument ? Status::Unavailable(s.message()) : s;
      return result;
    }
    rapidjson::Document doc;
    doc.Parse(response->body.data(), response->body.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      result.status = Status::Unavailable("insertAll " + table.name + ": answer is not JSON");
      return result;
    }
    if (!doc.HasMember("insertErrors") || !doc["insertErrors"].IsArray()) continue;  // all stored
    std::vector<std::size_t> resend;
    for (const auto& e : doc["insertErrors"].GetArray()) {
      if (!e.HasMember("index") || !e["index"].IsUint() || e["index"].GetUint() >= chunk.size())
        continue;
      const std::size_t original = chunk[e["index"].GetUint()];
      bool only_stopped = true;
      std::string reason = InsertErrorReason(e, only_stopped);
      if (only_stopped) {
        resend.push_back(original);
      } else if (rejected.insert(original).second) {
        result.rejected.push_back({original, reason});
      }
    }
    // Rows stopped because of an invalid neighbour go again, after the remaining ones.
    todo.insert(todo.end(), resend.begin(), resend.end());
  }
  return result;
}

namespace {

// One named query parameter: {"name":…,"parameterType":{"type":…},"parameterValue":{"value":…}}.
void WriteParameter(JsonWriter& w, const char* name, const char* type, const std::string& value) {
  w.StartObject();
  w.Key("name");
  w.String(name);
  w.Key("parameterType");
  w.StartObject();
  w.Key("type");
  w.String(type);
  w.EndObject();
  w.Key("parameterValue");
  w.StartObject();
  w.Key("value");
  w.String(value);
  w.EndObject();
  w.EndObject();
}

// The jobs.query body: standard SQL with named parameters, waiting up to 10 s for the answer.
std::string QueryBody(const std::string& sql,
                      const std::vector<BigQuerySink::QueryParameter>& parameters,
                      const std::string& location) {
  rapidjson::StringBuffer body;
  JsonWriter w(body);
  w.StartObject();
  w.Key("query");
  w.String(sql);
  w.Key("useLegacySql");
  w.Bool(false);
  w.Key("parameterMode");
  w.String("NAMED");
  w.Key("queryParameters");
  w.StartArray();
  for (const auto& p : parameters) WriteParameter(w, p.name.c_str(), p.type, p.value);
  w.EndArray();
  w.Key("timeoutMs");
  w.Int(10000);
  if (!location.empty()) {
    w.Key("location");
    w.String(location);
  }
  w.EndObject();
  return {body.GetString(), body.GetSize()};
}

}  // namespace

Result<rapidjson::Document> BigQuerySink::RunQuery(const std::string& sql,
                                                   const std::vector<QueryParameter>& parameters) {
  const std::string base =
      config_.endpoint + "/bigquery/v2/projects/" + FormEncode(config_.project) + "/queries";
  auto response = Call("POST", base, QueryBody(sql, parameters, config_.location));
  if (!response.ok()) return response.status();
  Status s = ClassifyHttp(*response, "jobs.query");
  if (!s.ok()) return s;
  rapidjson::Document doc;
  doc.Parse(response->body.data(), response->body.size());
  // A query still running after timeoutMs: poll getQueryResults for the same job.
  for (int attempt = 0;
       attempt < 30 && !doc.HasParseError() && doc.IsObject() && doc.HasMember("jobComplete") &&
       doc["jobComplete"].IsBool() && !doc["jobComplete"].GetBool();
       ++attempt) {
    if (!doc.HasMember("jobReference") || !doc["jobReference"].HasMember("jobId")) break;
    std::string url =
        base + "/" + FormEncode(doc["jobReference"]["jobId"].GetString()) + "?timeoutMs=10000";
    if (!config_.location.empty()) url += "&location=" + FormEncode(config_.location);
    response = Call("GET", url, "");
    if (!response.ok()) return response.status();
    s = ClassifyHttp(*response, "jobs.getQueryResults");
    if (!s.ok()) return s;
    doc.Parse(response->body.data(), response->body.size());
  }
  if (doc.HasParseError() || !doc.IsObject())
    return Status::Unavailable("jobs.query: the answer is not JSON");
  if (doc.HasMember("jobComplete") && doc["jobComplete"].IsBool() && !doc["jobComplete"].GetBool())
    return Status::Unavailable("jobs.query: the job did not complete in time");
  return doc;
}

Result<std::vector<BigQuerySink::EventRow>> BigQuerySink::RecentEvents(
    const config::Site& site, const std::string& table_prefix, const std::string& key_column,
    const std::string& key_value, std::chrono::system_clock::time_point since, std::size_t limit) {
  // Identifiers cannot be parameters: they come only from the validated schema and config.
  bool known = false;
  for (const auto& f : site.schema) known = known || f.name == key_column;
  if (!known)
    return Status::InvalidArgument("history: '" + key_column + "' is not a field of site " +
                                   site.name);
  const std::string dataset = "`" + config_.project + "." + config_.dataset + ".";
  char since_text[32];
  since_text[FormatUtcMicros(since, since_text)] = '\0';
  std::string sql = "SELECT * FROM ";
  std::optional<std::string> since_day;
  if (site.tables == config::TableLayout::kDaily) {
    sql += dataset + table_prefix + site.name + "_*` WHERE _TABLE_SUFFIX >= @since_day AND ";
    // The day before `since` in UTC covers every zone's local date of that instant.
    since_day = LocalDateCompact(since - std::chrono::hours(24), TimeZone());
  } else {
    sql += dataset + table_prefix + site.name + "` WHERE ";
  }
  sql += "`" + key_column + "` = @key AND dt >= @since ORDER BY dt DESC LIMIT @limit";
  std::vector<QueryParameter> parameters;
  if (since_day) parameters.push_back({"since_day", "STRING", *since_day});
  parameters.push_back({"key", "STRING", key_value});
  parameters.push_back({"since", "TIMESTAMP", since_text});
  parameters.push_back({"limit", "INT64", std::to_string(limit)});
  auto answer = RunQuery(sql, parameters);
  if (!answer.ok()) return answer.status();
  const rapidjson::Document& doc = *answer;
  if (!doc.HasMember("schema"))
    return Status::Unavailable("jobs.query: no result (query not complete or not JSON)");
  std::vector<std::string> names;
  for (const auto& f : doc["schema"]["fields"].GetArray())
    names.emplace_back(f["name"].GetString());
  std::vector<EventRow> rows;
  if (!doc.HasMember("rows")) return rows;
  for (const auto& r : doc["rows"].GetArray()) {
    EventRow row;
    const auto& cells = r["f"].GetArray();
    for (rapidjson::SizeType i = 0; i < cells.Size() && i < names.size(); ++i) {
      if (cells[i].HasMember("v") && cells[i]["v"].IsString())
        row.emplace_back(names[i], cells[i]["v"].GetString());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<std::string>> BigQuerySink::ListTables() {
  std::vector<std::string> names;
  std::string page;
  do {
    std::string url = TablesUrl() + "?maxResults=1000";
    if (!page.empty()) url += "&pageToken=" + FormEncode(page);
    auto response = Call("GET", url, "");
    if (!response.ok()) return response.status();
    if (Status s = ClassifyHttp(*response, "tables.list"); !s.ok()) return s;
    rapidjson::Document doc;
    doc.Parse(response->body.data(), response->body.size());
    if (doc.HasParseError() || !doc.IsObject())
      return Status::Unavailable("tables.list: the answer is not JSON");
    if (doc.HasMember("tables") && doc["tables"].IsArray())
      for (const auto& t : doc["tables"].GetArray())
        if (t.HasMember("tableReference") && t["tableReference"].HasMember("tableId"))
          names.emplace_back(t["tableReference"]["tableId"].GetString());
    page = doc.HasMember("nextPageToken") && doc["nextPageToken"].IsString()
               ? doc["nextPageToken"].GetString()
               : "";
  } while (!page.empty());
  return names;
}

Result<std::optional<std::set<std::string>>> BigQuerySink::TableColumns(const std::string& table) {
  auto got = Call("GET", TablesUrl() + "/" + FormEncode(table), "");
  if (!got.ok()) return got.status();
  if (got->status == 404) return std::optional<std::set<std::string>>();
  if (Status s = ClassifyHttp(*got, "tables.get " + table); !s.ok()) return s;
  rapidjson::Document schema;
  schema.Parse(got->body.data(), got->body.size());
  std::set<std::string> columns;
  if (!schema.HasParseError() && schema.IsObject() && schema.HasMember("schema") &&
      schema["schema"].HasMember("fields") && schema["schema"]["fields"].IsArray())
    for (const auto& f : schema["schema"]["fields"].GetArray())
      if (f.HasMember("name") && f["name"].IsString()) columns.insert(f["name"].GetString());
  return std::optional<std::set<std::string>>(std::move(columns));
}

Result<long long> BigQuerySink::EraseRows(const std::string& table, const std::string& column,
                                          const std::string& value, bool count_only) {
  auto columns = TableColumns(table);
  if (!columns.ok()) return columns.status();
  if (!*columns) return Status::NotFound("tables.get " + table + ": no such table");
  if (!(*columns)->count(column)) return 0LL;
  const std::string from = "`" + config_.project + "." + config_.dataset + "." + table + "`";
  const std::string where = " WHERE CAST(`" + column + "` AS STRING) = @value";
  auto answer =
      RunQuery(count_only ? "SELECT COUNT(*) FROM " + from + where : "DELETE FROM " + from + where,
               {{"value", "STRING", value}});
  if (!answer.ok()) {
    if (answer.status().message().find("streaming buffer") != std::string::npos)
      return Status::Unavailable("bigquery: " + table +
                                 " has rows in the streaming buffer, which DML cannot change yet; "
                                 "run the erasure again in about 90 minutes");
    return answer.status();
  }
  const rapidjson::Document& doc = *answer;
  if (!count_only) {
    if (!doc.HasMember("numDmlAffectedRows") || !doc["numDmlAffectedRows"].IsString())
      return Status::Unavailable("jobs.query: a DELETE without numDmlAffectedRows");
    if (auto n = ParseDecimal(doc["numDmlAffectedRows"].GetString())) return *n;
    return Status::Unavailable("jobs.query: numDmlAffectedRows is not a number");
  }
  if (!doc.HasMember("rows") || !doc["rows"].IsArray() || doc["rows"].Empty())
    return Status::Unavailable("jobs.query: a COUNT(*) without a row");
  const auto& row = doc["rows"][0];
  if (row.IsObject() && row.HasMember("f") && row["f"].IsArray() && !row["f"].Empty() &&
      row["f"][0].HasMember("v") && row["f"][0]["v"].IsString())
    if (auto n = ParseDecimal(row["f"][0]["v"].GetString())) return *n;
  return Status::Unavailable("jobs.query: a COUNT(*) whose answer is not a number");
}

}  // namespace oceanus::sink
