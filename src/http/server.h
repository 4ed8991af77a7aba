// The public HTTP listener: Asio, one io_context and one acceptor per I/O thread.
//
// Shared-nothing: every thread binds the same port (SO_REUSEPORT, the kernel spreads
// connections), owns its sessions, its queue writer and its caches, so a request never waits
// on a lock held by another core. The one thing shared is an atomic count of open connections
// (server.max_connections is a total), touched at accept and close, never per request. Start
// refuses a port another process already listens on. Asio stays behind this header (it is
// slow to compile and nothing else needs it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "collect/collector.h"
#include "config/config.h"
#include "queue/queue.h"
#include "queue/rejected.h"
#include "util/status.h"

namespace oceanus::http {

// Runs a job on the thread that owns a writer (used to hand fsync completions back).
using PostFn = std::function<void(std::function<void()>)>;
// Makes the queue writer of I/O thread `index`; `post` runs work on that thread.
using WriterFactory =
    std::function<Result<std::unique_ptr<queue::QueueWriter>>(unsigned index, PostFn post)>;

class Server {
 public:
  // Binds, then starts the I/O threads; keeps `config.server` (listen address, limits,
  // timeouts) and nothing else of the config. Errors: the address cannot be bound or another
  // process listens on it. `rejected`, when given, keeps every refused request (a lane per
  // I/O thread) and must outlive the Server.
  //
  // The writers post their completions to the I/O threads, and a writer's job may still run
  // elsewhere (`run_blocking`: an fsync in group commit) holding the sessions it will answer.
  // Every such job must have run before the Server is destroyed: join the pool that runs them
  // first (ThreadPool::Join; a job submitted after it runs inline), then destroy the Server.
  static Result<std::unique_ptr<Server>> Start(const config::Config& config,
                                               std::shared_ptr<const collect::Collector> collector,
                                               const WriterFactory& make_writer,
                                               queue::RejectedRecorder* rejected = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  // The collector's counters, summed over the I/O threads (any thread may call this).
  void WriteMetrics(MetricsWriter& out) const;
  // Events queued so far per site (Collector::sites() order), summed over the I/O threads.
  std::vector<std::uint64_t> QueuedTotals() const;
  // The live tail: events accepted and requests rejected after `since_micros` whose text
  // contains every needle, oldest first.
  void CollectRecent(std::int64_t since_micros, const std::vector<std::string>& event_needles,
                     const std::vector<std::string>& rejection_needles,
                     std::vector<collect::RecentEntry>& events,
                     std::vector<collect::RecentEntry>& rejections) const;
  // Stops accepting, closes idle connections, lets requests in flight be answered (up to
  // `grace`), then stops and joins the threads. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace oceanus::http
