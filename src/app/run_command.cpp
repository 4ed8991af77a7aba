// `oceanus run` and the one-role commands: load the config, start the stages these roles
// need (app/process.h gives the order), wait for a signal, stop them in reverse.
#include <signal.h>
#include <sys/resource.h>

#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "app/process.h"
#include "event/salts_redis.h"
#include "queue/queue_registry.h"
#include "util/log.h"

namespace oceanus::app {
namespace {

// Every connection is a descriptor; a default soft limit of 1024 would cap the collector
// far below server.max_connections. Raise the soft limit as far as the hard one allows (as
// nginx's worker_rlimit_nofile and Redis's maxclients do) and say so when it is not enough.
void RaiseOpenFilesLimit(std::size_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + 256;  // spool, sink, sockets
  const rlim_t target = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < target) {
    limit.rlim_cur = target;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted)
    spdlog::warn(
        "open-files limit is {} (hard {}): fewer than server.max_connections ({}) can "
        "be served at once; raise LimitNOFILE / ulimit -n",
        limit.rlim_cur, limit.rlim_max, max_connections);
}

// A queue that lives inside one process serves only `run` (or `work` alone, which reads no
// queue); the queue says whether it is one.
bool RolesFitQueue(const Config& config, const Roles& roles) {
  const bool all_roles = roles.collect && roles.load && roles.react && roles.work;
  const bool only_work = roles.work && !roles.collect && !roles.load && !roles.react;
  if (all_roles || only_work) return true;
  const Status shared = config.queue.settings->AllowsOneRoleProcess(roles.name);
  if (shared.ok()) return true;
  std::cerr << config.file << ": " << shared.message() << "\n";
  return false;
}

// Starts what the roles need, in the order of app/process.h; the first failure's exit status.
int StartAll(Process& p) {
  for (int (*start)(Process&) :
       {OpenQueue, StartLoad, OpenTaskQueueIfNeeded, StartReact, StartWork})
    if (int rc = start(p); rc != 0) return rc;
  StartHousekeeping(p);  // the salts of the day, before the first event
  if (int rc = StartCollect(p); rc != 0) return rc;
  StartAdmin(p);
  return 0;
}

void WaitForStopSignal(const sigset_t& signals) {
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  if (signal_number == SIGHUP) {
    spdlog::info("SIGHUP: stopping (reload is not supported; restart to apply a new config)");
  } else {
    spdlog::info("received {}, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  }
}

}  // namespace

namespace {

// Logs a housekeeping error once, not every second, and says when it is over.
class Reported {
 public:
  explicit Reported(const char* what) : what_(what) {}
  void Update(const Status& s, const char* still) {
    if (!s.ok() && s.message() != last_) spdlog::error("{}: {} ({})", what_, s.message(), still);
    if (s.ok() && !last_.empty()) spdlog::info("{}: working again", what_);
    last_ = s.ok() ? "" : s.message();
  }

 private:
  const char* what_;
  std::string last_;
};

}  // namespace

void StartHousekeeping(Process& p) {
  if (!p.roles.collect && !p.roles.load) return;
  std::unique_ptr<event::SharedSalts> shared_salts;
  if (auto shared = p.config.queue.settings->SharedStore(); shared && p.roles.collect) {
    shared_salts = std::make_unique<event::SharedSalts>(shared->connection, shared->key_prefix);
    // Before the first event: today's salt is the one the other collectors use.
    if (Status s = shared_salts->Sync(*p.prepared.salts, std::chrono::system_clock::now()); !s.ok())
      spdlog::warn(
          "visitor salts: {} (this collector's ids differ from the others' until "
          "Redis is reachable at the start of a day)",
          s.message());
  }
  p.housekeeping_thread = std::jthread([list = p.prepared.suppressed, salts = p.prepared.salts,
                                        shared = std::move(shared_salts)](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any wake;
    Reported suppression("suppression list"), sharing("visitor salts");
    std::unique_lock lock(mu);
    while (true) {
      // Returns the predicate's value, false, also when stopped: the token is asked again.
      wake.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
      if (stop.stop_requested()) return;
      suppression.Update(list->Refresh(), "the entries read before still apply");
      if (shared)
        sharing.Update(shared->Sync(*salts, std::chrono::system_clock::now()),
                       "a day begun without Redis has a salt of this collector's own");
    }
  });
}

void StopAll(Process& p) {
  p.admin.reset();  // its handlers read the stages below, which go away from here on
  if (p.rates_thread.joinable()) {  // it reads the server
    p.rates_thread.request_stop();
    p.rates_thread.join();
  }
  if (p.server) {
    const auto& s = p.config.server;
    p.server->Shutdown(s.gaze_open_delay + s.gaze_see_delay + s.gaze_read_delay +
                       std::chrono::seconds(5));
  }
  p.blocking.Join();             // pending fsyncs complete before the writers go away
  p.server.reset();              // writers: queued events are sent (or spooled) before this returns
  if (p.queue) p.queue->Stop();  // the spooled events' forwarding, after the last writer
  for (std::jthread* t :
       {&p.loader_thread, &p.reactor_thread, &p.worker_thread, &p.housekeeping_thread}) {
    if (!t->joinable()) continue;
    t->request_stop();
    t->join();
  }
  if (p.rejected) p.rejected->Stop();
}

int RunCommand(const std::string& path, const Overrides& overrides, const Roles& roles) {
  // Signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // no reload: it stops like SIGTERM (docs/operations.md)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  auto prepared = Prepare(*c, roles);
  if (!prepared.ok()) {
    std::cerr << prepared.status().message() << "\n";
    return kExitConfig;
  }
  const Config& config = *c;
  if (!RolesFitQueue(config, roles)) return kExitConfig;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (roles.collect) RaiseOpenFilesLimit(config.server.max_connections);
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data dir {}: {}", config.data_dir, ec.message());
    return kExitRuntime;
  }
  Process process(config, *prepared, roles);
  if (int rc = StartAll(process); rc != 0) return rc;
  spdlog::info("oceanus {} running: {} site(s), queue {}, data in {}", roles.name,
               config.sites.size(), config.queue.type, config.data_dir);
  WaitForStopSignal(signals);
  StopAll(process);
  spdlog::info("bye");
  return 0;
}

}  // namespace oceanus::app
