// A real PostgreSQL 15 for tests: initdb into a temp dir and `postgres` run as a plain
// process, as the `postgres` user, on a free loopback port with its socket in the same temp
// dir, so that tests running in parallel never meet and no system-wide server is used.
// About half a second to start.
//
// The server is started with a parent-death signal (a test that crashes leaves no server
// behind) and stopped by PID: SIGINT (fast shutdown), then SIGKILL.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace oceanus::testing {

class PostgresServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  PostgresServer() : dir_("postgres"), port_(FreePort()) {}
  ~PostgresServer() { Stop(); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0; }
  // A libpq URI for `db` as the superuser `postgres` (trust authentication on loopback).
  std::string Url(const std::string& db = "postgres") const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // initdb on the first call; then starts the server and waits, up to 60 s, until it answers.
  ::testing::AssertionResult Start() {
    if (pid_ > 0) return ::testing::AssertionSuccess();
    passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) return ::testing::AssertionFailure() << "no postgres user";
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    const std::filesystem::path data = dir_.path() / "data";
    if (!std::filesystem::exists(data / "PG_VERSION")) {
      (void)!::chown(dir_.path().c_str(), uid_, gid_);
      pid_t init = Spawn({std::string(kBin) + "/initdb", "-D", data.string(), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"},
                         dir_.path() / "initdb.out");
      int status = 0;
      ::waitpid(init, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ::testing::AssertionFailure() << "initdb failed:\n" << Tail("initdb.out");
    }
    pid_ = Spawn({std::string(kBin) + "/postgres", "-D", data.string(), "-k", dir_.path().string(),
                  "-h", "127.0.0.1", "-p", std::to_string(port_), "-c", "fsync=off", "-c",
                  "synchronous_commit=off", "-c", "full_page_writes=off"},
                 dir_.path() / "postgres.out");
    if (pid_ <= 0) return ::testing::AssertionFailure() << "fork failed";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const std::string ping = Url();
    while (PQping(ping.c_str()) != PQPING_OK) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure() << "postgres exited:\n" << Tail("postgres.out");
      }
      if (std::chrono::steady_clock::now() > deadline)
        return ::testing::AssertionFailure() << "postgres not ready:\n" << Tail("postgres.out");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ::testing::AssertionSuccess();
  }

  // Fast shutdown (clients are disconnected); the data dir stays for the next Start.
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGINT);
    if (!WaitFor(pid_, std::chrono::seconds(30))) {
      ::kill(pid_, SIGKILL);
      WaitFor(pid_, std::chrono::seconds(5));
    }
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
  // A TCP port on 127.0.0.1 that nothing listens on right now (bound to 0, read back, closed).
  static std::uint16_t FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
  }

  // Forks and execs `argv` as the postgres user, output to `out`.
  pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& out) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string home = "HOME=" + dir_.path().string();
    std::vector<char*> envp = {const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>("LANG=C"),
                               const_cast<char*>(home.c_str()), nullptr};
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) (void)!::fchown(fd, uid_, gid_);
    const pid_t parent = ::getpid();
    const uid_t uid = uid_;
    const gid_t gid = gid_;
    const std::string dir = dir_.path().string();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(null_fd, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setpgid(0, 0);
      if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(126);
      ::prctl(PR_SET_PDEATHSIG, SIGINT);  // after the uid change, which would clear it
      if (::getppid() != parent) ::_exit(0);
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    if (fd >= 0) ::close(fd);
    if (null_fd >= 0) ::close(null_fd);
    return pid;
  }

  static bool WaitFor(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      int status;
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || r < 0) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::string Tail(const std::string& file) const {
    std::ifstream in(dir_.path() / file, std::ios::binary);
    std::string text(std::istreambuf_iterator<char>(in), {});
    return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
  }

  ScopedTempDir dir_;  // first member: removed after the server has stopped
  std::uint16_t port_ = 0;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
};

}  // namespace oceanus::testing
