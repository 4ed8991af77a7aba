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
// signal, so a test that crashes or times out leaves no server behind.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
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
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "sink/clickhouse/clickhouse_sink.h"
#include "temp_dir.h"
#include "util/http_client.h"

namespace oceanus::testing {

class ClickHouseServer {
 public:
  explicit ClickHouseServer(bool https = false) : dir_("clickhouse"), https_(https) {
    port_ = FreePort();
    do {
      https_port_ = https ? FreePort() : 0;
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
    passwd* pw = ::getpwnam("clickhouse");
    if (pw == nullptr) return ::testing::AssertionFailure() << "no clickhouse user";
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    if (auto written = WriteConfig(); !written) return written;
    ChownTree(dir_.path());
    server_ = Spawn(
        {"/usr/sbin/clickhouse-server", "--config-file=" + (dir_.path() / "config.xml").string()},
        dir_.path() / "server.out");
    if (server_ <= 0) return ::testing::AssertionFailure() << "fork failed";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      if (Exited(server_)) {
        server_ = -1;
        return ::testing::AssertionFailure() << "clickhouse-server exited:\n" << Logs();
      }
      auto r = HttpFetch({"GET", url() + "/ping", {}, "", std::chrono::seconds(2)});
      if (r.ok() && r->status == 200) break;
      if (std::chrono::steady_clock::now() > deadline)
        return ::testing::AssertionFailure()
               << "clickhouse-server not ready on " << port_ << " after 30 s:\n"
               << Logs();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ::testing::AssertionSuccess();
  }

  // Stops the server; the data dir stays (tables survive a Start).
  void Stop() {
    if (server_ <= 0) return;
    ::kill(server_, SIGTERM);
    if (!WaitFor(server_, std::chrono::seconds(30))) {
      ::kill(server_, SIGKILL);
      WaitFor(server_, std::chrono::seconds(5));
    }
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

  static std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

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
    std::string config = ReadFile("/etc/clickhouse-server/config.xml");
    std::string users = ReadFile("/etc/clickhouse-server/users.xml");
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
    users.insert(profiles + 10, "<tiny><max_memory_usage>1000</max_memory_usage></tiny>");
    std::ofstream(dir_.path() / "config.xml") << config;
    std::ofstream(dir_.path() / "users.xml") << users;
    std::filesystem::create_directories(dir_.path() / "log");
    std::filesystem::create_directories(dir_.path() / "data");
    return ::testing::AssertionSuccess();
  }

  // Forks and execs `argv` as the clickhouse user, output to `out`.
  pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& out) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string home = "HOME=" + dir_.path().string();
    char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>(home.c_str()),
                    nullptr};
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) (void)!::fchown(fd, uid_, gid_);
    const pid_t parent = ::getpid();
    const uid_t uid = uid_;
    const gid_t gid = gid_;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(null_fd, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setpgid(0, 0);
      if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(126);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // after the uid change, which would clear it
      if (::getppid() != parent) ::_exit(0);
      if (::chdir(dir_.path().c_str()) != 0) ::_exit(126);
      ::execve(args[0], args.data(), envp);
      ::_exit(127);
    }
    if (fd >= 0) ::close(fd);
    if (null_fd >= 0) ::close(null_fd);
    return pid;
  }

  void ChownTree(const std::filesystem::path& dir) {
    (void)!::chown(dir.c_str(), uid_, gid_);
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
      (void)!::lchown(e.path().c_str(), uid_, gid_);
  }

  static bool Exited(pid_t pid) {
    int status;
    return ::waitpid(pid, &status, WNOHANG) == pid;
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

  std::string Logs() const {
    std::string text = ReadFile(dir_.path() / "server.out") +
                       ReadFile(dir_.path() / "log" / "clickhouse-server.err.log");
    return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
  }

  ScopedTempDir dir_;  // first member: removed after the server has stopped
  bool https_ = false;
  std::uint16_t port_ = 0;
  std::uint16_t https_port_ = 0;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t server_ = -1;
};

}  // namespace oceanus::testing
