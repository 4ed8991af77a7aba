/* ClickHouseSink (clickhouse_sink.h): DDL, batch INSERTs and history reads over HTTP.
 *
 * A batch is one `INSERT INTO db.t (columns) FORMAT RowBinary` whose body is gzip-compressed
 * (Content-Encoding: gzip; 18.16 and current releases inflate it). An INSERT of fewer rows
 * than max_insert_block_size (about a million) is one block, stored whole or not at all.
 *
 * RowBinary because the server reads it without parsing text: JSONEachRow made ClickHouse
 * spend more CPU parsing a batch than the loader spent reading it from the queue. RowBinary
 * has no names and no type checks, though: a value sent for a column of another type would be
 * misread, not refused. So it is used only for a table whose every column has exactly the
 * type the schema gives it (TypesMatchSchema, from system.columns); a table that differs (a
 * field whose type changed in the schema; the sink never retypes a column) is written as
 * JSONEachRow, which the server converts or refuses value by value.
 *
 * Failure classes (sink.h), decided from ClickHouse's `Code: N` (clickhouse_sql.h):
 *   - a value the client can tell is not of its column (not an integer, not a finite number,
 *     a timestamp outside DateTime's 1970..2105 range, NULL in a required column) rejects that
 *     row before anything is sent, as the sqlite sink does;
 *   - a parse or type error from the server (a column whose type in the table differs from the
 *     schema's, for instance) is narrowed down — around the row the error names ("at row N"),
 *     else by halving the batch — until the rows the server refuses alone are rejected with
 *     its message, the others stored;
 *   - transport failures, TOO_MANY_PARTS, MEMORY_LIMIT_EXCEEDED, timeouts, refused logins are
 *     Unavailable: nothing is acknowledged and the loader retries the batch. A half already
 *     stored when that happens is stored again by the retry, which the table de-duplicates.
 *
 * 18.16 has no `ADD COLUMN IF NOT EXISTS`: the columns are read from system.columns, the
 * missing ones added, and "column already exists" (code 44, another loader was first) is
 * success.
 */
#include "sink/clickhouse/clickhouse_sink.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>

#include "sink/clickhouse/clickhouse_sql.h"
#include "sink/history.h"
#include "sink/row_values.h"
#include "util/ascii.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/time.h"

