// A real RabbitMQ broker for one test: rabbitmq-server run as a plain process, as the
// `rabbitmq` user, on free loopback ports, with its data, logs and Erlang cookie in a temp dir
// and its own epmd, so that tests running in parallel never meet. About 6 s to start.
//
// The broker is stopped by PID (SIGTERM, then SIGKILL), its epmd too. Both are started with a
// parent-death signal, so a test that crashes or times out leaves no broker behind (the process
// handling is in server_process.h).
#pragma once

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "server_process.h"
#include "tasks/rabbitmq/rabbitmq_task_queue.h"
#include "temp_dir.h"

namespace oceanus::testing {

class RabbitMqServer {
 public:
  RabbitMqServer() : dir_("rabbitmq") {
    // Three different ports (the kernel may hand out the same free port twice in a row).
    std::vector<std::uint16_t> ports;
    while (ports.size() < 3) {
      const std::uint16_t p = FreeLoopbackPort();
      if (p != 0 && std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
    }
    port_ = ports[0];
    dist_port_ = ports[1];
    epmd_port_ = ports[2];
  }
  ~RabbitMqServer() { Stop(); }
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  // How long the last Start took until a client could log in.
  std::chrono::milliseconds startup_time() const { return startup_time_; }

  // A config for this broker (guest/guest, vhost /).
  tasks::RabbitMqConfig Config(const std::string& queue) const {
    tasks::RabbitMqConfig c;
    c.host = host_;
    c.port = port_;
    c.queue = queue;
    return c;
  }

  // Starts the broker (again, on the same data dir and ports after Stop) and waits, up to
  // 60 s, until a client can log in.
  ::testing::AssertionResult Start() {
    if (broker_ > 0) return ::testing::AssertionSuccess();
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + std::chrono::seconds(60);
    const auto user = FindSystemUser("rabbitmq");
    if (!user) return ::testing::AssertionFailure() << "no rabbitmq user";
    user_ = *user;
    const std::filesystem::path dir = dir_.path();
    // Empty files: no plugins, and nothing from /etc/rabbitmq.
    std::ofstream(dir / "enabled_plugins").flush();
    std::ofstream(dir / "rabbitmq-env.conf").flush();
    std::ofstream(dir / "rabbitmq.conf").flush();
    ChownTree(dir, user_);

    if (epmd_ <= 0) {
      epmd_ = Spawn({"/usr/lib/erlang/bin/epmd", "-port", std::to_string(epmd_port_), "-address",
                     "127.0.0.1"},
                    {"PATH=/usr/bin:/bin", "ERL_EPMD_ADDRESS=127.0.0.1",
                     "ERL_EPMD_PORT=" + std::to_string(epmd_port_)},
                    dir / "epmd.out");
      switch (WaitReady(epmd_, deadline, std::chrono::milliseconds(10),
                        [&] { return LoopbackPortOpen(epmd_port_); })) {
        case Readiness::kReady:
          break;
        case Readiness::kExited:
          return ::testing::AssertionFailure() << "epmd exited: " << TailOf(dir / "epmd.out");
        case Readiness::kTimedOut:
          return ::testing::AssertionFailure() << "epmd did not listen on " << epmd_port_;
      }
    }
    const std::string d = dir.string();
    broker_ = Spawn({"/usr/lib/rabbitmq/bin/rabbitmq-server"},
                    {
                        "PATH=/usr/bin:/bin:/usr/sbin:/sbin",
                        "LANG=C.UTF-8",
                        "HOME=" + d,
                        "RABBITMQ_CONF_ENV_FILE=" + d + "/rabbitmq-env.conf",
                        "RABBITMQ_CONFIG_FILE=" + d + "/rabbitmq.conf",
                        "RABBITMQ_ENABLED_PLUGINS_FILE=" + d + "/enabled_plugins",
                        "RABBITMQ_MNESIA_BASE=" + d + "/mnesia",
                        "RABBITMQ_LOG_BASE=" + d + "/log",
                        "RABBITMQ_NODENAME=rabbit-" + std::to_string(port_) + "@localhost",
                        "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
                        "RABBITMQ_NODE_PORT=" + std::to_string(port_),
                        "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_),
                        "ERL_EPMD_ADDRESS=127.0.0.1",
                        "ERL_EPMD_PORT=" + std::to_string(epmd_port_),
                    },
                    dir / "rabbitmq.out");
    if (broker_ <= 0) return ::testing::AssertionFailure() << "fork failed";
    switch (WaitReady(broker_, deadline, std::chrono::milliseconds(50),
                      [&] { return LoopbackPortOpen(port_) && CanLogIn(); })) {
      case Readiness::kReady:
        break;
      case Readiness::kExited:
        broker_ = -1;
        return ::testing::AssertionFailure() << "rabbitmq-server exited:\n"
                                             << TailOf(dir / "rabbitmq.out");
      case Readiness::kTimedOut:
        return ::testing::AssertionFailure()
               << "rabbitmq-server not ready on port " << port_ << " after 60 s:\n"
               << TailOf(dir / "rabbitmq.out");
    }
    startup_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::fprintf(stderr, "rabbitmq-server ready on %s:%u in %lld ms\n", host_.c_str(),
                 unsigned{port_}, static_cast<long long>(startup_time_.count()));
    return ::testing::AssertionSuccess();
  }

  // Stops the broker and its epmd; the data dir stays (durable queues survive a Start).
  void Stop() {
    if (broker_ > 0) {
      // SIGTERM: rabbitmq-server's trap stops beam and waits for it. Its descendants (beam.smp
      // and its helpers) are found first, to be killed too should SIGTERM not be enough.
      StopByPid(broker_, SIGTERM, std::chrono::seconds(30), Descendants(broker_));
      broker_ = -1;
    }
    if (epmd_ > 0) {
      StopByPid(epmd_, SIGTERM, std::chrono::seconds(5));
      epmd_ = -1;
    }
    // erl runs `epmd -daemon` at boot; with ours on the port it exits at once, but should one
    // have stayed (ours died first), it is found by the port in its environment.
    for (pid_t p : EpmdsOnPort(epmd_port_)) ::kill(p, SIGKILL);
  }

  // Publishes `body` as it is to `queue` through the default exchange (a message that no
  // client of ours would write). True once the broker has it.
  bool PublishRaw(const std::string& queue, const std::string& body) {
    amqp_connection_state_t conn = nullptr;
    if (!LogIn(&conn)) return false;
    bool ok = amqp_channel_open(conn, 1) != nullptr &&
              amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL &&
              amqp_confirm_select(conn, 1) != nullptr;
    if (ok) {
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
      props.delivery_mode = 2;
      amqp_bytes_t b{body.size(), const_cast<char*>(body.data())};
      ok = amqp_basic_publish(conn, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0,
                              &props, b) == AMQP_STATUS_OK;
      amqp_frame_t frame;
      timeval timeout{5, 0};
      ok = ok && amqp_simple_wait_frame_noblock(conn, &frame, &timeout) == AMQP_STATUS_OK &&
           frame.frame_type == AMQP_FRAME_METHOD &&
           frame.payload.method.id == AMQP_BASIC_ACK_METHOD;
    }
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return ok;
  }

 private:
  // Runs `argv` as the rabbitmq user in the temp dir with exactly `env`, output to `out`.
  pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              const std::filesystem::path& out) {
    return RunAsUser(user_, argv, env, dir_.path(), out, SIGTERM);
  }

