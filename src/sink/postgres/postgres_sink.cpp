/* PostgresSink (sink/postgres/postgres_sink.h): tables, partitions, batches and history.
 *
 * A batch goes in as one transaction, first the fast way:
 *
 *   BEGIN; COPY t FROM STDIN; COMMIT
 *
 * which is all there is to it when no row was stored before and the server takes every value:
 * the usual case, and PostgreSQL's own bulk path. Any refusal of class 22 or 23 — a duplicate
 * key (the batch is a retry after a crash or a lost answer) or a value the server rejects —
 * aborts that transaction; nothing of it is stored, and the batch is written again the
 * careful way, idempotent by the key:
 *
 *   BEGIN; SAVEPOINT; COPY stage FROM STDIN; INSERT INTO t SELECT … FROM stage
 *   ON CONFLICT (eid[, dt]) DO NOTHING; RELEASE; COMMIT
 *
 * The stage is a temporary table (ON COMMIT DELETE ROWS) made once per connection and table
 * with the target's own column types (CREATE TEMP TABLE … AS SELECT … WITH NO DATA), so a
 * value the target cannot hold already fails in the COPY, as a data exception (22xxx).
 *
 * Rows are checked here first, as the SQLite sink checks them (integers, finite floats,
 * booleans, timestamps, required values, the row's width): such a row is rejected alone
 * without a round trip. What only the server can see (a CHECK constraint, a NUL byte or bad
 * UTF-8 in text, a JSON escape jsonb refuses, a value out of a type's range) fails the
 * savepoint with SQLSTATE class 22 or 23; the rows are then bisected, each half under its
 * own savepoint, until the refused rows stand alone and are returned in `rejected` with
 * PostgreSQL's message while the others are stored in the same transaction. Every other
 * failure rolls the whole batch back with a retryable or internal status.
 *
 * Schema changes (CREATE TABLE, ADD COLUMN IF NOT EXISTS, partitions) run in a transaction
 * holding an advisory lock on the table's name, so several loaders and the tables role can
 * ensure the same table at once.
 */
#include "sink/postgres/postgres_sink.h"

#include <algorithm>
#include <chrono>

#include "sink/history.h"
#include "sink/row_values.h"
#include "util/ascii.h"
#include "util/time.h"