namespace oceanus::sink {
namespace {

using clickhouse::QuoteName;
using clickhouse::QuoteString;

constexpr int kColumnExists = 44;  // ILLEGAL_COLUMN: "column with this name already exists"

// DateTime's range in 18.16 (UInt32 seconds; the last day is left out, it depends on the zone).
constexpr std::int64_t kMaxDateTimeSeconds = 4'294'880'895;

const char* BaseType(config::FieldType t) {
  switch (t) {
    case config::FieldType::kInteger:
      return "Int64";
    case config::FieldType::kFloat:
      return "Float64";
    case config::FieldType::kBoolean:
      return "UInt8";
    case config::FieldType::kTimestamp:
      return "DateTime('UTC')";
    case config::FieldType::kString:
      break;
  }
  return "String";
}

bool IsPartitionColumn(const Column& c) {
  return c.name == "dt" && c.type == config::FieldType::kTimestamp;
}

bool NeverNull(const TableSpec& table, const Column& c) {
  return c.name == table.key_column || IsPartitionColumn(c) ||
         c.mode == config::ColumnMode::kRequired;
}

std::string ColumnType(const TableSpec& table, const Column& c) {
  std::string type = c.name == table.key_column ? "String" : BaseType(c.type);
  return NeverNull(table, c) ? type : "Nullable(" + type + ")";
}

constexpr const char* kMicrosType = "UInt32";

std::string ColumnDefinition(const TableSpec& table, const Column& c) {
  std::string sql = QuoteName(c.name) + " " + ColumnType(table, c);
  if (!c.description.empty()) sql += " COMMENT " + QuoteString(c.description);
  return sql;
}

std::string MicrosDefinition(const Column& c) {
  return QuoteName(MicrosColumn(c.name)) + " " + kMicrosType + " DEFAULT 0";
}

// Every column the table needs, the schema's and the micros of each timestamp, with the type
// the sink creates it with.
std::map<std::string, std::string> NeededColumns(const TableSpec& table) {
  std::map<std::string, std::string> needed;
  for (const auto& c : table.columns) {
    needed.emplace(c.name, ColumnType(table, c));
    if (c.type == config::FieldType::kTimestamp) needed.emplace(MicrosColumn(c.name), kMicrosType);
  }
  return needed;
}

// The INSERT's column list, in the order of the values of a RowBinary row.
std::string InsertColumns(const TableSpec& table) {
  std::string names;
  for (const auto& c : table.columns) {
    names += (names.empty() ? "" : ", ") + QuoteName(c.name);
    if (c.type == config::FieldType::kTimestamp) names += ", " + QuoteName(MicrosColumn(c.name));
  }
  return names;
}

// The microseconds since 1970 of timestamp `v`, or nullopt and the reason when DateTime
// cannot hold it.
std::optional<std::int64_t> ReadDateTimeMicros(const Column& c, const std::string& v,
                                               std::string& reason) {
  auto t = ParseUtcMicros(v);
  const auto micros =
      t.ok() ? std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count()
             : -1;
  if (micros >= 0 && micros / 1'000'000 <= kMaxDateTimeSeconds) return micros;
  reason = NotA(c, v, "a timestamp between 1970 and 2105 (UTC)");
  return std::nullopt;
}

// RowBinary: fixed-width numbers little-endian, strings as a LEB128 length and the bytes,
// Nullable(T) as a byte (1: NULL) before T.
static_assert(std::endian::native == std::endian::little, "RowBinary numbers are little-endian");

template <typename T>
void PutFixed(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

void PutString(std::string& out, std::string_view v) {
  std::uint64_t n = v.size();
  for (; n >= 0x80; n >>= 7) out.push_back(static_cast<char>((n & 0x7f) | 0x80));
  out.push_back(static_cast<char>(n));
  out.append(v);
}

// Column `c` = `v` (and, for a timestamp, its micros column); the reason when `v` is not of
// its type.
std::string PutBinaryValue(std::string& out, const TableSpec& table, const Column& c,
                           const std::string& v) {
  std::string reason;
  if (!NeverNull(table, c)) out.push_back(0);
  if (c.name == table.key_column) {
    PutString(out, v);
    if (c.type == config::FieldType::kTimestamp) PutFixed<std::uint32_t>(out, 0);
    return {};
  }
  switch (c.type) {
    case config::FieldType::kInteger:
      if (auto n = ReadInteger(c, v, reason)) PutFixed(out, *n);
      return reason;
    case config::FieldType::kFloat:
      if (auto d = ReadFloat(c, v, reason)) PutFixed(out, *d);
      return reason;
    case config::FieldType::kBoolean:
      if (auto b = ReadBoolean(c, v, reason)) PutFixed<std::uint8_t>(out, *b ? 1 : 0);
      return reason;
    case config::FieldType::kTimestamp:
      if (auto micros = ReadDateTimeMicros(c, v, reason)) {
        PutFixed(out, static_cast<std::uint32_t>(*micros / 1'000'000));
        PutFixed(out, static_cast<std::uint32_t>(*micros % 1'000'000));
      }
      return reason;
    case config::FieldType::kString:
      break;
  }
  PutString(out, v);
  return {};
}

std::string AppendBinaryRow(const TableSpec& table, const Row& row, std::string& out) {
  for (std::size_t i = 0; i < row.size(); ++i) {
    const Column& c = table.columns[i];
    if (row[i]) {
      if (std::string reason = PutBinaryValue(out, table, c, *row[i]); !reason.empty())
        return reason;
      continue;
    }
    if (NeverNull(table, c)) return "column " + c.name + " is required but missing";
    out.push_back(1);
    if (c.type == config::FieldType::kTimestamp) PutFixed<std::uint32_t>(out, 0);  // micros
  }
  return {};
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(JsonWriter& w, const std::string& name) {
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
}

// Writes column `c` = `v` into the row object; the reason when `v` is not of its type.
std::string PutJsonValue(JsonWriter& w, const TableSpec& table, const Column& c,
                         const std::string& v) {
  std::string reason;
  switch (c.name == table.key_column ? config::FieldType::kString : c.type) {
    case config::FieldType::kInteger:
      if (auto n = ReadInteger(c, v, reason)) {
        Key(w, c.name);
        w.Int64(*n);
      }
      return reason;
    case config::FieldType::kFloat:
      if (auto d = ReadFloat(c, v, reason)) {
        Key(w, c.name);
        w.Double(*d);
      }
      return reason;
    case config::FieldType::kBoolean:
      if (auto b = ReadBoolean(c, v, reason)) {
        Key(w, c.name);
        w.Uint(*b ? 1 : 0);
      }
      return reason;
    case config::FieldType::kTimestamp:
      if (auto micros = ReadDateTimeMicros(c, v, reason)) {
        char text[kUtcMicrosLength];
        FormatUtcMicros(std::chrono::system_clock::time_point(std::chrono::microseconds(*micros)),
                        text);
        Key(w, c.name);
        w.String(text, 19);  // "YYYY-MM-DD HH:MM:SS", read as UTC by DateTime('UTC')
        Key(w, MicrosColumn(c.name));
        w.Uint(static_cast<unsigned>(*micros % 1'000'000));
      }
      return reason;
    case config::FieldType::kString:
      break;
  }
  Key(w, c.name);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  return {};
}

// One JSONEachRow line; NULLs are left out (the column's default is NULL).
std::string AppendJsonRow(const TableSpec& table, const Row& row, std::string& out) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  for (std::size_t i = 0; i < row.size(); ++i) {
    const Column& c = table.columns[i];
    if (!row[i]) {
      if (NeverNull(table, c)) return "column " + c.name + " is required but missing";
      continue;
    }
    if (std::string reason = PutJsonValue(w, table, c, *row[i]); !reason.empty()) return reason;
  }
  w.EndObject();
  out.append(buffer.GetString(), buffer.GetSize());
  out += '\n';
  return {};
}

// The first line of ClickHouse's error text, without the "e.what()" tail.
std::string ServerMessage(const std::string& body) {
  std::string msg = body.substr(0, body.find('\n'));
  if (const auto at = msg.find("e.displayText() = "); at != std::string::npos)
    msg = msg.substr(at + 18);
  if (msg.starts_with("DB::Exception: ")) msg = msg.substr(15);
  if (const auto at = msg.find(", e.what()"); at != std::string::npos) msg.resize(at);
  while (!msg.empty() && (msg.back() == ',' || msg.back() == ' ')) msg.pop_back();
  return msg.substr(0, 500);
}

// N of "(at row N)" in a parse error, or 0.
std::size_t ErrorRow(const std::string& message) {
  const auto at = message.find("(at row ");
  if (at == std::string::npos) return 0;
  std::size_t row = 0;
  const char* b = message.data() + at + 8;
  const auto [p, ec] = std::from_chars(b, message.data() + message.size(), row);
  return ec == std::errc() && p != b ? row : 0;
}

std::string Pad6(std::string us) {
  while (us.size() < 6) us.insert(us.begin(), '0');
  return us;
}

}  // namespace

std::string MicrosColumn(const std::string& name) { return name + "_us"; }

std::string Gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : std::string();
}

std::string ClickHouseSink::Table(const std::string& name) const {
  return QuoteName(config_.database) + "." + QuoteName(name);
}

Result<std::string> ClickHouseSink::Query(const std::string& sql, std::string_view body,
                                          bool gzip) {
  HttpRequest request;
  request.method = "POST";
  std::string base = config_.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // Names are always qualified with the database, which may not exist yet.
  request.url = base + "/?";
  if (!body.empty()) {
    request.url += "query=" + FormEncode(sql);
    request.body = gzip ? Gzip(body) : std::string(body);
    if (gzip) {
      request.url += "&enable_http_compression=1";
      request.headers.emplace_back("Content-Encoding", "gzip");
    }
  } else {
    // Buffered server-side, so that an error after the first rows is still an HTTP error.
    request.url += "wait_end_of_query=1";
    request.body = sql;
  }
  if (!config_.user.empty() || !config_.password.empty())
    request.headers.emplace_back(
        "Authorization", "Basic " + EncodeBase64((config_.user.empty() ? "default" : config_.user) +
                                                 ":" + config_.password));
  request.timeout = config_.timeout;
  HttpTransport transport;
  transport.ca_file = config_.ca_file;
  auto response = HttpFetch(request, transport);
  if (!response.ok()) return Status::Unavailable("clickhouse: " + response.status().message());
  if (response->status != 200) {
    const std::string what = "clickhouse: " + sql.substr(0, 120);
    return clickhouse::ErrorStatus(what, response->status, response->body);
  }
  return std::move(response->body);
}

Status ClickHouseSink::EnsureDatabase() {
  if (database_ready_) return Status::Ok();
  auto r = Query("CREATE DATABASE IF NOT EXISTS " + QuoteName(config_.database));
  if (!r.ok()) return r.status();
  database_ready_ = true;
  return Status::Ok();
}

Result<std::map<std::string, ClickHouseSink::TableInfo>> ClickHouseSink::DescribeTables(
    const std::vector<std::string>& names) {
  std::map<std::string, TableInfo> found;
  if (names.empty()) return found;
  std::string in;
  for (const auto& n : names) in += (in.empty() ? "" : ", ") + QuoteString(n);
  const std::string where = " WHERE database = " + QuoteString(config_.database) + " AND " +
                            "%s IN (" + in + ") FORMAT TabSeparated";
  // A line per table, (table, engine) from system.tables, then one per column, (table,
  // column, type) from system.columns.
  for (const char* sql : {"SELECT name, engine, '' FROM system.tables",
                          "SELECT table, name, type FROM system.columns"}) {
    const bool columns = std::string_view(sql).ends_with("columns");
    std::string query = sql + where;
    query.replace(query.find("%s"), 2, columns ? "table" : "name");
    auto r = Query(query);
    if (!r.ok()) return r.status();
    std::string_view text = *r;
    while (!text.empty()) {
      const auto nl = text.find('\n');
      const auto fields = clickhouse::SplitTsvLine(text.substr(0, nl));
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (fields.size() != 3 || !fields[0] || !fields[1] || !fields[2]) continue;
      if (!columns) {
        found[*fields[0]].engine = *fields[1];
      } else if (auto t = found.find(*fields[0]); t != found.end()) {
        t->second.columns[*fields[1]] = *fields[2];
      }
    }
  }
  return found;
}

Status ClickHouseSink::CreateTable(const TableSpec& table) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + Table(table.name) + " (";
  bool has_dt = false;
  bool has_visitor = false;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    const Column& c = table.columns[i];
    sql += (i > 0 ? ", " : "") + ColumnDefinition(table, c);
    if (c.type == config::FieldType::kTimestamp) sql += ", " + MicrosDefinition(c);
    has_dt = has_dt || IsPartitionColumn(c);
    has_visitor = has_visitor || (c.name == config_.visitor_column && c.name != table.key_column &&
                                  c.type == config::FieldType::kString);
  }
  sql += ") ENGINE = ReplacingMergeTree";
  std::string order;
  if (has_dt) {
    sql += " PARTITION BY toYYYYMMDD(dt)";
    order = "toStartOfHour(dt), ";
  }
  if (has_visitor) {
    const auto& visitor =
        *std::find_if(table.columns.begin(), table.columns.end(),
                      [&](const Column& c) { return c.name == config_.visitor_column; });
    order += NeverNull(table, visitor) ? QuoteName(visitor.name)
                                       : "ifNull(" + QuoteName(visitor.name) + ", '')";
    order += ", ";
  }
  order += QuoteName(table.key_column);
  sql += " ORDER BY (" + order + ")";
  auto r = Query(sql);
  return r.ok() ? Status::Ok() : r.status();
}

