// The stages one process runs, owned in the order the data flows, and the functions that
// assemble each role from the config.
//
// RunCommand starts the worker (tasks → actions), the reactor (queue → rules → tasks) and the
// loader (queue → sink) first, then the collector (HTTP → queue), then the admin listener. On
// SIGTERM/SIGINT (and SIGHUP: there is no reload) it stops them in the opposite order: stop
// accepting and answer what is in flight, finish pending fsyncs, let the loader write what is
// queued and the reactor finish its batch, let running actions finish, and exit 0.
//
// The members are declared in the order they are started, so that whatever is not stopped
// explicitly is destroyed after everything that uses it.
#pragma once

#include <memory>
#include <thread>

#include "actions/action.h"
#include "app/commands.h"
#include "app/config.h"
#include "app/prepare.h"
#include "collect/rate_history.h"
#include "http/admin_server.h"
#include "http/server.h"
#include "load/loader.h"
#include "queue/dead_letter.h"
#include "queue/queue_registry.h"
#include "react/guard.h"
#include "react/reactor.h"
#include "sink/history.h"
#include "sink/sink.h"
#include "tasks/task_queue.h"
#include "util/status.h"
#include "util/thread_pool.h"
#include "work/worker.h"

namespace oceanus::app {

struct Process {
  Process(const Config& c, const Prepared& p, const Roles& r) : config(c), prepared(p), roles(r) {}

  const Config& config;
  const Prepared& prepared;
  const Roles& roles;

  // The queue as this process uses it (queue/queue_registry.h): opened first, so that it
  // outlives its writers, readers and dead-letter.
  std::unique_ptr<queue::Queue> queue;
  // What did not become a row, from every stage below (queue/rejected.h): made with the queue,
  // so that it outlives the stages that hand it entries; stopped (its last entries written)
  // after them.
  std::unique_ptr<queue::RejectedRecorder> rejected;
  // load and tables: queue → sink.
  std::vector<std::unique_ptr<sink::Sink>> sinks;  // one per loader writer (load.writers)
  std::unique_ptr<queue::DeadLetter> dead_letter;
  std::unique_ptr<load::Loader> loader;
  std::jthread loader_thread;
  // react and work: queue → rules → tasks → actions.
  std::unique_ptr<tasks::TaskQueue> task_queue;
  std::unique_ptr<react::GuardStore> guards;
  std::unique_ptr<react::Reactor> reactor;
  std::jthread reactor_thread;
  std::unique_ptr<sink::HistorySource> history;
  actions::ActionMap action_runners;
  std::unique_ptr<work::Worker> worker;
  std::jthread worker_thread;
  // collect: HTTP → queue.
  ThreadPool blocking{1};  // fsyncs and Redis round trips, off the I/O threads
  std::unique_ptr<http::Server> server;
  // The admin page's rates chart: the server's counts sampled every second.
  std::unique_ptr<collect::RateHistory> rates;
  std::jthread rates_thread;
  std::unique_ptr<http::AdminServer> admin;
  // collect and load, every second: re-reads the suppression list (an erasure reaches a
  // running process within about a second) and, with a shared Redis, fetches the collectors'
  // salts of today and tomorrow.
  std::jthread housekeeping_thread;
};

// Each returns an exit status (0: started, or not needed by these roles). A failure has been
// logged or printed.
int OpenQueue(Process& p);
int StartLoad(Process& p);
int OpenTaskQueueIfNeeded(Process& p);
int StartReact(Process& p);
int StartWork(Process& p);
int StartCollect(Process& p);
void StartAdmin(Process& p);
void StartHousekeeping(Process& p);
// Stops the stages in the order the top of this file gives.
void StopAll(Process& p);

}  // namespace oceanus::app
