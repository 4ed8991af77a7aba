// http::Server with a fake queue writer over real loopback sockets: what happens to requests
// the writer still holds when the server goes away, and to an exception out of a handler.
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <new>
#include <thread>

#include "app/config.h"
#include "util/fd.h"

namespace oceanus::http {
namespace {

using namespace std::chrono_literals;

constexpr const char* kConfig = R"(
server:
  max_body_bytes: 1KiB
sites:
  page:
    endpoint: swallow
    schema:
      - {name: evt}
  app:
    endpoint: segment
    write_keys: [k1]
    max_batch_bytes: 4KiB
)";

// What the test and the server's writer share.
struct WriterState {
  std::mutex mu;
  bool hold = false;                  // keep appends unanswered (as an fsync in group commit does)
  bool throw_next = false;            // the next Append throws std::bad_alloc
  int fail_after = -1;                // appends after this many fail (-1: none fails)
  std::vector<std::string> appended;  // the records accepted
  std::vector<std::shared_ptr<queue::AppendHandler>> held;
  PostFn post;

  std::size_t Held() {
    std::lock_guard lock(mu);
    return held.size();
  }
  // Completes the held appends on the writer's I/O thread, as a finished fsync does.
  void Release() {
    std::lock_guard lock(mu);
    for (auto& h : held) post([h] { h->Appended(Status::Ok()); });
    held.clear();
  }
};

class FakeWriter final : public queue::QueueWriter {
 public:
  explicit FakeWriter(std::shared_ptr<WriterState> state) : state_(std::move(state)) {}
  // As the Redis writer's destructor does: what is still queued is flushed, and each
  // completion is posted back to the I/O thread.
  ~FakeWriter() override { state_->Release(); }

  void Append(queue::SiteId, std::string_view record,
              std::shared_ptr<queue::AppendHandler> done) override {
    {
      std::lock_guard lock(state_->mu);
      if (state_->throw_next) {
        state_->throw_next = false;
        throw std::bad_alloc();
      }
      if (state_->hold) {
        state_->held.push_back(std::move(done));
        return;
      }
      if (state_->fail_after >= 0 &&
          state_->appended.size() >= static_cast<std::size_t>(state_->fail_after)) {
        done->Appended(Status::IoError("disk full"));
        return;
      }
      state_->appended.emplace_back(record);
    }
    done->Appended(Status::Ok());
  }

