// BigQuerySink: tables.get / insert / patch and tabledata.insertAll over the REST API
// (endpoint configurable, so the tests talk to a local fake of the same shapes).
#include "sink/bigquery/bigquery_sink.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "event/json.h"
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

void AppendField(std::string& out, const Column& c, bool first) {
  if (!first) out += ',';
  out += "{\"name\":";
  event::AppendJsonString(out, c.name);
  out += ",\"type\":\"";
  out += BigQueryType(c.type);
  out += "\",\"mode\":\"";
  out += c.mode == config::ColumnMode::kRequired ? "REQUIRED" : "NULLABLE";
  out += '"';
  if (!c.description.empty()) {
    out += ",\"description\":";
    event::AppendJsonString(out, c.description);
  }
  out += '}';
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
void AppendRow(std::string& out, const TableSpec& table, const Row& row, std::size_t key) {
  out += "{\"insertId\":";
  event::AppendJsonString(out, row[key].value_or(""));
  out += ",\"json\":{";
  bool first = true;
  for (std::size_t c = 0; c < table.columns.size() && c < row.size(); ++c) {
    if (!row[c]) continue;
    if (!first) out += ',';
    first = false;
    event::AppendJsonString(out, table.columns[c].name);
    out += ':';
    const std::string& v = *row[c];
    switch (table.columns[c].type) {
      case config::FieldType::kInteger:
      case config::FieldType::kFloat:
        // A value that is not a number goes as a string: BigQuery then rejects that row alone.
        if (IsNumber(v, table.columns[c].type == config::FieldType::kInteger)) {
          out += v;
        } else {
          event::AppendJsonString(out, v);
        }
        break;
      case config::FieldType::kBoolean:
        out += v == "true" || v == "1" ? "true" : "false";
        break;
      default:
        event::AppendJsonString(out, v);
    }
  }
  out += "}}";
}

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

std::string BigQuerySink::TablesUrl() const {
  return config_.endpoint + "/bigquery/v2/projects/" + FormEncode(config_.project) + "/datasets/" +
         FormEncode(config_.dataset) + "/tables";
}

Result<HttpResponse> BigQuerySink::Call(const std::string& method, const std::string& url,
                                        const std::string& body) {
  auto token = tokens_->Token();
  if (!token.ok()) {
    // A refused key is not fixed by retrying, but the events must stay queued until it is.
    return Status::Unavailable("BigQuery credentials: " + token.status().message());
  }
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
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
    std::string body = "{\"tableReference\":{\"projectId\":";
    event::AppendJsonString(body, config_.project);
    body += ",\"datasetId\":";
    event::AppendJsonString(body, config_.dataset);
    body += ",\"tableId\":";
    event::AppendJsonString(body, table.name);
    body += "},\"schema\":{\"fields\":[";
    for (std::size_t i = 0; i < table.columns.size(); ++i)
      AppendField(body, table.columns[i], i == 0);
    body += "]}";
    if (config_.partition_single_tables && !table.time_partition_field.empty()) {
      body += ",\"timePartitioning\":{\"type\":\"DAY\",\"field\":";
      event::AppendJsonString(body, table.time_partition_field);
      body += "}";
    }
    body += "}";
    auto created = Call("POST", TablesUrl(), body);
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
    std::set<std::string> existing;
    std::string fields;
    if (doc.HasMember("schema") && doc["schema"].HasMember("fields") &&
        doc["schema"]["fields"].IsArray()) {
      for (const auto& f : doc["schema"]["fields"].GetArray()) {
        if (f.HasMember("name") && f["name"].IsString()) existing.insert(f["name"].GetString());
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        f.Accept(w);
        if (!fields.empty()) fields += ',';
        fields.append(buf.GetString(), buf.GetSize());
      }
    }
    std::vector<std::string> added;
    for (const auto& c : table.columns) {
      if (existing.count(c.name)) continue;
      Column nullable = c;  // a new column cannot be REQUIRED on a table that has rows
      nullable.mode = config::ColumnMode::kNullable;
      AppendField(fields, nullable, fields.empty());
      added.push_back(c.name);
    }
    if (!added.empty()) {
      auto patched = Call("PATCH", url, "{\"schema\":{\"fields\":[" + fields + "]}}");
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
  WriteResult result;
  std::size_t key = 0;
  for (std::size_t c = 0; c < table.columns.size(); ++c)
    if (table.columns[c].name == table.key_column) key = c;
  const std::string url = TablesUrl() + "/" + FormEncode(table.name) + "/insertAll";

  std::vector<std::size_t> todo(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) todo[i] = i;
  std::set<std::size_t> rejected;
  std::size_t next = 0;
  // Requests of at most max_rows rows and max_request_bytes; "stopped" rows are resent.
  for (int round = 0; next < todo.size(); ++round) {
    if (round >
        10 * static_cast<int>(rows.size() / std::max<std::size_t>(1, config_.max_rows) + 1)) {
      result.status = Status::Internal("insertAll did not settle");
      return result;
    }
    std::vector<std::size_t> chunk;
    std::string body =
        "{\"kind\":\"bigquery#tableDataInsertAllRequest\",\"skipInvalidRows\":false,"
        "\"ignoreUnknownValues\":false,\"rows\":[";
    while (next < todo.size() && chunk.size() < config_.max_rows) {
      std::string row_json;
      AppendRow(row_json, table, rows[todo[next]], key);
      if (!chunk.empty() && body.size() + row_json.size() + 3 > config_.max_request_bytes) break;
      if (!chunk.empty()) body += ',';
      body += row_json;
      chunk.push_back(todo[next++]);
    }
    body += "]}";
    auto response = Call("POST", url, body);
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

void AppendParameter(std::string& out, const char* name, const char* type,
                     const std::string& value) {
  out += "{\"name\":\"";
  out += name;
  out += "\",\"parameterType\":{\"type\":\"";
  out += type;
  out += "\"},\"parameterValue\":{\"value\":";
  event::AppendJsonString(out, value);
  out += "}}";
}

}  // namespace

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
  std::string params;
  if (site.tables == config::TableLayout::kDaily) {
    sql += dataset + table_prefix + site.name + "_*` WHERE _TABLE_SUFFIX >= @since_day AND ";
    // The day before `since` in UTC covers every zone's local date of that instant.
    AppendParameter(params, "since_day", "STRING",
                    LocalDateCompact(since - std::chrono::hours(24), TimeZone()));
    params += ',';
  } else {
    sql += dataset + table_prefix + site.name + "` WHERE ";
  }
  sql += "`" + key_column + "` = @key AND dt >= @since ORDER BY dt DESC LIMIT @limit";
  AppendParameter(params, "key", "STRING", key_value);
  params += ',';
  AppendParameter(params, "since", "TIMESTAMP", since_text);
  params += ',';
  AppendParameter(params, "limit", "INT64", std::to_string(limit));
  std::string body = "{\"query\":";
  event::AppendJsonString(body, sql);
  body += ",\"useLegacySql\":false,\"parameterMode\":\"NAMED\",\"queryParameters\":[" + params +
          "],\"timeoutMs\":10000";
  if (!config_.location.empty()) {
    body += ",\"location\":";
    event::AppendJsonString(body, config_.location);
  }
  body += "}";
  const std::string base =
      config_.endpoint + "/bigquery/v2/projects/" + FormEncode(config_.project) + "/queries";
  auto response = Call("POST", base, body);
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
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("schema"))
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

}  // namespace oceanus::sink