bool TypesMatchSchema(const TableSpec& table, const std::map<std::string, std::string>& types,
                      std::string* differs) {
  auto same = [&](const std::string& name, const std::string& wanted) {
    const auto it = types.find(name);
    if (it == types.end() || it->second == wanted) return true;
    if (differs) *differs = name + " is " + it->second + ", not " + wanted;
    return false;
  };
  for (const Column& c : table.columns) {
    if (!same(c.name, ColumnType(table, c))) return false;
    if (c.type == config::FieldType::kTimestamp && !same(MicrosColumn(c.name), kMicrosType))
      return false;
  }
  return true;
}

Status ClickHouseSink::EnsureTable(const TableSpec& table) {
  // Known when every column was ensured with the type the schema gives it now: a field whose
  // type changed is looked at again, since it decides the format.
  const std::map<std::string, std::string> needed = NeededColumns(table);
  if (auto known = known_.find(table.name); known != known_.end()) {
    const auto& ensured = known->second.columns;
    if (std::all_of(needed.begin(), needed.end(), [&](const auto& c) {
          const auto it = ensured.find(c.first);
          return it != ensured.end() && it->second == c.second;
        }))
      return Status::Ok();
  }
  const bool has_key = std::any_of(table.columns.begin(), table.columns.end(),
                                   [&](const Column& c) { return c.name == table.key_column; });
  if (!has_key)
    return Status::InvalidArgument("table " + table.name + ": key column " + table.key_column +
                                   " is not among its columns");
  const auto timestamps = std::count_if(table.columns.begin(), table.columns.end(), [](auto& c) {
    return c.type == config::FieldType::kTimestamp;
  });
  if (needed.size() != table.columns.size() + static_cast<std::size_t>(timestamps))
    return Status::InvalidArgument("table " + table.name +
                                   ": a field is named like a timestamp's micros column (" +
                                   MicrosColumn("<timestamp>") + ")");
  if (Status s = EnsureDatabase(); !s.ok()) return s;
  auto format = EnsureColumns(table);
  if (!format.ok()) {
    database_ready_ = false;  // a dropped database is created again by the next try
    return format.status();
  }
  known_[table.name] = {needed, *format};
  return Status::Ok();
}

