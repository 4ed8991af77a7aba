// PgConnection (sink/postgres/postgres_connection.h): lazy connect with backoff, statements,
// COPY, and the SQLSTATE classes.
#include "sink/postgres/postgres_connection.h"

#include "util/log.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace oceanus::sink {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{200};
constexpr std::chrono::milliseconds kMaxBackoff{10'000};

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

Status ClassifySqlState(const std::string& state, std::string message) {
  if (state.empty() || StartsWith(state, "08") || StartsWith(state, "53") || state == "57P01" ||
      state == "57P02" || state == "57P03" || state == "57014" || state == "40001" ||
      state == "40P01" || state == "55P03")
    return Status::Unavailable(std::move(message));
  if (StartsWith(state, "58")) return Status::IoError(std::move(message));
  if (StartsWith(state, "22") || StartsWith(state, "23"))
    return Status::InvalidArgument(std::move(message));
  return Status::Internal(std::move(message));
}

// libpq's messages end in a newline and may span several lines ("…failed: Connection
// refused\n\tIs the server running…"): one line, for the log and the dead-letter.
std::string Trimmed(const char* text) {
  std::string s;
  for (const char* p = text != nullptr ? text : ""; *p != '\0'; ++p) {
    const bool space = *p == '\n' || *p == '\t' || *p == '\r';
    if (!space) {
      s += *p;
    } else if (!s.empty() && s.back() != ' ') {
      s += ' ';
    }
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

void QuietNotice(void*, const char* message) { spdlog::debug("postgres: {}", Trimmed(message)); }

struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using Conninfo = std::unique_ptr<PQconninfoOption, ConninfoDeleter>;

}  // namespace

std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Result<std::string> DescribeConninfo(const std::string& url) {
  char* err = nullptr;
  Conninfo options(PQconninfoParse(url.c_str(), &err));
  if (!options) {
    std::string message = err != nullptr ? Trimmed(err) : "out of memory";
    PQfreemem(err);
    return Status::InvalidArgument(message);
  }
  std::string out;
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (!out.empty()) out += ' ';
    out += o->keyword;
    out += '=';
    out += std::strcmp(o->keyword, "password") == 0 ? "(hidden)" : o->val;
  }
  return out;
}

std::string ConninfoTarget(const std::string& url) {
  Conninfo options(PQconninfoParse(url.c_str(), nullptr));
  std::string host, port, db, user;
  for (const PQconninfoOption* o = options.get(); o && o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "host") == 0) host = o->val;
    if (std::strcmp(o->keyword, "hostaddr") == 0 && host.empty()) host = o->val;
    if (std::strcmp(o->keyword, "port") == 0) port = o->val;
    if (std::strcmp(o->keyword, "dbname") == 0) db = o->val;
    if (std::strcmp(o->keyword, "user") == 0) user = o->val;
  }
  const auto env = [](const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr && *v != '\0' ? v : fallback);
  };
  if (host.empty()) host = env("PGHOST", "(local socket)");
  if (port.empty()) port = env("PGPORT", "5432");
  if (user.empty()) user = env("PGUSER", "(login user)");
  if (db.empty()) db = env("PGDATABASE", user.c_str());
  return user + "@" + host + ":" + port + "/" + db;
}

