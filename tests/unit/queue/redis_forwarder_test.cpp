// The forwarder moves a collector's spool into Redis. An entry Redis refuses with an error
// reply (LOADING while a restarted Redis reads its AOF, OOM when it is full) must be sent
// again, never skipped: each spooled event was answered 2xx. A small fake Redis (RESP over a
// loopback socket) refuses the first XADDs it gets and records the ones it accepts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "queue/redis/redis_queue.h"
#include "queue/spool/spool.h"
#include "temp_dir.h"

namespace oceanus::queue::redis {
namespace {

// Speaks just enough RESP for the forwarder: XADD key * d payload (refused with a LOADING
// error for the first `refuse` of them, then answered with an id), anything else +OK. One
// connection at a time, as the forwarder has.
class FakeRedis {
 public:
  explicit FakeRedis(int refuse) : refuse_(refuse) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_, 8), 0);
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeRedis() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (client_ >= 0) ::shutdown(client_, SHUT_RDWR);
    }
    ::shutdown(listen_, SHUT_RDWR);
    thread_.join();
    ::close(listen_);
  }
  std::uint16_t port() const { return port_; }
  std::set<std::string> accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  int connections() {
    std::lock_guard lock(mu_);
    return connections_;
  }

 private:
  void Serve() {
    while (true) {
      const int fd = ::accept(listen_, nullptr, nullptr);
      {
        std::lock_guard lock(mu_);
        if (fd < 0 || stopping_) {
          if (fd >= 0) ::close(fd);
          return;
        }
        client_ = fd;
        ++connections_;
      }
      Session(fd);
      std::lock_guard lock(mu_);
      client_ = -1;
      ::close(fd);
    }
  }

  // Reads commands until the client closes; answers each.
  void Session(int fd) {
    std::string in;
    char buf[65536];
    while (true) {
      std::vector<std::string> args;
      while (!Parse(in, args)) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      std::string reply = "+OK\r\n";
      if (!args.empty() && args[0] == "XADD" && args.size() == 5) {
        std::lock_guard lock(mu_);
        if (refused_ < refuse_) {
          ++refused_;
          reply = "-LOADING Redis is loading the dataset in memory\r\n";
        } else {
          accepted_.insert(args[4]);
          const std::string id = std::to_string(++next_id_) + "-0";
          reply = "$" + std::to_string(id.size()) + "\r\n" + id + "\r\n";
        }
      }
      if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  // Takes one RESP array of bulk strings off the front of `in`; false if it is not all there.
  static bool Parse(std::string& in, std::vector<std::string>& args) {
    std::size_t pos = 0;
    auto line = [&](std::string& out) {
      const std::size_t end = in.find("\r\n", pos);
      if (end == std::string::npos) return false;
      out = in.substr(pos, end - pos);
      pos = end + 2;
      return true;
    };
    std::string head;
    if (!line(head) || head.empty() || head[0] != '*') return false;
    const int n = std::stoi(head.substr(1));
    args.clear();
    for (int i = 0; i < n; ++i) {
      std::string size;
      if (!line(size) || size.empty() || size[0] != '$') return false;
      const std::size_t len = std::stoul(size.substr(1));
      if (in.size() < pos + len + 2) return false;
      args.push_back(in.substr(pos, len));
      pos += len + 2;
    }
    in.erase(0, pos);
    return true;
  }

  int refuse_;
  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  bool stopping_ = false;
  int client_ = -1;
  int connections_ = 0;
  int refused_ = 0;
  long next_id_ = 0;
  std::set<std::string> accepted_;
};

class Done : public AppendHandler {
 public:
  void Appended(Status s) override { EXPECT_TRUE(s.ok()) << s.ToString(); }
};

TEST(RedisForwarderTest, EntriesRedisRefusesAreSentAgainNotSkipped) {
  oceanus::testing::ScopedTempDir temp{"oceanus-forwarder"};
  FakeRedis redis(/*refuse=*/3);
  config::Config config;
  config.sites.push_back({});
  config.sites[0].name = "site_a";
  config.queue.type = "redis";
  config.queue.redis.port = redis.port();

  auto spool = Spool::Open((temp.path() / "spool").string(), {"site_a"}, {"forward"}, config.queue);
  ASSERT_TRUE(spool.ok()) << spool.status().ToString();
  std::set<std::string> records;
  {
    auto writer = std::move((*spool)->MakeWriter(0, {})).value();
    for (int i = 0; i < 10; ++i) {
      records.insert("{\"uid\":\"r" + std::to_string(i) + "\"}");
      writer->Append(0, "{\"uid\":\"r" + std::to_string(i) + "\"}", std::make_shared<Done>());
    }
  }  // sealed: what a collector left in its spool while Redis was away
  SpoolBacklog backlog(1);
  backlog.Set(0, true);

  Forwarder forwarder(config, **spool, backlog);
  forwarder.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (backlog.Has(0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  forwarder.Stop();

  EXPECT_FALSE(backlog.Has(0)) << "the spool was not forwarded";
  // Every record reached Redis at least once (a repeat is harmless: sinks are idempotent by
  // eid); the three refused ones were sent again on a new connection.
  EXPECT_EQ(redis.accepted(), records);
  EXPECT_GE(redis.connections(), 2);
}

}  // namespace
}  // namespace oceanus::queue::redis