Result<ClickHouseSink::InsertFormat> ClickHouseSink::EnsureColumns(const TableSpec& table) {
  auto described = DescribeTables({table.name});
  if (!described.ok()) return described.status();
  auto it = described->find(table.name);
  if (it == described->end()) {
    if (Status s = CreateTable(table); !s.ok()) return s;
    return InsertFormat::kRowBinary;
  }
  const TableInfo& info = it->second;
  if (info.engine.find("ReplacingMergeTree") == std::string::npos ||
      info.columns.count(table.key_column) == 0)
    return Status::InvalidArgument("table " + config_.database + "." + table.name +
                                   " exists but is not a ReplacingMergeTree with " +
                                   table.key_column + ": writes would not be idempotent");
  for (const auto& c : table.columns) {
    std::vector<std::string> defs;
    if (info.columns.count(c.name) == 0) defs.push_back(ColumnDefinition(table, c));
    if (c.type == config::FieldType::kTimestamp && info.columns.count(MicrosColumn(c.name)) == 0)
      defs.push_back(MicrosDefinition(c));
    for (const auto& def : defs) {
      auto added = Query("ALTER TABLE " + Table(table.name) + " ADD COLUMN " + def);
      if (!added.ok() && clickhouse::ErrorCode(added.status().message()) != kColumnExists)
        return added.status();
    }
  }
  std::string differs;
  if (TypesMatchSchema(table, info.columns, &differs)) return InsertFormat::kRowBinary;
  spdlog::warn(
      "clickhouse: table {}.{}: column {}; its rows are sent as JSONEachRow, which the "
      "server converts or refuses value by value",
      config_.database, table.name, differs);
  return InsertFormat::kJsonEachRow;
}