 private:
  std::shared_ptr<WriterState> state_;
};

template <typename Condition>
bool WaitFor(Condition condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

UniqueFd Connect(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

void Send(const UniqueFd& fd, std::string_view bytes) {
  ASSERT_EQ(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

// Everything received until the server closes, or until `timeout` (then `closed` is false).
struct Received {
  std::string bytes;
  bool closed = false;
};
Received ReadUntilClosed(const UniqueFd& fd, std::chrono::milliseconds timeout = 10s) {
  Received r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return r;
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return r;
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      return r;
    }
    r.bytes.append(buf, static_cast<std::size_t>(n));
  }
}

constexpr std::string_view kBeacon =
    "GET /swallow/page?evt=x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = app::ParseConfig(kConfig, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = std::move(config).value();
    config_.server.listen_host = "127.0.0.1";
    config_.server.listen_port = 0;
    config_.server.threads = 1;
    StartServer();
  }

  void StartServer() {
    auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
    auto collector = collect::Collector::Create(config_, *classifier);
    ASSERT_TRUE(collector.ok()) << collector.status().ToString();
    auto state = state_;
    auto server = Server::Start(
        config_, *collector,
        [state](unsigned, PostFn post) -> Result<std::unique_ptr<queue::QueueWriter>> {
          state->post = std::move(post);
          return std::unique_ptr<queue::QueueWriter>(new FakeWriter(state));
        });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  app::Config config_;
  std::shared_ptr<WriterState> state_ = std::make_shared<WriterState>();
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, AnExceptionOutOfAHandlerDropsThatRequestOnly) {
  state_->throw_next = true;
  UniqueFd first = Connect(server_->port());
  ASSERT_TRUE(first.valid());
  Send(first, kBeacon);
  const Received dropped = ReadUntilClosed(first);
  EXPECT_TRUE(dropped.closed);
  EXPECT_EQ(dropped.bytes, "") << "the request whose handler threw gets no answer";

  UniqueFd second = Connect(server_->port());
  ASSERT_TRUE(second.valid());
  Send(second, kBeacon);
  const Received answered = ReadUntilClosed(second);
  EXPECT_EQ(answered.bytes.substr(0, 15), "HTTP/1.1 200 OK") << "the thread serves on";
}

TEST_F(ServerTest, AppendsHeldAtShutdownAreAnsweredWithinTheGrace) {
  state_->hold = true;
  UniqueFd client = Connect(server_->port());
  ASSERT_TRUE(client.valid());
  Send(client, kBeacon);
  ASSERT_TRUE(WaitFor([&] { return state_->Held() == 1; }));
  const std::uint16_t port = server_->port();
  std::thread shutdown([&] { server_->Shutdown(10s); });
  // Accepting has stopped: the shutdown is under way with the append still held.
  EXPECT_TRUE(WaitFor([&] { return !Connect(port).valid(); }));
  state_->Release();
  const Received r = ReadUntilClosed(client);
  shutdown.join();
  EXPECT_EQ(r.bytes.substr(0, 15), "HTTP/1.1 200 OK") << r.bytes;
  EXPECT_NE(r.bytes.find("Connection: close"), std::string::npos) << r.bytes;
}

TEST_F(ServerTest, AppendsStillHeldWhenTheServerIsDestroyedCloseTheirConnections) {
  state_->hold = true;
  UniqueFd client = Connect(server_->port());
  ASSERT_TRUE(client.valid());
  Send(client, kBeacon);
  ASSERT_TRUE(WaitFor([&] { return state_->Held() == 1; }));
  // No grace: the writer is destroyed with its append held, and posts its completion back as
  // it goes. The io_context must still exist then; the completion it never runs is destroyed
  // with it, and the session (so the socket) with the completion.
  server_.reset();
  const Received r = ReadUntilClosed(client, 5s);
  EXPECT_TRUE(r.closed) << "the connection was left open: its session outlived the server";
}

// A POST with `body` to `target` (Basic auth with the segment site's key), the whole answer.
std::string Post(std::uint16_t port, std::string_view target, const std::string& body) {
  UniqueFd fd = Connect(port);
  if (!fd.valid()) return "no connection";
  const std::string request = "POST " + std::string(target) +
                              " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                              "Authorization: Basic azE6\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL);
  return ReadUntilClosed(fd).bytes;
}

std::string Batch(int messages, std::size_t padding = 0) {
  std::string body = R"({"batch":[)";
  for (int i = 0; i < messages; ++i)
    body += std::string(i ? "," : "") + R"({"type":"track","event":"E","userId":"u)" +
            std::to_string(i) + R"(","properties":{"p":")" + std::string(padding, 'x') + "\"}}";
  return body + "]}";
}

TEST_F(ServerTest, ABatchIsAnsweredOnceTheQueueHasEveryMessage) {
  const std::string r = Post(server_->port(), "/v1/batch", Batch(3));
  EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK") << r;
  EXPECT_EQ(r.substr(r.size() - 16), R"({"success":true})") << r;
  std::lock_guard lock(state_->mu);
  ASSERT_EQ(state_->appended.size(), 3u);
  EXPECT_NE(state_->appended[2].find(R"("user_id":"u2")"), std::string::npos);
}

TEST_F(ServerTest, ABatchTheQueueCannotWholeStoreIs503) {
  state_->fail_after = 1;
  const std::string r = Post(server_->port(), "/v1/batch", Batch(3));
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 503") << r;
  EXPECT_NE(r.find("Content-Type: application/json\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("Retry-After: 1\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find(R"({"success":false,"message":"the events could not be stored; try again"})"),
            std::string::npos)
      << r;
  // A beacon the queue refuses keeps its text answer.
  UniqueFd fd = Connect(server_->port());
  Send(fd, kBeacon);
  const std::string beacon = ReadUntilClosed(fd).bytes;
  EXPECT_EQ(beacon.substr(0, 12), "HTTP/1.1 503");
  EXPECT_NE(beacon.find("the event could not be stored; try again\n"), std::string::npos);
}

TEST_F(ServerTest, EachPathHasItsBodyLimit) {
  // server.max_body_bytes (1 KiB) for the beacons, max_batch_bytes (4 KiB) for /v1/.
  const std::string form(2000, 'a');
  std::string r = Post(server_->port(), "/swallow/page", form);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 413") << r;
  EXPECT_NE(r.find("request body too large\n"), std::string::npos) << r;
  r = Post(server_->port(), "/v1/batch", Batch(2, 900));
  EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK") << r;
  r = Post(server_->port(), "/v1/batch", Batch(5, 900));
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 413") << r;
  EXPECT_NE(
      r.find(R"j({"success":false,"message":"request body larger than max_batch_bytes (4096)"})j"),
      std::string::npos)
      << r;
}

// Reads one answer: its header and a Content-Length body (empty when none arrives in time).
std::string ReadAnswer(const UniqueFd& fd) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto at = got.find("Content-Length: ");
      const std::size_t length = at == std::string::npos ? 0 : std::stoul(got.substr(at + 16));
      if (got.size() >= end + 4 + length) return got;
    }
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return {};
    got.append(buf, static_cast<std::size_t>(n));
  }
  return {};
}