namespace oceanus::sink {
namespace {

constexpr std::size_t kMaxNameBytes = 63;  // NAMEDATALEN - 1: longer names are truncated
constexpr std::size_t kMaxStages = 32;
constexpr const char* kLockSql = "SELECT pg_advisory_xact_lock(1868787315, hashtext($1))";

const char* PgType(const Column& c) {
  switch (c.type) {
    case config::FieldType::kInteger:
      return "bigint";
    case config::FieldType::kFloat:
      return "double precision";
    case config::FieldType::kBoolean:
      return "boolean";
    case config::FieldType::kTimestamp:
      return "timestamptz";
    case config::FieldType::kString:
      break;
  }
  return c.json ? "jsonb" : "text";
}

// `v` in COPY's text format: backslash, newline, carriage return and tab escaped.
void AppendCopyText(std::string_view v, std::string& out) {
  std::size_t plain = 0;  // start of the run of characters copied as they are
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const char* escaped = c == '\\'   ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : nullptr;
    if (escaped == nullptr) continue;
    out.append(v.substr(plain, i - plain));
    out += escaped;
    plain = i + 1;
  }
  out.append(v.substr(plain));
}

std::int64_t DayOf(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
}

// "YYYY-MM-DD" of a day since the epoch (UTC).
std::string DayText(std::int64_t day) {
  char text[kUtcMicrosLength];
  FormatUtcMicros(std::chrono::system_clock::time_point(std::chrono::days(day)), text);
  return std::string(text, 10);
}

std::string PartitionName(const std::string& table, std::int64_t day) {
  std::string d = DayText(day);
  d.erase(std::remove(d.begin(), d.end(), '-'), d.end());
  return table + "_p" + d;
}

// Appends column `col`'s value `v` to a COPY line; the reason when it is not of the type.
std::string EncodeValue(const Column& col, const std::string& v, std::string& line,
                        std::int64_t* day) {
  std::string reason;
  switch (col.type) {
    case config::FieldType::kInteger:
      if (ReadInteger(col, v, reason)) line += v;
      return reason;
    case config::FieldType::kFloat:
      if (ReadFloat(col, v, reason)) line += v;
      return reason;
    case config::FieldType::kBoolean:
      if (auto b = ReadBoolean(col, v, reason)) line += *b ? 't' : 'f';
      return reason;
    case config::FieldType::kTimestamp:
      if (auto t = ReadTimestamp(col, v, reason)) {
        if (day != nullptr) *day = DayOf(*t);
        line += v;
        line += "+00";
      }
      return reason;
    case config::FieldType::kString:
      break;
  }
  AppendCopyText(v, line);
  return {};
}

std::string ColumnList(const TableSpec& table) {
  std::string out;
  for (const auto& c : table.columns) out += (out.empty() ? "" : ", ") + QuoteIdent(c.name);
  return out;
}

bool Partitioned(const TableSpec& table) { return !table.time_partition_field.empty(); }

Status CheckSpec(const TableSpec& table) {
  const auto has = [&](const std::string& name) {
    return std::any_of(table.columns.begin(), table.columns.end(),
                       [&](const Column& c) { return c.name == name; });
  };
  if (!has(table.key_column))
    return Status::InvalidArgument("table " + table.name + ": key column " + table.key_column +
                                   " is not among its columns");
  if (Partitioned(table) && !has(table.time_partition_field))
    return Status::InvalidArgument("table " + table.name + ": partition column " +
                                   table.time_partition_field + " is not among its columns");
  // A partition's name is the longest: "<table>_pYYYYMMDD".
  const std::size_t longest = table.name.size() + (Partitioned(table) ? 10 : 0);
  if (longest > kMaxNameBytes)
    return Status::InvalidArgument("table " + table.name +
                                   ": PostgreSQL names are at most 63 bytes (partitions add 10)");
  return Status::Ok();
}

}  // namespace

Result<PostgresSink::TableInfo> PostgresSink::Describe(const std::string& table) {
  TableInfo info;
  const std::vector<std::string> name = {QuoteIdent(table)};
  auto kind = conn_.Query("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", name);
  if (!kind.ok()) return kind.status();
  if (PQntuples(kind->get()) == 0) return info;
  info.exists = true;
  info.partitioned = std::string(PQgetvalue(kind->get(), 0, 0)) == "p";
  auto cols = conn_.Query(
      "SELECT a.attname::text, a.atttypid::regtype::text, EXISTS (SELECT 1 FROM pg_index i "
      "WHERE i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY (i.indkey)) "
      "FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
      "AND NOT a.attisdropped ORDER BY a.attnum",
      name);
  if (!cols.ok()) return cols.status();
  for (int r = 0; r < PQntuples(cols->get()); ++r) {
    info.columns.emplace_back(PQgetvalue(cols->get(), r, 0), PQgetvalue(cols->get(), r, 1));
    if (std::string(PQgetvalue(cols->get(), r, 2)) == "t")
      info.key.insert(info.columns.back().first);
  }
  return info;
}

