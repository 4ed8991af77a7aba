// A real ClickHouse server for one test: Debian's clickhouse-server run as a plain process, as
// the `clickhouse` user, with /etc/clickhouse-server/config.xml copied into a temp dir and
// every path in it rewritten to that dir, the HTTP port a free loopback one and the native
// and interserver ports left out. A user `oceanus` with the password `secret` is added to the
// copied users.xml, and a user `tiny` (password `tiny`) whose queries may use 1,000 bytes
// (every INSERT fails with MEMORY_LIMIT_EXCEEDED); the `default` user has no password. With
// `https`, a self-signed certificate for 127.0.0.1 is made (openssl) and an HTTPS port opened too;
// ca_file() is the certificate to verify it with. About 0.2 s to start (plus the key, about 0.1 s).
//
// The server is stopped by PID (SIGTERM, then SIGKILL) and started with a parent-death
// signal, so a test that crashes or times out leaves no server behind (the process handling is
// in server_process.h).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server_process.h"
#include "sink/clickhouse/clickhouse_sink.h"
#include "temp_dir.h"
#include "util/http_client.h"

namespace oceanus::testing {

class ClickHouseServer {
 public:
  explicit ClickHouseServer(bool https = false) : dir_("clickhouse"), https_(https) {
    port_ = FreeLoopbackPort();
    do {
      https_port_ = https ? FreeLoopbackPort() : 0;
    } while (https && https_port_ == port_);
  }
  ~ClickHouseServer() { Stop(); }
  ClickHouseServer(const ClickHouseServer&) = delete;
  ClickHouseServer& operator=(const ClickHouseServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string https_url() const { return "https://127.0.0.1:" + std::to_string(https_port_); }
  std::string ca_file() const { return (dir_.path() / "server.crt").string(); }
  bool running() const { return server_ > 0; }

  // A sink config for this server and `database`.
  sink::ClickHouseConfig Config(const std::string& database = "oceanus") const {
    sink::ClickHouseConfig c;
    c.url = url();
    c.database = database;
    c.timeout = std::chrono::seconds(10);
    return c;
  }

  // Starts the server (again, on the same data dir and port after Stop) and waits, up to
  // 30 s, until /ping answers.
  ::testing::AssertionResult Start() {
    if (server_ > 0) return ::testing::AssertionSuccess();
    const auto user = FindSystemUser("clickhouse");
    if (!user) return ::testing::AssertionFailure() << "no clickhouse user";
    user_ = *user;
    if (auto written = WriteConfig(); !written) return written;
    ChownTree(dir_.path(), user_);
    server_ = Spawn(
        {"/usr/sbin/clickhouse-server", "--config-file=" + (dir_.path() / "config.xml").string()},
        dir_.path() / "server.out");
    if (server_ <= 0) return ::testing::AssertionFailure() << "fork failed";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const auto answers = [&] {
      auto r = HttpFetch({"GET", url() + "/ping", {}, "", std::chrono::seconds(2)});
      return r.ok() && r->status == 200;
    };
    switch (WaitReady(server_, deadline, std::chrono::milliseconds(20), answers)) {
      case Readiness::kReady:
        break;
      case Readiness::kExited:
        server_ = -1;
        return ::testing::AssertionFailure() << "clickhouse-server exited:\n" << Logs();
      case Readiness::kTimedOut:
        return ::testing::AssertionFailure()
               << "clickhouse-server not ready on " << port_ << " after 30 s:\n"
               << Logs();
    }
    return ::testing::AssertionSuccess();
  }

  // Stops the server; the data dir stays (tables survive a Start).
  void Stop() {
    if (server_ <= 0) return;
    StopByPid(server_, SIGTERM, std::chrono::seconds(30));
    server_ = -1;
  }

  // Runs `sql` as the default user; the answer's body, or "ERROR: …" with the server's text.
  std::string Query(const std::string& sql) const {
    auto r = HttpFetch({"POST", url() + "/", {}, sql, std::chrono::seconds(20)});
    if (!r.ok()) return "ERROR: " + r.status().ToString();
    if (r->status != 200) return "ERROR: " + r->body;
    return r->body;
  }

 private:
  static void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  }

  // Removes the whole line that holds `needle` (its first occurrence), if any.
  static void DropLine(std::string& text, const std::string& needle) {
    const auto at = text.find(needle);
    if (at == std::string::npos) return;
    const auto b = text.rfind('\n', at);
    const auto e = text.find('\n', at);
    text.erase(b == std::string::npos ? 0 : b, e == std::string::npos ? std::string::npos : e - b);
  }