Status ClickHouseSink::Insert(const TableSpec& table, InsertFormat format, const EncodedRows& rows,
                              const std::vector<std::size_t>& indices,
                              std::vector<RowError>& rejected) {
  // The rows are sent from the batch's bytes as they are when they follow each other there
  // (a whole batch without rejected rows), else copied together.
  std::string joined;
  std::string_view body;
  const auto& spans = rows.spans;
  const bool adjacent =
      std::adjacent_find(indices.begin(), indices.end(), [&](std::size_t a, std::size_t b) {
        return spans[a].second != spans[b].first;
      }) == indices.end();
  if (adjacent) {
    body = std::string_view(rows.data).substr(
        spans[indices.front()].first, spans[indices.back()].second - spans[indices.front()].first);
  } else {
    for (std::size_t i : indices)
      joined.append(rows.data, spans[i].first, spans[i].second - spans[i].first);
    body = joined;
  }
  std::string sql = "INSERT INTO " + Table(table.name);
  if (format == InsertFormat::kRowBinary) {
    sql += " (" + InsertColumns(table) + ") FORMAT RowBinary";
  } else {
    sql += " FORMAT JSONEachRow";
  }
  auto r = Query(sql, body, config_.compress);
  if (r.ok()) return Status::Ok();
  const int code = clickhouse::ErrorCode(r.status().message());
  const auto kind = code < 0 ? clickhouse::ErrorClass::kRetryable : clickhouse::Classify(code);
  if (kind == clickhouse::ErrorClass::kOther) known_.erase(table.name);  // looked at again
  if (kind != clickhouse::ErrorClass::kRow) return r.status();
  if (indices.size() == 1) {
    const std::string& msg = r.status().message();
    rejected.push_back({indices[0], "rejected by ClickHouse (code " + std::to_string(code) +
                                        "): " + ServerMessage(msg.substr(msg.find("Code: ")))});
    return Status::Ok();
  }
  // A parse error names its row ("(at row N)", from 1): the rows before it parsed, so the
  // batch splits around that row; without the hint, in halves.
  const std::size_t at = ErrorRow(r.status().message());
  std::vector<std::vector<std::size_t>> parts;
  if (at >= 1 && at <= indices.size()) {
    const auto bad = indices.begin() + static_cast<std::ptrdiff_t>(at - 1);
    parts = {{indices.begin(), bad}, {bad, bad + 1}, {bad + 1, indices.end()}};
  } else {
    const auto half = indices.begin() + static_cast<std::ptrdiff_t>(indices.size() / 2);
    parts = {{indices.begin(), half}, {half, indices.end()}};
  }
  for (const auto& part : parts) {
    if (part.empty()) continue;
    if (Status s = Insert(table, format, rows, part, rejected); !s.ok()) return s;
  }
  return Status::Ok();
}