Status PostgresSink::CreateTable(const TableSpec& table) {
  const std::string name = QuoteIdent(table.name);
  std::string sql = "CREATE TABLE IF NOT EXISTS " + name + " (";
  std::string comments;
  for (const auto& c : table.columns) {
    sql += QuoteIdent(c.name) + " " + PgType(c);
    if (c.name == table.key_column || c.name == table.time_partition_field ||
        c.mode == config::ColumnMode::kRequired)
      sql += " NOT NULL";
    sql += ", ";
    if (!c.description.empty())
      comments += "; COMMENT ON COLUMN " + name + "." + QuoteIdent(c.name) + " IS " +
                  conn_.Literal(c.description);
  }
  sql += "PRIMARY KEY (" + QuoteIdent(table.key_column);
  if (Partitioned(table)) sql += ", " + QuoteIdent(table.time_partition_field);
  sql += "))";
  if (Partitioned(table))
    sql += " PARTITION BY RANGE (" + QuoteIdent(table.time_partition_field) + ")";
  return conn_.Exec(sql + comments);
}

Status PostgresSink::WidenTable(const TableSpec& table, const TableInfo& info) {
  std::set<std::string> expected_key = {table.key_column};
  if (Partitioned(table)) expected_key.insert(table.time_partition_field);
  if (info.key != expected_key) {
    std::string key;
    for (const auto& k : info.key) key += (key.empty() ? "" : ", ") + k;
    return Status::InvalidArgument("table " + table.name + " exists but its primary key is (" +
                                   key + "), not (" + table.key_column +
                                   (Partitioned(table) ? ", " + table.time_partition_field : "") +
                                   "): writes would not be idempotent");
  }
  if (Partitioned(table) != info.partitioned)
    return Status::InvalidArgument("table " + table.name + " exists but is " +
                                   (info.partitioned ? "" : "not ") +
                                   "partitioned, and the site's layout says it should " +
                                   (info.partitioned ? "not " : "") + "be");
  const std::string name = QuoteIdent(table.name);
  std::string sql;
  for (const auto& c : table.columns) {
    if (std::any_of(info.columns.begin(), info.columns.end(),
                    [&](const auto& have) { return have.first == c.name; }))
      continue;
    sql += (sql.empty() ? "" : "; ") + std::string("ALTER TABLE ") + name +
           " ADD COLUMN IF NOT EXISTS " + QuoteIdent(c.name) + " " + PgType(c);
    if (!c.description.empty())
      sql += "; COMMENT ON COLUMN " + name + "." + QuoteIdent(c.name) + " IS " +
             conn_.Literal(c.description);
  }
  return sql.empty() ? Status::Ok() : conn_.Exec(sql);
}

Status PostgresSink::EnsureSchema(const TableSpec& table) {
  if (Status s = conn_.Exec("BEGIN"); !s.ok()) return s;
  auto done = [&](Status s) {
    if (s.ok()) s = conn_.Exec("COMMIT");
    if (!s.ok()) conn_.RollbackIfOpen();
    return s;
  };
  if (auto locked = conn_.Query(kLockSql, {table.name}); !locked.ok()) return done(locked.status());
  auto info = Describe(table.name);
  if (!info.ok()) return done(info.status());
  Status changed = info->exists ? WidenTable(table, *info) : CreateTable(table);
  if (Status s = done(std::move(changed)); !s.ok()) return s;
  Known& known = known_[table.name];
  for (const auto& c : table.columns) known.columns.insert(c.name);
  return Status::Ok();
}

Status PostgresSink::EnsurePartitions(const TableSpec& table, const std::set<std::int64_t>& days) {
  Known& known = known_[table.name];
  std::vector<std::int64_t> missing;
  std::set_difference(days.begin(), days.end(), known.days.begin(), known.days.end(),
                      std::back_inserter(missing));
  if (missing.empty()) return Status::Ok();
  if (Status s = conn_.Ensure(); !s.ok()) return s;
  std::string sql;
  for (std::int64_t day : missing) {
    sql += "; CREATE TABLE IF NOT EXISTS " + QuoteIdent(PartitionName(table.name, day)) +
           " PARTITION OF " + QuoteIdent(table.name) + " FOR VALUES FROM ('" + DayText(day) +
           " 00:00:00+00') TO ('" + DayText(day + 1) + " 00:00:00+00')";
  }
  if (Status s = conn_.Exec("BEGIN"); !s.ok()) return s;
  auto locked = conn_.Query(kLockSql, {table.name});
  Status s = locked.ok() ? conn_.Exec(sql.substr(2)) : locked.status();
  if (s.ok()) s = conn_.Exec("COMMIT");
  if (!s.ok()) {
    conn_.RollbackIfOpen();
    return s;
  }
  known_[table.name].days.insert(missing.begin(), missing.end());
  return Status::Ok();
}