  // The parent PID from /proc/<pid>/stat ("pid (comm) state ppid ...").
  static pid_t ParentOf(const std::string& pid) {
    const std::string stat = FileText("/proc/" + pid + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = -1;
    rest >> state >> ppid;
    return ppid;
  }

  static std::vector<pid_t> Descendants(pid_t root) {
    std::vector<std::pair<pid_t, pid_t>> all;  // pid, ppid
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      all.emplace_back(std::stoi(name), ParentOf(name));
    }
    std::vector<pid_t> found{root};
    for (std::size_t i = 0; i < found.size(); ++i)
      for (const auto& [pid, ppid] : all)
        if (ppid == found[i]) found.push_back(pid);
    found.erase(found.begin());
    return found;
  }

  static std::vector<pid_t> EpmdsOnPort(std::uint16_t port) {
    std::vector<pid_t> found;
    const std::string needle = "ERL_EPMD_PORT=" + std::to_string(port) + '\0';
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (FileText(e.path() / "comm") != "epmd\n") continue;
      if ((FileText(e.path() / "environ") + '\0').find(needle) != std::string::npos)
        found.push_back(std::stoi(name));
    }
    return found;
  }

  bool LogIn(amqp_connection_state_t* out) {
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(conn);
    timeval timeout{2, 0};
    bool ok = amqp_socket_open_noblock(socket, host_.c_str(), port_, &timeout) == AMQP_STATUS_OK;
    if (ok) {
      amqp_set_handshake_timeout(conn, &timeout);
      amqp_set_rpc_timeout(conn, &timeout);
      ok = amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest")
               .reply_type == AMQP_RESPONSE_NORMAL;
    }
    if (!ok) {
      amqp_destroy_connection(conn);
      return false;
    }
    *out = conn;
    return true;
  }

  bool CanLogIn() {
    amqp_connection_state_t conn = nullptr;
    if (!LogIn(&conn)) return false;
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return true;
  }

  ScopedTempDir dir_;  // first member: removed after the broker has stopped
  const std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;       // AMQP
  std::uint16_t dist_port_ = 0;  // Erlang distribution
  std::uint16_t epmd_port_ = 0;
  SystemUser user_;
  pid_t broker_ = -1;
  pid_t epmd_ = -1;
  std::chrono::milliseconds startup_time_{0};
};

}  // namespace oceanus::testing