WriteResult ClickHouseSink::Write(const TableSpec& table, const std::vector<Row>& rows) {
  WriteResult result;
  const auto known = known_.find(table.name);
  const InsertFormat format =
      known != known_.end() ? known->second.format : InsertFormat::kJsonEachRow;
  EncodedRows encoded;
  encoded.spans.resize(rows.size());
  std::vector<std::size_t> good;
  good.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::size_t begin = encoded.data.size();
    std::string reason;
    if (rows[r].size() != table.columns.size())
      reason = "row has " + std::to_string(rows[r].size()) + " values for " +
               std::to_string(table.columns.size()) + " columns";
    else if (format == InsertFormat::kRowBinary)
      reason = AppendBinaryRow(table, rows[r], encoded.data);
    else
      reason = AppendJsonRow(table, rows[r], encoded.data);
    if (!reason.empty()) {
      encoded.data.resize(begin);
      result.rejected.push_back({r, std::move(reason)});
      continue;
    }
    encoded.spans[r] = {begin, encoded.data.size()};
    good.push_back(r);
  }
  if (good.empty()) return result;
  result.status = Insert(table, format, encoded, good, result.rejected);
  if (!result.status.ok()) {
    result.rejected.clear();
    return result;
  }
  std::sort(result.rejected.begin(), result.rejected.end(),
            [](const RowError& a, const RowError& b) { return a.index < b.index; });
  return result;
}