Status PostgresSink::EnsureTable(const TableSpec& table) {
  if (Status s = CheckSpec(table); !s.ok()) return s;
  std::set<std::int64_t> due;
  if (Partitioned(table)) {
    const std::int64_t today = DayOf(std::chrono::system_clock::now());
    due = {today, today + 1};
  }
  auto known = known_.find(table.name);
  const bool schema_known =
      known != known_.end() &&
      std::all_of(table.columns.begin(), table.columns.end(),
                  [&](const Column& c) { return known->second.columns.count(c.name) > 0; });
  if (schema_known &&
      std::includes(known->second.days.begin(), known->second.days.end(), due.begin(), due.end()))
    return Status::Ok();
  if (Status s = conn_.Ensure(); !s.ok()) return s;
  if (!schema_known) {
    if (Status s = EnsureSchema(table); !s.ok()) return s;
  }
  return EnsurePartitions(table, due);
}

PostgresSink::Encoded PostgresSink::Encode(const TableSpec& table, const std::vector<Row>& rows,
                                           std::vector<RowError>& rejected) const {
  Encoded out;
  // What each column must have, found once rather than per value.
  std::vector<char> required(table.columns.size());
  std::size_t partition = table.columns.size();
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    const Column& col = table.columns[c];
    if (col.name == table.time_partition_field) partition = c;
    required[c] =
        col.mode == config::ColumnMode::kRequired || col.name == table.key_column || c == partition;
  }
  out.index.reserve(rows.size());
  out.ends.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    const std::size_t line_start = out.data.size();
    std::string reject;
    std::int64_t day = 0;
    if (row.size() != table.columns.size())
      reject = "row has " + std::to_string(row.size()) + " values for " +
               std::to_string(table.columns.size()) + " columns";
    for (std::size_t c = 0; c < table.columns.size() && reject.empty(); ++c) {
      if (c > 0) out.data += '\t';
      if (!row[c]) {
        if (required[c]) reject = "column " + table.columns[c].name + " is required but missing";
        out.data += "\\N";
        continue;
      }
      reject = EncodeValue(table.columns[c], *row[c], out.data, c == partition ? &day : nullptr);
    }
    if (!reject.empty()) {
      out.data.resize(line_start);
      rejected.push_back({r, std::move(reject)});
      continue;
    }
    out.data += '\n';
    out.index.push_back(r);
    out.ends.push_back(out.data.size());
    if (Partitioned(table)) out.days.insert(day);
  }
  return out;
}

Result<std::string> PostgresSink::Stage(const TableSpec& table) {
  if (stages_generation_ != conn_.generation()) {
    stages_.clear();  // temporary tables end with the session
    stages_generation_ = conn_.generation();
  }
  const std::string key = table.name + '\0' + ColumnList(table);
  if (auto it = stages_.find(key); it != stages_.end()) return it->second;
  if (stages_.size() >= kMaxStages) {
    std::string drop;
    for (const auto& [k, stage] : stages_) drop += "DROP TABLE IF EXISTS " + stage + "; ";
    if (Status s = conn_.Exec(drop); !s.ok()) return s;
    stages_.clear();
  }
  const std::string name = "oceanus_stage_" + std::to_string(stages_.size());
  const std::string stage = "pg_temp." + name;
  Status s = conn_.Exec("DROP TABLE IF EXISTS " + stage + "; CREATE TEMP TABLE " + name +
                        " ON COMMIT DELETE ROWS AS SELECT " + ColumnList(table) + " FROM " +
                        QuoteIdent(table.name) + " WITH NO DATA");
  if (!s.ok()) return s;
  stages_.emplace(key, stage);
  return stage;
}