double Gauge(const Server& server, std::string_view sample) {
  MetricsWriter out;
  server.WriteMetrics(out);
  const std::string text = out.text();
  const auto at = text.find(sample);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + sample.size() + 1));
}

constexpr std::string_view kKeepAliveBeacon = "GET /swallow/page?evt=x HTTP/1.1\r\nHost: t\r\n\r\n";
constexpr std::string_view kParked = R"(oceanus_connections{state="parked"})";

// After about a second idle a connection gives its buffers back (parked); its next request is
// read, stored and answered as the first was, and the one after that too.
TEST_F(ServerTest, AParkedConnectionIsAnsweredOnItsNextRequests) {
  UniqueFd fd = Connect(server_->port());
  ASSERT_TRUE(fd.valid());
  Send(fd, kKeepAliveBeacon);
  EXPECT_EQ(ReadAnswer(fd).substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(Gauge(*server_, kParked), 0);
  ASSERT_TRUE(WaitFor([&] { return Gauge(*server_, kParked) == 1; }))
      << "an idle connection was never parked";
  Send(fd, kKeepAliveBeacon);
  EXPECT_EQ(ReadAnswer(fd).substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(Gauge(*server_, kParked), 0);
  Send(fd, kKeepAliveBeacon);
  EXPECT_EQ(ReadAnswer(fd).substr(0, 15), "HTTP/1.1 200 OK");
  std::lock_guard lock(state_->mu);
  EXPECT_EQ(state_->appended.size(), 3u);
}

// A request that arrives in pieces, with a pause longer than the park delay before its end,
// is answered: only connections waiting between requests are parked.
TEST_F(ServerTest, ARequestArrivingSlowlyIsNotParkedHalfRead) {
  UniqueFd fd = Connect(server_->port());
  ASSERT_TRUE(fd.valid());
  Send(fd, kKeepAliveBeacon.substr(0, 20));
  std::this_thread::sleep_for(2500ms);  // the pause is the point: longer than parking takes
  EXPECT_EQ(Gauge(*server_, kParked), 0);
  Send(fd, kKeepAliveBeacon.substr(20));
  EXPECT_EQ(ReadAnswer(fd).substr(0, 15), "HTTP/1.1 200 OK");
}

// A parked connection still closes at the idle timeout, and gives its parked count back.
TEST_F(ServerTest, AParkedConnectionClosesAtTheIdleTimeout) {
  server_.reset();
  config_.server.idle_timeout = 1500ms;  // parked after 1.1-1.5 s, closed after 1.5-1.9 s
  StartServer();
  UniqueFd fd = Connect(server_->port());
  ASSERT_TRUE(fd.valid());
  Send(fd, kKeepAliveBeacon);
  EXPECT_EQ(ReadAnswer(fd).substr(0, 15), "HTTP/1.1 200 OK");
  ASSERT_TRUE(WaitFor([&] { return Gauge(*server_, kParked) == 1; }));
  const Received r = ReadUntilClosed(fd);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.bytes, "");
  EXPECT_TRUE(WaitFor([&] { return Gauge(*server_, kParked) == 0; }));
  EXPECT_TRUE(
      WaitFor([&] { return Gauge(*server_, R"(oceanus_connections{state="open"})") == 0; }));
}

}  // namespace
}  // namespace oceanus::http