Result<std::vector<ClickHouseSink::EventRow>> ClickHouseSink::RecentEvents(
    const std::vector<std::string>& tables, const std::string& key_column,
    const std::string& key_value, const std::set<std::string>& timestamps,
    std::chrono::system_clock::time_point since, std::size_t limit) {
  auto described = DescribeTables(tables);
  if (!described.ok()) return described.status();
  char since_text[kUtcMicrosLength];
  FormatUtcMicros(since, since_text);
  const std::string since_seconds = QuoteString(std::string_view(since_text, 19));
  const std::string since_micros(since_text + 20, 6);
  std::vector<DatedRow> found;
  for (const auto& table : tables) {
    auto info = described->find(table);
    if (info == described->end() || !info->second.columns.count(key_column) ||
        !info->second.columns.count("dt") || !info->second.columns.count(MicrosColumn("dt")))
      continue;
    const std::string dt = "toDateTime(" + since_seconds + ", 'UTC')";
    auto r = Query("SELECT * FROM " + Table(table) + " FINAL WHERE " + QuoteName(key_column) +
                   " = " + QuoteString(key_value) + " AND (dt > " + dt + " OR (dt = " + dt +
                   " AND dt_us >= " + std::to_string(std::stoul(since_micros)) +
                   ")) ORDER BY dt DESC, dt_us DESC LIMIT " + std::to_string(limit) +
                   " FORMAT TabSeparatedWithNames");
    if (!r.ok()) return r.status();
    std::string_view text = *r;
    std::vector<std::optional<std::string>> names;
    for (bool header = true; !text.empty(); header = false) {
      const auto nl = text.find('\n');
      auto fields = clickhouse::SplitTsvLine(text.substr(0, nl));
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (header) {
        names = std::move(fields);
        continue;
      }
      std::map<std::string, std::string> values;  // to find each timestamp's micros
      for (std::size_t i = 0; i < fields.size() && i < names.size(); ++i)
        if (fields[i] && names[i]) values[*names[i]] = *fields[i];
      DatedRow f;
      for (std::size_t i = 0; i < fields.size() && i < names.size(); ++i) {
        if (!fields[i] || !names[i]) continue;
        const std::string& name = *names[i];
        if (name.ends_with("_us") && timestamps.count(name.substr(0, name.size() - 3))) continue;
        std::string value = *fields[i];
        if (timestamps.count(name)) {
          const auto us = values.find(MicrosColumn(name));
          value += "." + Pad6(us != values.end() ? us->second : "0");
        }
        if (name == "dt") f.dt = value;
        f.row.emplace_back(name, std::move(value));
      }
      found.push_back(std::move(f));
    }
  }
  return NewestFirst(std::move(found), limit);
}

namespace {

std::string ChName(const std::string& name) { return QuoteName(name); }
// Every branch of the overview's union gives v the same type, whatever the column's.
std::string ChText(const std::string& quoted) { return "toNullable(toString(" + quoted + "))"; }

}  // namespace