Status PostgresSink::Store(const TableSpec& table, const std::string& stage, const Encoded& rows,
                           std::size_t begin, std::size_t end, bool whole,
                           std::vector<RowError>& rejected) {
  const std::string columns = ColumnList(table);
  const std::string_view data = rows.Lines(begin, end);
  std::string conflict = QuoteIdent(table.key_column);
  if (Partitioned(table)) conflict += ", " + QuoteIdent(table.time_partition_field);
  Status s = conn_.Exec("SAVEPOINT oceanus_rows");
  if (s.ok()) s = conn_.CopyIn("COPY " + stage + " (" + columns + ") FROM STDIN", data);
  if (s.ok())
    s = conn_.Exec("INSERT INTO " + QuoteIdent(table.name) + " (" + columns + ") SELECT " +
                   columns + " FROM " + stage + " ON CONFLICT (" + conflict + ") DO NOTHING" +
                   (whole ? "" : "; TRUNCATE " + stage) + "; RELEASE SAVEPOINT oceanus_rows");
  if (s.ok() || s.code() != Status::Code::kInvalidArgument) return s;
  const std::string reason = "rejected by postgres: " + conn_.last_message();
  // A row without a partition is ours to fix (a partition dropped under us), never the row's.
  if (Partitioned(table) && conn_.last_message().rfind("no partition of relation", 0) == 0) {
    known_[table.name].days.clear();
    return Status::Unavailable("postgres: " + conn_.last_message());
  }
  s = conn_.Exec("ROLLBACK TO SAVEPOINT oceanus_rows; RELEASE SAVEPOINT oceanus_rows");
  if (!s.ok()) return s;
  if (end - begin == 1) {
    rejected.push_back({rows.index[begin], reason});
    return Status::Ok();
  }
  const std::size_t mid = begin + (end - begin) / 2;
  s = Store(table, stage, rows, begin, mid, false, rejected);
  if (!s.ok()) return s;
  return Store(table, stage, rows, mid, end, false, rejected);
}

Status PostgresSink::CopyDirect(const TableSpec& table, const Encoded& rows) {
  Status s = conn_.Exec("BEGIN");
  if (s.ok())
    s = conn_.CopyIn("COPY " + QuoteIdent(table.name) + " (" + ColumnList(table) + ") FROM STDIN",
                     rows.data);
  if (s.ok()) s = conn_.Exec("COMMIT");
  if (s.code() == Status::Code::kInvalidArgument && Partitioned(table) &&
      conn_.last_message().rfind("no partition of relation", 0) == 0) {
    known_[table.name].days.clear();  // a partition dropped under us: never the rows' fault
    return Status::Unavailable("postgres: " + conn_.last_message());
  }
  return s;
}

