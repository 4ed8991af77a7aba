// The forwarder moves a collector's spool into Redis. An entry Redis refuses with an error
// reply (LOADING while a restarted Redis reads its AOF, OOM when it is full) must be sent
// again, never skipped: each spooled event was answered 2xx. A small fake Redis (RESP over a
// loopback socket) refuses the first XADDs it gets and records the ones it accepts.
// A Redis that hangs (a real redis-server, SIGSTOPped) must get each event once: the
// forwarder waits for the replies of what it sent instead of sending it again.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "queue/redis/redis_queue.h"
#include "queue/spool/spool.h"
#include "redis_server.h"
#include "temp_dir.h"

namespace oceanus::queue::redis {
namespace {

using oceanus::testing::RedisServer;

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
  QueueConfig queue_config;
  RedisConfig redis_config;
  config.sites.push_back({});
  config.sites[0].name = "site_a";
  redis_config.port = redis.port();

  auto spool = Spool::Open((temp.path() / "spool").string(), {"site_a"}, {"forward"}, queue_config);
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

  Forwarder forwarder(config, redis_config, **spool, backlog);
  forwarder.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (backlog.Has(0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  forwarder.Stop();

  EXPECT_FALSE(backlog.Has(0)) << "the spool was not forwarded";
  // Every record reached Redis; the three refused ones were sent again, on the same
  // connection (every reply was read, so it stayed in step).
  EXPECT_EQ(redis.accepted(), records);
  EXPECT_EQ(redis.connections(), 1);
}

long long Integer(const Result<Reply>& r) {
  return r.ok() && r->get()->type == REDIS_REPLY_INTEGER ? r->get()->integer : -1;
}

// Every event in stream `key`, in order: the value of each "d" field of each entry.
std::vector<std::string> StreamEvents(RedisConnection& redis, const std::string& key) {
  std::vector<std::string> events;
  auto all = redis.Command({"XRANGE", key, "-", "+"});
  if (!all.ok()) return events;
  for (std::size_t i = 0; i < all->get()->elements; ++i) {
    const redisReply* fields = all->get()->element[i]->element[1];
    for (std::size_t k = 0; k + 1 < fields->elements; k += 2)
      if (ReplyString(fields->element[k]) == "d")
        events.emplace_back(ReplyString(fields->element[k + 1]));
  }
  return events;
}

TEST(RedisForwarderTest, StoppedRedisGetsEachSpooledEventOnceWithoutResending) {
  oceanus::testing::ScopedTempDir temp{"oceanus-forwarder"};
  RedisServer server;
  config::Config config;
  QueueConfig queue_config;
  RedisConfig redis_config;
  config.sites.push_back({});
  config.sites[0].name = "site_a";
  redis_config.port = server.port();
  // Short, so that a forwarder that re-sends on every timeout would do so many times.
  redis_config.command_timeout = std::chrono::milliseconds(200);
  auto check = server.Connect(redis_config);
  if (!check) GTEST_SKIP() << "no redis-server to run";

  constexpr int kEvents = 2000;  // four batches
  auto spool = Spool::Open((temp.path() / "spool").string(), {"site_a"}, {"forward"}, queue_config);
  ASSERT_TRUE(spool.ok()) << spool.status().ToString();
  {
    auto writer = std::move((*spool)->MakeWriter(0, {})).value();
    for (int i = 0; i < kEvents; ++i)
      writer->Append(0, "{\"uid\":\"s" + std::to_string(i) + "\"}", std::make_shared<Done>());
  }
  SpoolBacklog backlog(1);
  backlog.Set(0, true);

  server.Signal(SIGSTOP);  // hung, not gone: the kernel still accepts connections and bytes
  Forwarder forwarder(config, redis_config, **spool, backlog);
  forwarder.Start();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the outage's length, not a wait
  const std::uint64_t batches = forwarder.batches();
  const std::uint64_t connects = forwarder.connects();
  server.Signal(SIGCONT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (backlog.Has(0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  forwarder.Stop();

  EXPECT_FALSE(backlog.Has(0)) << "the spool was not forwarded";
  EXPECT_EQ(forwarder.forwarded(), static_cast<std::uint64_t>(kEvents));
  // During the stop: one connection and the one batch sent on it, whose replies it awaited.
  EXPECT_EQ(batches, 1u);
  EXPECT_EQ(connects, 1u);
  // Each event exactly once in the stream.
  EXPECT_EQ(Integer(check->Command({"XLEN", "site_a"})), kEvents);
}

// A real redis-server with one site's stream, "site_a", and a connection of the test's own.
class RedisReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config.sites.push_back({});
    config.sites[0].name = "site_a";
    redis_config.port = server.port();
    check = server.Connect(redis_config);
    if (!check) GTEST_SKIP() << "no redis-server to run";
  }
  RedisServer server;
  config::Config config;
  QueueConfig queue_config;
  RedisConfig redis_config;
  std::unique_ptr<RedisConnection> check;
};

TEST_F(RedisReaderTest, AnAcknowledgementAfterRedisDroppedTheConnectionReconnects) {
  RedisReader reader(config, queue_config, redis_config, 0, "load", "loader-1");
  ASSERT_TRUE(reader.Read(10, 1 << 20, std::chrono::milliseconds(0)).ok());  // makes the group
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(check->Command({"XADD", "site_a", "*", "d", "{}"}).ok());
  auto read = reader.Read(10, 1 << 20, std::chrono::milliseconds(0));
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 3u);

  // Redis drops the reader's connection (as on a restart or a proxy timeout) between the read
  // and the acknowledgement; the loader then retries the acknowledgement alone.
  ASSERT_TRUE(check->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).ok());
  Status acked = Status::Unavailable("not tried");
  for (int attempt = 0; attempt < 3 && !acked.ok(); ++attempt) acked = reader.Ack(read->back().id);
  EXPECT_TRUE(acked.ok()) << acked.ToString();
  auto pending = check->Command({"XPENDING", "site_a", "load"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->get()->element[0]->integer, 0) << "the entries are still pending";
}

long long Pending(RedisConnection& redis) {
  auto summary = redis.Command({"XPENDING", "site_a", "load"});
  return summary.ok() ? summary->get()->element[0]->integer : -1;
}

// The entries pending in group load once they reach `want` (a read sent ahead on another
// connection may not have been served yet), or what they are after 10 s.
long long PendingReaches(RedisConnection& redis, long long want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  long long n = Pending(redis);
  while (n != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    n = Pending(redis);
  }
  return n;
}

// The loader reads ahead: while it copies one XREADGROUP's entries, the next is on its way.
// Every entry still comes back once and in order, however the caller's batch sizes fall
// against what was fetched, and acknowledging in between (which reads the outstanding reply
// first) takes no reply for another's.
TEST_F(RedisReaderTest, ReadingAheadReturnsEveryEntryOnceInOrder) {
  for (int i = 0; i < 25; ++i)
    ASSERT_TRUE(check->Command({"XADD", "site_a", "*", "d", std::to_string(i)}).ok());

  RedisReader reader(config, queue_config, redis_config, 0, "load", "loader-1",
                     {.read_ahead = true});
  std::vector<std::string> seen;
  auto read = [&](std::size_t n) {
    auto r = reader.Read(n, 1 << 20, std::chrono::milliseconds(0));
    EXPECT_TRUE(r.ok());
    for (const auto& e : *r) seen.push_back(e.payload);
    return r.ok() && !r->empty() ? r->back().id : std::string();
  };
  const std::string first = read(10);
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(PendingReaches(*check, 20), 20) << "a full read sends the next one ahead";
  ASSERT_TRUE(reader.Ack(first).ok());
  // The 10 fetched ahead; the acknowledgement read their reply and sent no further read.
  EXPECT_EQ(PendingReaches(*check, 10), 10);
  read(4);  // less than was fetched ahead
  read(10);
  std::string last = read(10);
  EXPECT_TRUE(read(10).empty()) << "nothing is left to return";
  Status acked = reader.Ack(last);
  ASSERT_TRUE(acked.ok()) << acked.ToString() << " seen " << seen.size();
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(Pending(*check), 0);

  // Other consumers do not read ahead: what they have not asked for stays unread.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(check->Command({"XADD", "site_a", "*", "d", std::to_string(i)}).ok());
  RedisReader plain(config, queue_config, redis_config, 0, "load", "loader-2");
  ASSERT_EQ(plain.Read(10, 1 << 20, std::chrono::milliseconds(0))->size(), 10u);
  EXPECT_EQ(Pending(*check), 10);
}

// An entry holds the events a collector sent together. The reader returns them one by one
// and acknowledges the entry only with its last event, so that a batch that ends inside an
// entry leaves the entry pending (re-read, never lost, after a crash).
TEST_F(RedisReaderTest, EventsOfOneEntryAreReturnedSinglyAndTheEntryAckedWithTheLast) {
  RedisReader reader(config, queue_config, redis_config, 0, "load", "loader-1");
  ASSERT_TRUE(reader.Read(10, 1 << 20, std::chrono::milliseconds(0)).ok());  // makes the group
  auto added = check->Command({"XADD", "site_a", "*", "d", "a", "d", "b", "d", "c"});
  ASSERT_TRUE(added.ok());
  const std::string entry_id(ReplyString(added->get()));
  ASSERT_TRUE(check->Command({"XADD", "site_a", "*", "d", "x"}).ok());

  auto first = reader.Read(2, 1 << 20, std::chrono::milliseconds(0));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].payload, "a");
  EXPECT_EQ((*first)[1].payload, "b");
  // When it was appended: the time part of the entry's id.
  EXPECT_EQ((*first)[0].appended_ms, std::stoll(entry_id.substr(0, entry_id.find('-'))));
  ASSERT_TRUE(reader.Ack(first->back().id).ok());
  EXPECT_EQ(Pending(*check), 2) << "the entry of a, b, c was acknowledged before c was";
  auto rest = reader.Read(10, 1 << 20, std::chrono::milliseconds(0));
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].payload, "c");
  EXPECT_EQ((*rest)[1].payload, "x");
  ASSERT_TRUE(reader.Ack((*rest)[0].id).ok());
  EXPECT_EQ(Pending(*check), 1);
  ASSERT_TRUE(reader.Ack((*rest)[1].id).ok());
  EXPECT_EQ(Pending(*check), 0);
}