Result<SiteOverview> ClickHouseSink::Overview(const config::Site& site,
                                              const OverviewRequest& request,
                                              const std::vector<std::string>& tables) {
  auto described = DescribeTables(tables);
  if (!described.ok()) return described.status();
  std::vector<OverviewTable> present;
  for (const auto& table : tables) {
    auto info = described->find(table);
    if (info == described->end()) continue;
    OverviewTable t{Table(table), "", {}};
    for (const auto& [name, type] : info->second.columns) t.columns.insert(name);
    present.push_back(std::move(t));
  }
  OverviewDialect dialect;
  dialect.quote = &ChName;
  dialect.value = &ChText;
  dialect.missing = "CAST(NULL AS Nullable(String))";
  dialect.after_table = " FINAL";
  dialect.count_distinct = "uniqExact(v)";
  // Whole seconds (LocalHours' instants are), compared with dt, which holds whole seconds.
  const OverviewSpelling spelling{[](std::size_t, std::chrono::system_clock::time_point t) {
                                    char text[kUtcMicrosLength];
                                    FormatUtcMicros(t, text);
                                    return "toDateTime(" + QuoteString(std::string_view(text, 19)) +
                                           ", 'UTC')";
                                  },
                                  std::to_string(request.top)};
  const auto run =
      [&](const std::string& sql, bool,
          const std::vector<std::chrono::system_clock::time_point>&) -> Result<OverviewRows> {
    auto r = Query(sql + " FORMAT TabSeparated");
    if (!r.ok()) return r.status();
    OverviewRows rows;
    std::string_view text = *r;
    while (!text.empty()) {
      const auto nl = text.find('\n');
      rows.push_back(clickhouse::SplitTsvLine(text.substr(0, nl)));
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
    return rows;
  };
  return RunOverview(site, request, present, dialect, spelling, run);
}

Result<std::vector<std::string>> ClickHouseSink::ListTables() {
  auto r =
      Query("SELECT name FROM system.tables WHERE database = " + QuoteString(config_.database) +
            " FORMAT TabSeparated");
  if (!r.ok()) return r.status();
  std::vector<std::string> names;
  std::string_view text = *r;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    auto fields = clickhouse::SplitTsvLine(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (fields.size() == 1 && fields[0]) names.push_back(std::move(*fields[0]));
  }
  return names;
}

Result<long long> ClickHouseSink::EraseRows(const std::string& table, const std::string& column,
                                            const std::string& value, bool count_only) {
  auto described = DescribeTables({table});
  if (!described.ok()) return described.status();
  auto info = described->find(table);
  if (info == described->end() || !info->second.columns.count(column)) return 0LL;
  const std::string where = " WHERE toString(" + QuoteName(column) + ") = " + QuoteString(value);
  auto counted = Query("SELECT count() FROM " + Table(table) + " FINAL" + where);
  if (!counted.ok()) return counted.status();
  const auto rows = ParseDecimal(*counted);
  if (!rows) return Status::Unavailable("clickhouse: count() answered '" + *counted + "'");
  if (count_only || *rows == 0) return *rows;
  if (auto r = Query("ALTER TABLE " + Table(table) + " DELETE" + where); !r.ok()) return r.status();
  // A mutation runs in the background; the rows are gone for readers once it is done.
  const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
  for (auto pause = std::chrono::milliseconds(10);;
       pause = std::min(pause * 2, std::chrono::milliseconds(500))) {
    auto running = Query(
        "SELECT count() FROM system.mutations WHERE database = " + QuoteString(config_.database) +
        " AND table = " + QuoteString(table) + " AND is_done = 0");
    if (!running.ok()) return running.status();
    if (ParseDecimal(*running) == 0LL) return *rows;
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Unavailable("clickhouse: the deletion from " + table +
                                 " is still running after the timeout; it will finish in the "
                                 "background (see system.mutations)");
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace oceanus::sink