WriteResult PostgresSink::Write(const TableSpec& table, const std::vector<Row>& rows) {
  WriteResult result;
  if (rows.empty()) return result;
  auto fail = [&](Status s) {
    conn_.RollbackIfOpen();
    // A table or column dropped under us: ensure it again before the retry.
    if (conn_.last_sqlstate() == "42P01" || conn_.last_sqlstate() == "42703")
      known_.erase(table.name);
    result.status = std::move(s);
    result.rejected.clear();
    return result;
  };
  if (Status s = EnsureTable(table); !s.ok()) return fail(std::move(s));
  if (Status s = conn_.Ensure(); !s.ok()) return fail(std::move(s));  // reconnects after a loss
  Encoded encoded = Encode(table, rows, result.rejected);
  if (encoded.size() == 0) return result;
  if (Partitioned(table)) {
    if (Status s = EnsurePartitions(table, encoded.days); !s.ok()) return fail(std::move(s));
  }
  // The fast path: the batch straight into the table. Any refusal (a row stored before, so a
  // duplicate key; a value the server will not take) rolls it back, and the batch goes the
  // careful way.
  if (Status s = CopyDirect(table, encoded); s.ok()) {
    std::sort(result.rejected.begin(), result.rejected.end(),
              [](const RowError& a, const RowError& b) { return a.index < b.index; });
    return result;
  } else if (s.code() != Status::Code::kInvalidArgument) {
    return fail(std::move(s));
  }
  conn_.RollbackIfOpen();
  auto stage = Stage(table);
  if (!stage.ok()) return fail(stage.status());
  if (Status s = conn_.Exec("BEGIN"); !s.ok()) return fail(std::move(s));
  Status s = Store(table, *stage, encoded, 0, encoded.size(), true, result.rejected);
  if (s.ok() && conn_.in_failed_transaction())
    s = Status::Internal("postgres: batch transaction aborted");
  if (s.ok()) s = conn_.Exec("COMMIT");
  if (!s.ok()) return fail(std::move(s));
  std::sort(result.rejected.begin(), result.rejected.end(),
            [](const RowError& a, const RowError& b) { return a.index < b.index; });
  return result;
}

Result<std::vector<PostgresSink::EventRow>> PostgresSink::RecentEvents(
    const std::vector<std::string>& tables, const std::string& key_column,
    const std::string& key_value, const std::string& since_dt, std::size_t limit) {
  if (Status s = conn_.Ensure(); !s.ok()) return s;
  std::vector<DatedRow> found;
  for (const auto& table : tables) {
    auto info = Describe(table);
    if (!info.ok()) return info.status();
    const auto has = [&](const std::string& c) {
      return std::any_of(info->columns.begin(), info->columns.end(),
                         [&](const auto& have) { return have.first == c; });
    };
    if (!info->exists || !has(key_column) || !has("dt")) continue;
    // Each table's own columns: daily tables of different days may differ (the schema grew).
    std::string select;
    for (const auto& [name, type] : info->columns) {
      const std::string q = QuoteIdent(name);
      std::string e = q + "::text";
      if (type == "timestamp with time zone")
        e = "to_char(" + q + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')";
      if (type == "boolean") e = "CASE " + q + " WHEN true THEN 'true' WHEN false THEN 'false' END";
      select += (select.empty() ? "" : ", ") + e;
    }
    auto rows = conn_.Query("SELECT " + select + " FROM " + QuoteIdent(table) + " WHERE " +
                                QuoteIdent(key_column) + " = $1 AND \"dt\" >= $2::timestamptz " +
                                "ORDER BY \"dt\" DESC LIMIT $3::bigint",
                            {key_value, since_dt + "+00", std::to_string(limit)});
    if (!rows.ok()) {
      // A key that cannot be of the column's type matches nothing.
      if (conn_.last_sqlstate().rfind("22", 0) == 0) continue;
      return rows.status();
    }
    PGresult* res = rows->get();
    for (int r = 0; r < PQntuples(res); ++r) {
      DatedRow f;
      for (int c = 0; c < PQnfields(res); ++c) {
        if (PQgetisnull(res, r, c)) continue;
        const std::string& name = info->columns[static_cast<std::size_t>(c)].first;
        std::string value(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c)));
        if (name == "dt") f.dt = value;
        f.row.emplace_back(name, std::move(value));
      }
      found.push_back(std::move(f));
    }
  }
  return NewestFirst(std::move(found), limit);
}

namespace {

// A column's value as text in the overview's union; ties sort by bytes, not by the locale.
std::string PgText(const std::string& quoted) { return quoted + "::text"; }

}  // namespace