Status PgConnection::Ensure() {
  if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) return Status::Ok();
  conn_.reset();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_)
    return Status::Unavailable(
        "postgres: not connected (next attempt in " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count()) +
        " ms)");
  // Our defaults first: with expand_dbname the URL (in dbname) overrides them, and an
  // explicit password comes last so that it overrides the URL's.
  const std::string timeout =
      std::to_string(std::max<long long>(1, (config_.connect_timeout.count() + 999) / 1000));
  std::vector<const char*> keys = {"connect_timeout",     "application_name", "keepalives_idle",
                                   "keepalives_interval", "keepalives_count", "dbname"};
  std::vector<const char*> values = {timeout.c_str(),    "oceanus", "30", "10", "3",
                                     config_.url.c_str()};
  if (!config_.password.empty()) {
    keys.push_back("password");
    values.push_back(config_.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_.reset(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    std::string message =
        "postgres: cannot connect to " + ConninfoTarget(config_.url) + ": " +
        (conn_ ? Trimmed(PQerrorMessage(conn_.get())) : std::string("out of memory"));
    conn_.reset();
    backoff_ = std::min(kMaxBackoff, backoff_.count() == 0 ? kFirstBackoff : backoff_ * 2);
    next_attempt_ = now + backoff_;
    last_sqlstate_.clear();
    last_message_ = message;
    return Status::Unavailable(std::move(message));
  }
  PQsetNoticeProcessor(conn_.get(), QuietNotice, nullptr);
  backoff_ = std::chrono::milliseconds(0);
  ++generation_;
  const Status set =
      Exec("SET TimeZone = 'UTC'; SET statement_timeout = " +
           std::to_string(config_.statement_timeout.count()) + "; SET client_encoding = 'UTF8'");
  if (!set.ok()) conn_.reset();
  return set;
}

Status PgConnection::Failed(const PGresult* r, const std::string& what) {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string message = r != nullptr ? Trimmed(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)) : "";
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_.get()));
  if (r != nullptr) {
    if (const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL))
      message += " (" + Trimmed(detail) + ")";
  }
  if (!last_sqlstate_.empty()) message += " [SQLSTATE " + last_sqlstate_ + "]";
  last_message_ = message;
  Status s = ClassifySqlState(last_sqlstate_, "postgres: " + what + ": " + message);
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    conn_.reset();  // the next call reconnects
    if (s.code() != Status::Code::kUnavailable) s = Status::Unavailable(s.message());
  }
  return s;
}

Status PgConnection::Exec(const std::string& sql) {
  if (!conn_) return Status::Unavailable("postgres: not connected");
  PgResult r(PQexec(conn_.get(), sql.c_str()));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return Failed(r.get(), sql.substr(0, 120));
}

Result<PgResult> PgConnection::Query(const std::string& sql,
                                     const std::vector<std::string>& params) {
  if (!conn_) return Status::Unavailable("postgres: not connected");
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const auto& p : params) {
    values.push_back(p.c_str());
    lengths.push_back(static_cast<int>(p.size()));
  }
  PgResult r(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                          values.data(), lengths.data(), nullptr, 0));
  const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  return Failed(r.get(), sql.substr(0, 120));
}

Status PgConnection::CopyIn(const std::string& copy_sql, std::string_view data) {
  if (!conn_) return Status::Unavailable("postgres: not connected");
  PgResult start(PQexec(conn_.get(), copy_sql.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) return Failed(start.get(), copy_sql);
  // Sent in pieces so that one huge batch does not need a second copy inside libpq.
  constexpr std::size_t kPiece = 1 << 20;
  bool sent = true;
  for (std::size_t at = 0; at < data.size() && sent; at += kPiece) {
    const std::size_t n = std::min(kPiece, data.size() - at);
    sent = PQputCopyData(conn_.get(), data.data() + at, static_cast<int>(n)) == 1;
  }
  if (sent) sent = PQputCopyEnd(conn_.get(), nullptr) == 1;
  Status status;
  while (PGresult* raw = PQgetResult(conn_.get())) {
    PgResult r(raw);
    if (status.ok() && PQresultStatus(raw) != PGRES_COMMAND_OK) status = Failed(raw, copy_sql);
    if (!conn_) break;
  }
  if (status.ok() && !sent) return Failed(nullptr, copy_sql);
  return status;
}

bool PgConnection::in_failed_transaction() const {
  return conn_ && PQtransactionStatus(conn_.get()) == PQTRANS_INERROR;
}

void PgConnection::RollbackIfOpen() {
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
  if (Status s = Exec("ROLLBACK"); !s.ok()) spdlog::warn("postgres: rollback: {}", s.ToString());
}

std::string PgConnection::Literal(const std::string& s) const {
  // The E'' form reads backslashes the same whatever standard_conforming_strings says.
  std::string out = "E'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + "'";
}

}  // namespace oceanus::sink