// Counts the answers a writer gives, from whichever thread gives them.
class Answers : public AppendHandler {
 public:
  void Appended(Status s) override { (s.ok() ? ok : failed)++; }
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
};

struct WriterFixture {
  explicit WriterFixture(const std::string& temp, std::uint16_t port) {
    config.sites.push_back({});
    config.sites[0].name = "site_a";
    redis_config.port = port;
    redis_config.command_timeout = std::chrono::milliseconds(200);
    spool = std::move(Spool::Open(temp + "/spool", {"site_a"}, {"forward"}, queue_config)).value();
  }
  std::unique_ptr<RedisWriter> Writer() {
    auto inline_job = [](std::function<void()> job) { job(); };
    return std::move(RedisWriter::Create(config, redis_config, *spool, 0, inline_job, backlog,
                                         inline_job))
        .value();
  }
  bool WaitAnswered(const Answers& answers, int n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (answers.ok + answers.failed < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return answers.ok + answers.failed == n;
  }
  config::Config config;
  QueueConfig queue_config;
  RedisConfig redis_config;
  std::unique_ptr<Spool> spool;
  SpoolBacklog backlog{1};
};

TEST(RedisWriterTest, EachEventIsAnsweredAndInTheStreamOnce) {
  oceanus::testing::ScopedTempDir temp{"oceanus-writer"};
  RedisServer server;
  WriterFixture f(temp.path().string(), server.port());
  auto check = server.Connect(f.redis_config);
  if (!check) GTEST_SKIP() << "no redis-server to run";
  auto answers = std::make_shared<Answers>();
  {
    auto writer = f.Writer();
    for (int i = 0; i < 1000; ++i)
      writer->Append(0, "{\"uid\":\"w" + std::to_string(i) + "\"}", answers);
    EXPECT_TRUE(f.WaitAnswered(*answers, 1000));
  }
  EXPECT_EQ(answers->ok, 1000);
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) expected.push_back("{\"uid\":\"w" + std::to_string(i) + "\"}");
  EXPECT_EQ(StreamEvents(*check, "site_a"), expected) << "each event once, in order";
  // Events appended while a pipeline was in flight share entries, at most 64 to one: 1,000
  // appended in a loop outrun the round trips by far.
  const long long entries = Integer(check->Command({"XLEN", "site_a"}));
  EXPECT_GE(entries, 1000 / 64 + 1);
  EXPECT_LT(entries, 500) << "events sent together were not packed into shared entries";
}