Result<SiteOverview> PostgresSink::Overview(const config::Site& site,
                                            const OverviewRequest& request,
                                            const std::vector<std::string>& tables) {
  if (Status s = conn_.Ensure(); !s.ok()) return s;
  std::vector<OverviewTable> present;
  for (const auto& table : tables) {
    auto info = Describe(table);
    if (!info.ok()) return info.status();
    if (!info->exists) continue;
    OverviewTable t{QuoteIdent(table), "", {}};
    for (const auto& [name, type] : info->columns) t.columns.insert(name);
    present.push_back(std::move(t));
  }
  OverviewDialect dialect;
  dialect.quote = &QuoteIdent;
  dialect.value = &PgText;
  dialect.order_value = "v COLLATE \"C\"";
  const OverviewSpelling spelling{[](std::size_t i, std::chrono::system_clock::time_point) {
                                    return "($1::timestamptz[])[" + std::to_string(i + 1) + "]";
                                  },
                                  "$2::bigint"};
  const auto run = [&](const std::string& sql, bool hours,
                       const std::vector<std::chrono::system_clock::time_point>& instants)
      -> Result<OverviewRows> {
    std::string array = "{";
    for (const auto& t : instants) {
      char dt[kUtcMicrosLength];
      FormatUtcMicros(t, dt);
      array += (array.size() > 1 ? ",\"" : "\"") + std::string(dt, kUtcMicrosLength) + "+00\"";
    }
    std::vector<std::string> params{array + "}"};
    if (!hours) params.push_back(std::to_string(request.top));
    auto result = conn_.Query(sql, params);
    if (!result.ok()) return result.status();
    PGresult* res = result->get();
    OverviewRows rows(static_cast<std::size_t>(PQntuples(res)));
    for (int r = 0; r < PQntuples(res); ++r)
      for (int c = 0; c < PQnfields(res); ++c)
        rows[static_cast<std::size_t>(r)].push_back(
            PQgetisnull(res, r, c)
                ? std::nullopt
                : std::optional<std::string>(std::in_place, PQgetvalue(res, r, c),
                                             static_cast<std::size_t>(PQgetlength(res, r, c))));
    return rows;
  };
  return RunOverview(site, request, present, dialect, spelling, run);
}

Result<std::vector<std::string>> PostgresSink::ListTables() {
  if (Status s = conn_.Ensure(); !s.ok()) return s;
  auto rows = conn_.Query(
      "SELECT c.relname::text FROM pg_class c WHERE c.relkind IN ('r', 'p') "
      "AND NOT c.relispartition AND c.relnamespace = current_schema()::regnamespace",
      {});
  if (!rows.ok()) return rows.status();
  std::vector<std::string> names;
  for (int r = 0; r < PQntuples(rows->get()); ++r)
    names.emplace_back(PQgetvalue(rows->get(), r, 0));
  return names;
}

Result<long long> PostgresSink::EraseRows(const std::string& table, const std::string& column,
                                          const std::string& value, bool count_only) {
  if (Status s = conn_.Ensure(); !s.ok()) return s;
  auto info = Describe(table);
  if (!info.ok()) return info.status();
  if (!info->exists || std::none_of(info->columns.begin(), info->columns.end(),
                                    [&](const auto& have) { return have.first == column; }))
    return 0LL;
  const std::string where = " FROM " + QuoteIdent(table) + " WHERE " + QuoteIdent(column) + " = $1";
  auto rows = conn_.Query(
      count_only ? "SELECT count(*)" + where
                 : "WITH erased AS (DELETE" + where + " RETURNING 1) SELECT count(*) FROM erased",
      {value});
  if (!rows.ok()) {
    // A value that cannot be of the column's type matches nothing.
    if (conn_.last_sqlstate().rfind("22", 0) == 0) return 0LL;
    return rows.status();
  }
  const auto count = ParseDecimal(PQgetvalue(rows->get(), 0, 0));
  if (!count) return Status::Internal("postgres: count(*) answered something else than a number");
  return *count;
}

}  // namespace oceanus::sink
