// An open-loop HTTP load generator for latency at a fixed rate: requests are due at evenly
// spaced instants (rate per second), each goes out on a free keep-alive connection as soon as
// it is due, and its latency counts from when it was due, not from when it was sent. A server
// that falls behind therefore shows its queueing in the figures (no "coordinated omission"),
// and no timer granularity bunches the requests: the loop polls the clock and the sockets
// without sleeping, so it takes its core whole.
//
//   open_loop PORT RATE SECONDS CONNECTIONS TARGET [USER_AGENT]
//
// Prints the requests due, answered, the achieved rate and the latency percentiles; exits 1
// if an answer was not 2xx or 3xx, or a connection broke.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  bool busy = false;
  Clock::time_point due;  // of the request in flight
  std::string in;
};

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    std::perror("connect");
    std::exit(2);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Whole answers at the front of `in` (header and Content-Length body): their count; each
// one's status is checked, and the bytes are removed.
int TakeAnswers(std::string& in, bool& bad) {
  int answers = 0;
  while (true) {
    const auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) return answers;
    std::size_t length = 0;
    const auto at = in.find("Content-Length: ");
    if (at != std::string::npos && at < end)
      length = std::strtoul(in.c_str() + at + 16, nullptr, 10);
    if (in.size() < end + 4 + length) return answers;
    if (in.compare(0, 9, "HTTP/1.1 ") != 0 || (in[9] != '2' && in[9] != '3')) bad = true;
    in.erase(0, end + 4 + length);
    ++answers;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: open_loop PORT RATE SECONDS CONNECTIONS TARGET [USER_AGENT]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const double rate = std::atof(argv[2]);
  const double seconds = std::atof(argv[3]);
  const int connections = std::atoi(argv[4]);
  const std::string request = std::string("GET ") + argv[5] + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                              (argc > 6 ? std::string("User-Agent: ") + argv[6] + "\r\n" : "") +
                              "\r\n";
  const int ep = ::epoll_create1(0);
  std::vector<Connection> conns(static_cast<std::size_t>(connections));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(port);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  const auto start = Clock::now() + std::chrono::milliseconds(200);  // connections settle
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  std::uint64_t next = 0;                 // the next request to fall due
  std::deque<Clock::time_point> waiting;  // due, but no connection was free
  std::vector<std::size_t> free_conns;
  for (std::size_t i = 0; i < conns.size(); ++i) free_conns.push_back(i);
  std::vector<double> latencies_us;
  latencies_us.reserve(total);
  bool bad = false;
  epoll_event events[256];
  while (latencies_us.size() < total && !bad) {
    const auto now = Clock::now();
    while (next < total &&
           start + std::chrono::duration_cast<Clock::duration>(interval * next) <= now) {
      waiting.push_back(start + std::chrono::duration_cast<Clock::duration>(interval * next));
      ++next;
    }
    while (!waiting.empty() && !free_conns.empty()) {
      Connection& c = conns[free_conns.back()];
      free_conns.pop_back();
      c.busy = true;
      c.due = waiting.front();
      waiting.pop_front();
      if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size()))
        bad = true;
    }
    const int n = ::epoll_wait(ep, events, 256, 0);
    for (int k = 0; k < n; ++k) {
      Connection& c = conns[events[k].data.u64];
      char buf[8192];
      const ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
      if (got == 0 && !c.busy) {
        // The server ended the connection between requests (nginx after keepalive_requests,
        // 1000 by default): a new one takes its place.
        ::close(c.fd);
        c.fd = Connect(port);
        c.in.clear();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = events[k].data.u64;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
        continue;
      }
      if (got <= 0) {
        if (got == 0 || errno != EAGAIN) bad = true;
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(got));
      if (TakeAnswers(c.in, bad) > 0 && c.busy) {
        const auto done = Clock::now();
        latencies_us.push_back(std::chrono::duration<double, std::micro>(done - c.due).count());
        c.busy = false;
        free_conns.push_back(events[k].data.u64);
      }
    }
    if (Clock::now() - start > std::chrono::duration<double>(seconds + 10)) break;  // stuck
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto pct = [&](double p) {
    if (latencies_us.empty()) return 0.0;
    return latencies_us[std::min(latencies_us.size() - 1,
                                 static_cast<std::size_t>(p / 100 * latencies_us.size()))];
  };
  std::printf(
      "due %llu answered %zu rate %.0f/s p50 %.0fus p90 %.0fus p99 %.0fus p99.9 %.0fus max "
      "%.0fus%s\n",
      static_cast<unsigned long long>(next), latencies_us.size(), latencies_us.size() / elapsed,
      pct(50), pct(90), pct(99), pct(99.9), latencies_us.empty() ? 0.0 : latencies_us.back(),
      bad ? " (errors)" : "");
  return bad || latencies_us.size() < total ? 1 : 0;
}
