// A real PostgreSQL 15 for tests: initdb into a temp dir and `postgres` run as a plain
// process, as the `postgres` user, on a free loopback port with its socket in the same temp
// dir, so that tests running in parallel never meet and no system-wide server is used.
// About half a second to start.
//
// The server is started with a parent-death signal (a test that crashes leaves no server
// behind) and stopped by PID: SIGINT (fast shutdown), then SIGKILL (the process handling is in
// server_process.h).
#pragma once

#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "server_process.h"
#include "temp_dir.h"

namespace oceanus::testing {

class PostgresServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  PostgresServer() : dir_("postgres"), port_(FreeLoopbackPort()) {}
  ~PostgresServer() { Stop(); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::uint16_t port() const { return port_; }
  // The cluster's data directory (postgresql.conf, pg_hba.conf), once Start has run initdb.
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  bool running() const { return pid_ > 0; }
  // A libpq URI for `db` as the superuser `postgres` (trust authentication on loopback).
  std::string Url(const std::string& db = "postgres") const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // initdb on the first call; then starts the server and waits, up to 60 s, until it answers.
  ::testing::AssertionResult Start() {
    if (pid_ > 0) return ::testing::AssertionSuccess();
    const auto user = FindSystemUser("postgres");
    if (!user) return ::testing::AssertionFailure() << "no postgres user";
    user_ = *user;
    const std::filesystem::path data = dir_.path() / "data";
    if (!std::filesystem::exists(data / "PG_VERSION")) {
      (void)!::chown(dir_.path().c_str(), user_.uid, user_.gid);
      pid_t init = Spawn({std::string(kBin) + "/initdb", "-D", data.string(), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"},
                         dir_.path() / "initdb.out");
      int status = 0;
      ::waitpid(init, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ::testing::AssertionFailure() << "initdb failed:\n"
                                             << TailOf(dir_.path() / "initdb.out");
    }
    pid_ = Spawn({std::string(kBin) + "/postgres", "-D", data.string(), "-k", dir_.path().string(),
                  "-h", "127.0.0.1", "-p", std::to_string(port_), "-c", "fsync=off", "-c",
                  "synchronous_commit=off", "-c", "full_page_writes=off"},
                 dir_.path() / "postgres.out");
    if (pid_ <= 0) return ::testing::AssertionFailure() << "fork failed";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const std::string ping = Url();
    switch (WaitReady(pid_, deadline, std::chrono::milliseconds(20),
                      [&] { return PQping(ping.c_str()) == PQPING_OK; })) {
      case Readiness::kReady:
        break;
      case Readiness::kExited:
        pid_ = -1;
        return ::testing::AssertionFailure() << "postgres exited:\n"
                                             << TailOf(dir_.path() / "postgres.out");
      case Readiness::kTimedOut:
        return ::testing::AssertionFailure() << "postgres not ready:\n"
                                             << TailOf(dir_.path() / "postgres.out");
    }
    return ::testing::AssertionSuccess();
  }

  // Fast shutdown (clients are disconnected); the data dir stays for the next Start.
  void Stop() {
    if (pid_ <= 0) return;
    StopByPid(pid_, SIGINT, std::chrono::seconds(30));
    pid_ = -1;
  }

  // Runs `sql` on `db`; the rows as "v1|v2…" (NULL as "∅"), or one "ERROR: …" line.
  std::vector<std::string> Query(const std::string& sql, const std::string& db = "postgres") const {
    std::vector<std::string> out;
    PGconn* conn = PQconnectdb(Url(db).c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      out.push_back(std::string("ERROR: ") + PQerrorMessage(conn));
      PQfinish(conn);
      return out;
    }
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK) {
      for (int i = 0; i < PQntuples(r); ++i) {
        std::string row;
        for (int c = 0; c < PQnfields(r); ++c) {
          if (c > 0) row += "|";
          row += PQgetisnull(r, i, c) ? "∅" : PQgetvalue(r, i, c);
        }
        out.push_back(row);
      }
    } else if (st != PGRES_COMMAND_OK) {
      out.push_back(std::string("ERROR: ") + PQresultErrorMessage(r));
    }
    PQclear(r);
    PQfinish(conn);
    return out;
  }

 private:
  // Runs `argv` as the postgres user in the temp dir, output to `out`; SIGINT (fast shutdown)
  // when the test process dies.
  pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& out) {
    return RunAsUser(user_, argv, {"PATH=/usr/bin:/bin", "LANG=C", "HOME=" + dir_.path().string()},
                     dir_.path(), out, SIGINT);
  }

  ScopedTempDir dir_;  // first member: removed after the server has stopped
  std::uint16_t port_ = 0;
  SystemUser user_;
  pid_t pid_ = -1;
};

}  // namespace oceanus::testing