// A hung Redis: the writer answers from the spool after command_timeout, and once Redis runs
// again the forwarder brings the spool over. Only the writer's pipeline that was waiting at
// the stop can repeat (its outcome was unknown when the events were spooled).
TEST(RedisWriterTest, HungRedisIsBridgedByTheSpoolWithoutLoss) {
  oceanus::testing::ScopedTempDir temp{"oceanus-writer"};
  RedisServer server;
  WriterFixture f(temp.path().string(), server.port());
  auto check = server.Connect(f.redis_config);
  if (!check) GTEST_SKIP() << "no redis-server to run";
  f.backlog.Set(0, false);
  Forwarder forwarder(f.config, f.redis_config, *f.spool, f.backlog);
  forwarder.Start();
  auto answers = std::make_shared<Answers>();
  constexpr int kEvents = 600;
  {
    auto writer = f.Writer();
    for (int i = 0; i < kEvents / 2; ++i)
      writer->Append(0, "{\"uid\":\"h" + std::to_string(i) + "\"}", answers);
    ASSERT_TRUE(f.WaitAnswered(*answers, kEvents / 2));
    server.Signal(SIGSTOP);
    for (int i = kEvents / 2; i < kEvents; ++i)
      writer->Append(0, "{\"uid\":\"h" + std::to_string(i) + "\"}", answers);
    EXPECT_TRUE(f.WaitAnswered(*answers, kEvents)) << "answers wait for a stopped Redis";
    EXPECT_TRUE(f.backlog.Has(0));
    server.Signal(SIGCONT);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (f.backlog.Has(0) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_FALSE(f.backlog.Has(0)) << "the spool was not forwarded";
  }
  forwarder.Stop();
  EXPECT_EQ(answers->ok, kEvents);
  const std::vector<std::string> events = StreamEvents(*check, "site_a");
  const std::set<std::string> uids(events.begin(), events.end());
  EXPECT_EQ(uids.size(), static_cast<std::size_t>(kEvents)) << "an answered event is missing";
  EXPECT_LE(events.size(), static_cast<std::size_t>(kEvents + kEvents / 2));
}

}  // namespace
}  // namespace oceanus::queue::redis
