// One libpq connection for the postgres sink: opened on first use, reopened with backoff after
// it breaks, and the one place where PostgreSQL's errors become Status codes (sink.h).
//
// Classes of failure, decided from the SQLSTATE:
//   - 22xxx (data exception) and 23xxx (integrity constraint): InvalidArgument; the caller
//     knows which rows it sent and isolates the one PostgreSQL refuses;
//   - a broken connection (08xxx or no SQLSTATE at all), 57P01..57P03 (shutdown, cannot
//     connect now), 40001/40P01 (serialization, deadlock), 53xxx (out of resources), 57014
//     (statement timeout, cancel) and 55P03 (lock not available): Unavailable, retried;
//   - 58xxx (system error, I/O): IoError, retried;
//   - anything else (42xxx: a table or column that is not there, a permission): Internal.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::sink {

// The `postgres:` block of the sink section, validated.
struct PostgresConfig {
  std::string url;       // libpq conninfo ("host=… dbname=…") or URI ("postgresql://…")
  std::string password;  // empty: the URL's, else PGPASSWORD / ~/.pgpass (libpq's own rules)
  std::chrono::milliseconds statement_timeout{60'000};
  std::chrono::milliseconds connect_timeout{10'000};
};

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

class PgConnection {
 public:
  explicit PgConnection(PostgresConfig config) : config_(std::move(config)) {}
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connected (session set to UTC, statement_timeout applied), or Unavailable when the server
  // cannot be reached, refuses us, or the last failure was less than the backoff ago.
  Status Ensure();
  // Counts the connections made: session state (temporary tables) lives as long as one.
  std::uint64_t generation() const { return generation_; }

  // Runs `sql` (one or more statements, no parameters) and expects no rows back.
  Status Exec(const std::string& sql);
  // Runs one statement with text parameters; the result when it returned rows or a command tag.
  Result<PgResult> Query(const std::string& sql, const std::vector<std::string>& params);
  // COPY … FROM STDIN with `data` (text format) as its whole input.
  Status CopyIn(const std::string& copy_sql, std::string_view data);
  // ROLLBACK when a transaction is open (or failed) on a live connection.
  void RollbackIfOpen();

  // The SQLSTATE of the last error ("" when it had none, e.g. a connection lost), and
  // PostgreSQL's words for it (message, detail, SQLSTATE).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  const std::string& last_message() const { return last_message_; }
  // True inside a transaction that an error has aborted.
  bool in_failed_transaction() const;
  // `s` as a string literal, quoted and escaped for this connection.
  std::string Literal(const std::string& s) const;

 private:
  struct ConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };

  Status Failed(const PGresult* r, const std::string& what);

  PostgresConfig config_;
  std::unique_ptr<PGconn, ConnDeleter> conn_;
  std::uint64_t generation_ = 0;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_sqlstate_;
  std::string last_message_;
};

// "host=… port=… dbname=… user=… password=(hidden) …": the options `url` sets, for `oceanus
// check`, never the password. An error for text libpq cannot parse.
Result<std::string> DescribeConninfo(const std::string& url);
// "user@host:port/dbname" (libpq's defaults where the URL says nothing).
std::string ConninfoTarget(const std::string& url);
// `name` as a double-quoted SQL identifier, embedded quotes doubled.
std::string QuoteIdent(const std::string& name);

}  // namespace oceanus::sink