  ::testing::AssertionResult WriteConfig() {
    std::string config = FileText("/etc/clickhouse-server/config.xml");
    std::string users = FileText("/etc/clickhouse-server/users.xml");
    if (config.empty() || users.empty())
      return ::testing::AssertionFailure() << "no /etc/clickhouse-server/config.xml or users.xml";
    const std::string d = dir_.path().string();
    ReplaceAll(config, "/var/log/clickhouse-server/", d + "/log/");
    ReplaceAll(config, "/var/lib/clickhouse/", d + "/data/");
    ReplaceAll(config, "<http_port>8123</http_port>",
               "<http_port>" + std::to_string(port_) + "</http_port>");
    DropLine(config, "<tcp_port>9000</tcp_port>");
    DropLine(config, "<interserver_http_port>9009</interserver_http_port>");
    DropLine(config, "<listen_host>::1</listen_host>");
    if (https_) {
      const std::string cert = (dir_.path() / "server.crt").string();
      const std::string key = (dir_.path() / "server.key").string();
      const std::string make =
          "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
          " -addext subjectAltName=IP:127.0.0.1 -keyout " +
          key + " -out " + cert + " >/dev/null 2>&1";
      if (!std::filesystem::exists(cert) && std::system(make.c_str()) != 0)
        return ::testing::AssertionFailure() << "openssl could not make a certificate";
      ReplaceAll(config, "/etc/clickhouse-server/server.crt", cert);
      ReplaceAll(config, "/etc/clickhouse-server/server.key", key);
      DropLine(config, "<dhParamsFile>");
      ReplaceAll(config, "<http_port>" + std::to_string(port_) + "</http_port>",
                 "<http_port>" + std::to_string(port_) + "</http_port><https_port>" +
                     std::to_string(https_port_) + "</https_port>");
    }
    if (config.find(d + "/data/") == std::string::npos ||
        config.find(std::to_string(port_)) == std::string::npos)
      return ::testing::AssertionFailure() << "config.xml has an unexpected shape";
    const auto at = users.find("<users>");
    if (at == std::string::npos) return ::testing::AssertionFailure() << "users.xml: no <users>";
    users.insert(at + 7,
                 "<oceanus><password>secret</password><networks><ip>127.0.0.1</ip></networks>"
                 "<profile>default</profile><quota>default</quota></oceanus>"
                 "<tiny><password>tiny</password><networks><ip>127.0.0.1</ip></networks>"
                 "<profile>tiny</profile><quota>default</quota></tiny>");
    const auto profiles = users.find("<profiles>");
    if (profiles == std::string::npos)
      return ::testing::AssertionFailure() << "users.xml: no <profiles>";
    // Every query in system.query_log, so that a test can tell how the sink sent a batch.
    const auto default_profile = users.find("<default>", profiles);
    if (default_profile == std::string::npos)
      return ::testing::AssertionFailure() << "users.xml: no default profile";
    users.insert(default_profile + 9, "<log_queries>1</log_queries>");
    users.insert(profiles + 10, "<tiny><max_memory_usage>1000</max_memory_usage></tiny>");
    std::ofstream(dir_.path() / "config.xml") << config;
    std::ofstream(dir_.path() / "users.xml") << users;
    std::filesystem::create_directories(dir_.path() / "log");
    std::filesystem::create_directories(dir_.path() / "data");
    return ::testing::AssertionSuccess();
  }

  // Runs `argv` as the clickhouse user in the temp dir, output to `out`; SIGKILL when the test
  // process dies.
  pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& out) {
    return RunAsUser(user_, argv, {"PATH=/usr/bin:/bin", "HOME=" + dir_.path().string()},
                     dir_.path(), out, SIGKILL);
  }

  // The tail of the server's output and its error log.
  std::string Logs() const {
    return Tail(FileText(dir_.path() / "server.out") +
                FileText(dir_.path() / "log" / "clickhouse-server.err.log"));
  }

  ScopedTempDir dir_;  // first member: removed after the server has stopped
  bool https_ = false;
  std::uint16_t port_ = 0;
  std::uint16_t https_port_ = 0;
  SystemUser user_;
  pid_t server_ = -1;
};

}  // namespace oceanus::testing
