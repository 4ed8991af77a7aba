// oceanus: the command line. One binary, one subcommand per role.
//
//   oceanus run   --config FILE [--listen HOST:PORT] [--data-dir DIR]
//       every role in one process (the embedded default)
//   oceanus collect | load | tables | react | work --config FILE
//       one role per process (queue type redis): scale and restart each on its own
//   oceanus check --config FILE
//       validate the config and print the resolved sites, fields, tables and rules
//
// `run` wires the stages in the order the data flows: the worker (tasks → actions), the
// reactor (queue → rules → tasks) and the loader (queue → sink) start first, then the
// collector (HTTP → queue). On SIGTERM/SIGINT (and SIGHUP: there is no reload) it stops in
// the opposite order: stop accepting and answer what is in flight, finish pending fsyncs, let
// the loader write what is queued and the reactor finish its batch, let running actions
// finish, and exit 0.
//
// Everything `run` derives from the config before it starts a stage — time zone, rules,
// the collector (networks, tracker script, event builders), the device regexes, Google
// credentials and the BigQuery project — is built by one function, Prepare, which `check`
// calls too: whatever `run` would refuse, `check` refuses.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "actions/registry.h"
#include "app/config.h"
#include "collect/collector.h"
#include "config/reader.h"
#include "event/device.h"
#include "google/auth.h"
#include "http/admin_api.h"
#include "http/admin_server.h"
#include "http/server.h"
#include "load/dead_letter.h"
#include "load/loader.h"
#include "load/replay.h"
#include "queue/queue_status.h"
#include "queue/redis/redis_dead_letter.h"
#include "queue/redis/redis_queue.h"
#include "queue/spool/spool.h"
#include "react/guard.h"
#include "react/reactor.h"
#include "react/rules.h"
#include "sink/bigquery/bigquery_sink.h"
#include "sink/history.h"
#include "sink/sqlite/sqlite_sink.h"
#include "tables/table_names.h"
#include "tasks/open_task_queue.h"
#include "tasks/worker.h"
#include "util/logging.h"
#include "util/thread_pool.h"
#include "util/time.h"

namespace oceanus {
namespace {

constexpr int kExitConfig = 2;
constexpr int kExitRuntime = 1;

struct Overrides {
  std::string listen;
  std::string data_dir;
  std::string admin_listen;
};

const char* UapRegexesPath() {
  const char* env = std::getenv("OCEANUS_UAP_REGEXES");
  return env != nullptr && *env != '\0' ? env : OCEANUS_UAP_REGEXES;
}

Result<app::Config> LoadWithOverrides(const std::string& path, const Overrides& o) {
  auto c = app::LoadConfig(path);
  if (!c.ok()) return c;
  if (!o.data_dir.empty()) {
    if (c->sink.path == c->data_dir + "/oceanus.db") c->sink.path = o.data_dir + "/oceanus.db";
    if (c->tasks.path == c->data_dir + "/tasks.db") c->tasks.path = o.data_dir + "/tasks.db";
    c->data_dir = o.data_dir;
  }
  if (o.admin_listen == "off") {
    c->admin.enabled = false;
  } else if (!o.admin_listen.empty()) {
    auto admin = config::ParseListenAddress(o.admin_listen);
    if (!admin.ok())
      return Status::InvalidArgument("--admin-listen (HOST:PORT or off): " +
                                     admin.status().message());
    if (!admin->host.empty()) c->admin.listen_host = admin->host;
    c->admin.listen_port = admin->port;
    c->admin.enabled = true;
    // The same rule as admin.listen in the file: off loopback, only with a token.
    if (!config::IsLoopbackHost(c->admin.listen_host) && c->admin.token.empty())
      return Status::InvalidArgument("--admin-listen " + o.admin_listen +
                                     " is not a loopback address: set admin.token in " + path +
                                     " (clients send Authorization: Bearer <token>)");
  }
  if (!o.listen.empty()) {
    auto listen = config::ParseListenAddress(o.listen);
    if (!listen.ok()) return Status::InvalidArgument("--listen: " + listen.status().message());
    if (!listen->host.empty()) c->server.listen_host = listen->host;
    c->server.listen_port = listen->port;
  }
  return c;
}

struct Roles {
  bool collect = false;
  bool load = false;
  bool tables = false;
  bool react = false;
  bool work = false;
  const char* name = "run";
};
constexpr Roles kAllRoles{true, true, true, true, true, "check"};

// What the stages are built from, derived from the config (see the top of this file).
struct Prepared {
  TimeZone tz;
  react::RuleSet rules;
  std::shared_ptr<const collect::Collector> collector;  // roles.collect
  std::string bigquery_project_origin;                  // sink type bigquery
};

// An empty sink.bigquery.project becomes the key's or the metadata server's project.
Result<std::string> ResolveBigQueryProject(sink::BigQueryConfig& bq) {
  if (!bq.project.empty()) return std::string("sink.bigquery.project");
  auto found = google::FindDefaultProject(bq.key_file, bq.metadata_endpoint);
  if (!found.ok()) return found.status();
  if (!sink::IsBigQueryProjectId(found->id))
    return Status::InvalidArgument("project '" + found->id + "' from " + found->origin +
                                   " is not a project id (lower-case letters, digits, - . :)");
  bq.project = found->id;
  return found->origin;
}

// Google credentials are read and tried (a probe signature) before anything starts; tokens
// are fetched later, by the stage that needs them.
Status CheckGoogleKeys(const app::Config& config, const Roles& roles) {
  if (config.sink.type == "bigquery" && (roles.load || roles.tables || roles.work)) {
    google::TokenOptions options;
    options.metadata_endpoint = config.sink.bigquery.metadata_endpoint;
    auto tokens = google::MakeTokenSource(config.sink.bigquery.key_file, options);
    if (!tokens.ok()) return Status::InvalidArgument("sink.bigquery: " + tokens.status().message());
  }
  if (!roles.work) return Status::Ok();
  for (const auto& a : config.actions) {
    if (a.type != "sheets" || !a.configured) continue;
    auto tokens = google::MakeTokenSource(a.key_file, {});
    if (!tokens.ok())
      return Status::InvalidArgument("action '" + a.name + "': " + tokens.status().message());
  }
  return Status::Ok();
}

// Builds what the given roles need from the config, validating as it goes. `check` passes
// every role. Errors are config errors (exit 2).
Result<Prepared> Prepare(app::Config& config, const Roles& roles) {
  Prepared p;
  auto tz = TimeZone::Load(config.time_zone);
  if (!tz.ok())
    return Status::InvalidArgument(config.file + ": time_zone: " + tz.status().message());
  p.tz = std::move(tz).value();
  // The roles that use the sink (work: history reports); a collector needs no project.
  if (config.sink.type == "bigquery" && (roles.load || roles.tables || roles.work)) {
    auto origin = ResolveBigQueryProject(config.sink.bigquery);
    if (!origin.ok())
      return Status::InvalidArgument(config.file + ": sink.bigquery: " + origin.status().message());
    p.bigquery_project_origin = std::move(origin).value();
  }
  if (Status s = CheckGoogleKeys(config, roles); !s.ok())
    return Status::InvalidArgument(config.file + ": " + s.message());
  auto rules = react::RuleSet::Compile(config);
  if (!rules.ok()) return rules.status();
  p.rules = std::move(rules).value();
  if (roles.collect) {
    auto classifier = event::DeviceClassifier::Load(UapRegexesPath());
    if (!classifier.ok())
      return Status::InvalidArgument("device classifier (uap-core regexes, OCEANUS_UAP_REGEXES): " +
                                     classifier.status().ToString());
    auto collector = collect::Collector::Create(config, *classifier);
    if (!collector.ok())
      return Status::InvalidArgument(config.file + ": " + collector.status().message());
    p.collector = std::move(collector).value();
  }
  return p;
}

int Check(const std::string& path) {
  auto c = app::LoadConfig(path);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  auto prepared = Prepare(*c, kAllRoles);
  if (!prepared.ok()) {
    std::cerr << prepared.status().message() << "\n";
    return kExitConfig;
  }
  const TimeZone* tz = &prepared->tz;
  const react::RuleSet* rules = &prepared->rules;
  const auto now = std::chrono::system_clock::now();
  std::cout << "config: " << path << " (ok)\n"
            << "data_dir: " << c->data_dir << "\n"
            << "time_zone: " << tz->name() << "\n"
            << "listen: " << c->server.listen_host << ":" << c->server.listen_port << "\n"
            << "admin: "
            << (c->admin.enabled
                    ? c->admin.listen_host + ":" + std::to_string(c->admin.listen_port) +
                          (c->admin.token.empty() ? " (no token)" : " (token set)")
                    : std::string("off"))
            << "\n"
            << "queue: " << c->queue.type << " (durability "
            << (c->queue.durability == queue::Durability::kOs ? "os" : "fsync") << ")\n"
            << (c->queue.type == "redis"
                    ? "redis: " + c->queue.redis.host + ":" + std::to_string(c->queue.redis.port) +
                          ", streams " + c->queue.redis.prefix + "<site>\n"
                    : std::string())
            << "groups:";
  for (const auto& g : c->queue.groups) std::cout << " " << g;
  std::cout << "\n"
            << "sink: " << c->sink.type << " "
            << (c->sink.type == "bigquery" ? "project " + c->sink.bigquery.project + " (from " +
                                                 prepared->bigquery_project_origin + "), dataset " +
                                                 c->sink.bigquery.dataset
                                           : c->sink.path)
            << "\n"
            << "load: batches of " << c->load.batch_rows << " rows / " << c->load.batch_bytes
            << " bytes / " << c->load.max_wait.count() << " ms\n";
  for (const auto& site : c->sites) {
    std::cout << "\nsite " << site.name << "\n  endpoint: " << collect::DescribeEndpoint(*c, site);
    std::cout << "\n  tables: " << config::ToString(site.tables) << ", due now:";
    for (const auto& t : tables::TablesDueAt(site, c->sink.table_prefix, now, *tz))
      std::cout << " " << t;
    std::cout << "\n  fields:\n";
    for (const auto& f : site.schema) {
      std::cout << "    " << f.name << ": " << config::ToString(f.type) << " from "
                << config::ToString(f.from);
      if (!f.source_name.empty() && f.source_name != f.name)
        std::cout << " '" << f.source_name << "'";
      if (f.required) std::cout << ", required";
      if (f.max_length)
        std::cout << ", max " << f.max_length
                  << (f.on_overflow == config::Overflow::kTruncate ? " (truncate)" : " (reject)");
      if (!f.pattern.empty()) std::cout << ", pattern " << f.pattern;
      if (!f.transforms.empty()) {
        std::cout << ", transform ";
        for (std::size_t i = 0; i < f.transforms.size(); ++i)
          std::cout << (i ? "," : "") << config::ToString(f.transforms[i]);
      }
      if (!f.delete_chars.empty()) std::cout << ", delete_chars '" << f.delete_chars << "'";
      if (f.json) std::cout << ", json";
      if (f.ip) std::cout << ", ip";
      if (f.default_value) std::cout << ", default '" << *f.default_value << "'";
      std::cout << "\n";
    }
  }
  if (!c->rules.empty()) {
    std::cout << "\ntasks: " << c->tasks.type
              << (c->tasks.type == "local" ? " " + c->tasks.path
                                           : " " + c->tasks.rabbitmq.host + ":" +
                                                 std::to_string(c->tasks.rabbitmq.port) +
                                                 " queue " + c->tasks.rabbitmq.queue)
              << ", concurrency " << c->tasks.concurrency << ", " << c->tasks.max_attempts
              << " attempts, backoff " << c->tasks.backoff.count() << " ms doubling to "
              << c->tasks.max_backoff.count() << " ms\n";
    for (const auto& a : c->actions) {
      std::cout << "action " << a.name << " (" << a.type << ")";
      if (!a.configured) std::cout << " — not configured (no address): its steps are skipped";
      if (a.rate_limit.count)
        std::cout << ", at most " << a.rate_limit.count << " per " << a.rate_limit.per.count()
                  << " ms";
      std::cout << "\n";
    }
    rules->Describe(std::cout);
  }
  return 0;
}

Result<std::unique_ptr<sink::Sink>> OpenSink(const app::Config& config) {
  if (config.sink.type == "bigquery") {
    const auto& bq = config.sink.bigquery;
    google::TokenOptions options;
    options.token_uri_override = bq.token_uri;
    options.metadata_endpoint = bq.metadata_endpoint;
    auto tokens = google::MakeTokenSource(bq.key_file, options);
    if (!tokens.ok()) return tokens.status();
    return std::unique_ptr<sink::Sink>(
        std::make_unique<sink::BigQuerySink>(bq, std::move(tokens).value()));
  }
  auto sqlite = sink::SqliteSink::Open(config.sink.path);
  if (!sqlite.ok()) return sqlite.status();
  return std::unique_ptr<sink::Sink>(std::move(sqlite).value());
}

// `oceanus dead-tasks`: the buried tasks as JSON lines (id, action, attempts, last_error,
// args, event), for an operator deciding what to fix and replay.
int DeadTasks(const std::string& path, const Overrides& overrides, std::size_t limit) {
  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  auto queue = tasks::OpenTaskQueue(c->tasks);
  if (!queue.ok()) {
    std::cerr << "tasks: " << queue.status().message() << "\n";
    return kExitRuntime;
  }
  auto dead = (*queue)->DeadTasks(limit);
  if (!dead.ok()) {
    std::cerr << "tasks: " << dead.status().message() << "\n";
    return kExitRuntime;
  }
  for (const auto& t : *dead) std::cout << tasks::EncodeTask(t) << "\n";
  return 0;
}

// What reports read history from: the sink's own query (SQLite file, BigQuery jobs.query).
Result<std::unique_ptr<sink::HistorySource>> OpenHistory(const app::Config& config,
                                                         const TimeZone& tz,
                                                         std::unique_ptr<sink::Sink>& owned) {
  if (config.sink.type == "bigquery") {
    if (!owned) {
      auto opened = OpenSink(config);
      if (!opened.ok()) return opened.status();
      owned = std::move(opened).value();
    }
    return sink::MakeBigQueryHistory(static_cast<sink::BigQuerySink&>(*owned),
                                     config.sink.table_prefix);
  }
  return sink::MakeSqliteHistory(config.sink.path, config.sink.table_prefix, tz);
}

// "host-pid": the consumer name in Redis consumer groups, unique per process.
std::string ConsumerName() {
  char host[256] = "oceanus";
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

// One reader per site for a consumer group: the Redis stream's group (queue type redis), or
// the group's cursor in this process's spool. A failure is logged here.
Result<std::vector<std::unique_ptr<queue::QueueReader>>> OpenReaders(const app::Config& config,
                                                                     queue::Spool* spool,
                                                                     const std::string& group) {
  std::vector<std::unique_ptr<queue::QueueReader>> readers;
  const std::string consumer = ConsumerName();
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    if (config.queue.type == "redis") {
      readers.push_back(std::make_unique<queue::redis::RedisReader>(config, i, group, consumer));
      continue;
    }
    auto reader = spool->OpenReader(i, group);
    if (!reader.ok()) {
      spdlog::critical("spool reader for {} ({}): {}", config.sites[i].name, group,
                       reader.status().ToString());
      return reader.status();
    }
    readers.push_back(std::move(reader).value());
  }
  return readers;
}

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

// The `tables` role: the loader's table upkeep without reading a queue — the tables due now
// are ensured every `every` until `stop`.
void RunTableManager(load::Loader& loader, std::chrono::milliseconds every, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any stopped;
  std::unique_lock lock(mu);
  while (!stop.stop_requested()) {
    Status s = loader.EnsureDueTables(std::chrono::system_clock::now());
    if (!s.ok()) spdlog::warn("table manager: {}", s.ToString());
    stopped.wait_for(lock, stop, every, [] { return false; });
  }
  spdlog::info("table manager stopped");
}

int Run(const std::string& path, const Overrides& overrides, const Roles& roles) {
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
  const app::Config& config = *c;
  const TimeZone* tz = &prepared->tz;
  const react::RuleSet* rules = &prepared->rules;
  const bool redis = config.queue.type == "redis";
  const bool all_roles = roles.collect && roles.load && roles.react && roles.work;
  const bool only_work = roles.work && !roles.collect && !roles.load && !roles.react;
  if (!redis && !all_roles && !only_work) {
    std::cerr << path
              << ": queue type spool keeps the queue inside one process: use `oceanus run`, "
              << "or queue type redis to run `oceanus " << roles.name << "` on its own\n";
    return kExitConfig;
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (roles.collect) RaiseOpenFilesLimit(config.server.max_connections);
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data dir {}: {}", config.data_dir, ec.message());
    return kExitRuntime;
  }
  std::vector<std::string> site_names;
  for (const auto& s : config.sites) site_names.push_back(s.name);

  // The local spool: the queue itself (spool), or the collector's fallback (redis).
  std::unique_ptr<queue::Spool> spool;
  if (roles.collect) {
    const std::vector<std::string> groups =
        redis ? std::vector<std::string>{"forward"} : config.queue.groups;
    auto opened = queue::Spool::Open(config.data_dir + "/spool", site_names, groups, config.queue);
    if (!opened.ok()) {
      spdlog::critical("spool: {}", opened.status().ToString());
      return kExitRuntime;
    }
    spool = std::move(opened).value();
  }

  // load (and tables): queue → sink.
  std::unique_ptr<sink::Sink> sink;
  std::unique_ptr<load::DeadLetter> dead_letter;
  std::unique_ptr<load::Loader> loader;
  std::jthread loader_thread;
  if (roles.load || roles.tables) {
    auto opened = OpenSink(config);
    if (!opened.ok()) {
      spdlog::critical("sink: {}", opened.status().ToString());
      return opened.status().code() == Status::Code::kInvalidArgument ? kExitConfig : kExitRuntime;
    }
    sink = std::move(opened).value();
    std::vector<std::unique_ptr<queue::QueueReader>> readers;
    if (roles.load) {
      auto opened_readers = OpenReaders(config, spool.get(), "load");
      if (!opened_readers.ok()) return kExitRuntime;
      readers = std::move(opened_readers).value();
    }
    if (redis) {
      dead_letter = std::make_unique<queue::redis::RedisDeadLetter>(config.queue.redis);
    } else {
      dead_letter = std::make_unique<load::FileDeadLetter>(config.data_dir + "/deadletter");
    }
    loader = std::make_unique<load::Loader>(config, *tz, *sink, *dead_letter, std::move(readers));
    if (roles.load) {
      loader_thread = std::jthread([&loader](std::stop_token stop) { loader->Run(stop); });
    } else {
      loader_thread =
          std::jthread([&loader, every = config.tables.check_every](std::stop_token stop) {
            RunTableManager(*loader, every, stop);
          });
    }
  }

  // react and work: queue → rules → tasks → actions.
  std::unique_ptr<tasks::TaskQueue> task_queue;
  const bool reacting = roles.react && !rules->empty();
  if (reacting)
    for (const auto& warning : rules->Warnings()) spdlog::warn("{}", warning);
  const bool working = roles.work && !config.actions.empty();
  if (reacting || working) {
    auto opened = tasks::OpenTaskQueue(config.tasks);
    if (!opened.ok()) {
      spdlog::critical("tasks: {}", opened.status().ToString());
      return opened.status().code() == Status::Code::kInvalidArgument ? kExitConfig : kExitRuntime;
    }
    task_queue = std::move(opened).value();
  }
  std::unique_ptr<react::GuardStore> guards;
  std::unique_ptr<react::Reactor> reactor;
  std::jthread reactor_thread;
  if (reacting) {
    auto readers = OpenReaders(config, spool.get(), "react");
    if (!readers.ok()) return kExitRuntime;
    if (redis) {
      guards = std::make_unique<react::RedisGuardStore>(config.queue.redis);
    } else {
      guards = std::make_unique<react::LocalGuardStore>();
    }
    reactor = std::make_unique<react::Reactor>(config, *tz, *rules, *guards, *task_queue,
                                               std::move(readers).value());
    reactor_thread = std::jthread([&reactor](std::stop_token stop) { reactor->Run(stop); });
  }
  std::unique_ptr<sink::Sink> history_sink;
  std::unique_ptr<sink::HistorySource> history;
  actions::ActionMap action_runners;
  std::unique_ptr<tasks::Worker> worker;
  std::jthread worker_thread;
  if (working) {
    const bool reports =
        std::any_of(config.actions.begin(), config.actions.end(),
                    [](const auto& a) { return a.type == "history_report" && a.configured; });
    if (reports) {
      auto opened = OpenHistory(config, *tz, history_sink);
      if (!opened.ok()) {
        spdlog::critical("history reports: {}", opened.status().ToString());
        return kExitRuntime;
      }
      history = std::move(opened).value();
    }
    auto made = actions::MakeActions(config, *tz, history.get());
    if (!made.ok()) {
      std::cerr << path << ": " << made.status().message() << "\n";
      return kExitConfig;
    }
    action_runners = std::move(made).value();
    worker =
        std::make_unique<tasks::Worker>(config.tasks, config.actions, *task_queue, action_runners);
    worker_thread = std::jthread([&worker](std::stop_token stop) { worker->Run(stop); });
  }

  // collect: HTTP → queue.
  ThreadPool blocking(1);
  std::unique_ptr<queue::redis::SpoolBacklog> backlog;
  std::unique_ptr<queue::redis::Forwarder> forwarder;
  std::unique_ptr<http::Server> server;
  if (roles.collect) {
    const std::shared_ptr<const collect::Collector>& collector = prepared->collector;
    if (redis) {
      backlog = std::make_unique<queue::redis::SpoolBacklog>(config.sites.size());
      // Until the forwarder has looked, assume a spool left by an earlier run: new events
      // queue behind it, in order.
      for (std::size_t i = 0; i < config.sites.size(); ++i) backlog->Set(i, true);
      forwarder = std::make_unique<queue::redis::Forwarder>(config, *spool, *backlog);
      forwarder->Start();
    }
    auto run_blocking = [&blocking](std::function<void()> job) { blocking.Submit(std::move(job)); };
    auto started = http::Server::Start(
        config, collector,
        [&](unsigned index, http::PostFn post) -> Result<std::unique_ptr<queue::QueueWriter>> {
          if (redis) {
            auto w = queue::redis::RedisWriter::Create(config, *spool, index, run_blocking,
                                                       *backlog, std::move(post));
            if (!w.ok()) return w.status();
            return std::unique_ptr<queue::QueueWriter>(std::move(w).value());
          }
          queue::Spool::Executors executors;
          executors.run_blocking = run_blocking;
          executors.post_back = std::move(post);
          return spool->MakeWriter(index, std::move(executors));
        });
    if (!started.ok()) {
      spdlog::critical("{}", started.status().ToString());
      return kExitRuntime;
    }
    server = std::move(started).value();
  }
  std::unique_ptr<http::AdminServer> admin;
  if (config.admin.enabled) {
    const queue::Spool* status_spool = spool.get();
    // /tasks: the task queue's counts and what this process's reactor and worker did.
    auto TasksStatus = [&config, &task_queue, &reactor, &worker]() {
      std::string json = "{\"type\":\"" + config.tasks.type + "\"";
      auto counts = task_queue->Counts();
      if (counts.ok()) {
        json += ",\"queued\":" + std::to_string(counts->queued) +
                ",\"running\":" + std::to_string(counts->running) +
                ",\"dead\":" + std::to_string(counts->dead);
      } else {
        json += ",\"error\":\"counts unavailable\"";
      }
      if (reactor) {
        const auto& r = reactor->stats();
        json += ",\"reactor\":{\"events\":" + std::to_string(r.events.load()) +
                ",\"matched\":" + std::to_string(r.matched.load()) +
                ",\"suppressed\":" + std::to_string(r.suppressed.load()) +
                ",\"tasks\":" + std::to_string(r.tasks.load()) +
                ",\"errors\":" + std::to_string(r.errors.load()) + "}";
      }
      if (worker) {
        const auto& w = worker->stats();
        json += ",\"worker\":{\"started\":" + std::to_string(w.started.load()) +
                ",\"succeeded\":" + std::to_string(w.succeeded.load()) +
                ",\"retried\":" + std::to_string(w.retried.load()) +
                ",\"buried\":" + std::to_string(w.buried.load()) + "}";
      }
      return http::AdminResponse{200, "application/json", json + "}\n"};
    };
    // /metrics: what this process counts and sees. Counters are per process; with several
    // processes (roles, replicas) Prometheus sums them.
    auto Metrics = [&config, &roles, status_spool, &server, &loader, &task_queue, &reactor,
                    &worker]() {
      MetricsWriter out;
      out.Family("oceanus_up", "gauge", "1 while the process runs; role says which.");
      out.Sample("oceanus_up", {{"role", roles.name}}, 1);
      if (server) server->WriteMetrics(out);
      if (loader) loader->WriteMetrics(out);
      queue::WriteQueueMetrics(config, queue::TakeQueueSnapshot(config, status_spool), out);
      if (task_queue) {
        auto counts = task_queue->Counts();
        if (counts.ok()) {
          out.Family("oceanus_tasks", "gauge", "Tasks in the task queue, by state.");
          out.Sample("oceanus_tasks", {{"state", "queued"}}, static_cast<double>(counts->queued));
          out.Sample("oceanus_tasks", {{"state", "running"}}, static_cast<double>(counts->running));
          out.Sample("oceanus_tasks", {{"state", "dead"}}, static_cast<double>(counts->dead));
        }
      }
      if (reactor) reactor->WriteMetrics(out);
      if (worker) worker->WriteMetrics(out);
      return http::AdminResponse{200, "text/plain; version=0.0.4; charset=utf-8", out.text()};
    };
    // The visitor timeline reads the warehouse through a connection of its own, opened on
    // first use (the admin thread is the only user).
    struct Warehouse {
      std::unique_ptr<sink::Sink> sink;
      std::unique_ptr<sink::HistorySource> history;
      bool tried = false;
    };
    auto warehouse = std::make_shared<Warehouse>();
    auto Visitor = [&config, &tz, warehouse](const std::string& query) {
      if (!warehouse->tried) {
        warehouse->tried = true;
        auto opened = OpenHistory(config, *tz, warehouse->sink);
        if (opened.ok()) {
          warehouse->history = std::move(opened).value();
        } else {
          spdlog::warn("admin: visitor timeline unavailable: {}", opened.status().ToString());
        }
      }
      return http::VisitorAnswer(config, warehouse->history.get(), query);
    };
    auto started = http::AdminServer::Start(config.admin, [&config, status_spool, &task_queue,
                                                           &server, TasksStatus, Metrics,
                                                           Visitor](const std::string& path,
                                                                    const std::string& query) {
      if (path == "/rstatus")
        return http::AdminResponse{200, "application/json",
                                   queue::QueueStatusJson(config, status_spool)};
      if (path == "/hc") return http::AdminResponse{200, "text/plain", "ok\n"};
      if (path == "/metrics") return Metrics();
      if (path == "/tasks" && task_queue) return TasksStatus();
      if (path == "/admin" || path == "/admin/")
        return http::AdminResponse{200, "text/html; charset=utf-8", std::string(http::AdminPage())};
      if (path == "/api/tail") return http::TailAnswer(config, server.get(), query);
      if (path == "/api/visitor") return Visitor(query);
      return http::AdminResponse{404, "text/plain",
                                 "not found (try /admin, /metrics, /rstatus or /tasks)\n"};
    });
    if (started.ok()) {
      admin = std::move(started).value();
    } else {
      // Several roles on one host share the default port: the first one serves it.
      spdlog::warn("{}; this process serves no admin endpoints", started.status().message());
    }
  }
  spdlog::info("oceanus {} running: {} site(s), queue {}, data in {}", roles.name,
               config.sites.size(), config.queue.type, config.data_dir);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  if (signal_number == SIGHUP) {
    spdlog::info("SIGHUP: stopping (reload is not supported; restart to apply a new config)");
  } else {
    spdlog::info("received {}, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  }
  admin.reset();  // its handlers read the stages below, which go away from here on
  if (server) {
    const auto& s = config.server;
    server->Shutdown(s.gaze_open_delay + s.gaze_see_delay + s.gaze_read_delay +
                     std::chrono::seconds(5));
  }
  blocking.Join();  // pending fsyncs complete before the writers go away
  server.reset();   // writers: queued events are sent (or spooled) before this returns
  if (forwarder) forwarder->Stop();
  if (loader_thread.joinable()) {
    loader_thread.request_stop();
    loader_thread.join();
  }
  if (reactor_thread.joinable()) {
    reactor_thread.request_stop();
    reactor_thread.join();
  }
  if (worker_thread.joinable()) {
    worker_thread.request_stop();
    worker_thread.join();
  }
  spdlog::info("bye");
  return 0;
}

// Draws "site [#####.....] 50%  1000/2000  812/s" on one line of a terminal, at most every
// 100 ms. Only on a terminal: in a log, a file or a pipe the summary line is enough.
class ProgressBar {
 public:
  ProgressBar() : start_(std::chrono::steady_clock::now()) {}

  void Update(const load::ReplayProgress& p) {
    if (p.site != site_) Finish();
    site_ = p.site;
    last_ = p;
    const auto now = std::chrono::steady_clock::now();
    const bool complete = p.total > 0 && p.done == p.total;
    if (!complete && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    std::cerr << "\r" << Line(now) << std::flush;
  }

  void Finish() {
    if (site_.empty()) return;
    std::cerr << "\r" << Line(std::chrono::steady_clock::now()) << "\n";
    site_.clear();
  }

 private:
  std::string Line(std::chrono::steady_clock::time_point now) const {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const auto rate = static_cast<long long>(seconds > 0 ? last_.done / seconds : 0);
    std::string line = last_.site + " ";
    if (last_.total > 0) {
      const std::size_t width = 30;
      const std::size_t filled = static_cast<std::size_t>(last_.done * width / last_.total);
      line += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
              std::to_string(last_.done * 100 / last_.total) + "%  ";
    }
    line += std::to_string(last_.done) +
            (last_.total > 0 ? "/" + std::to_string(last_.total) : "") + " records  " +
            std::to_string(rate) + "/s";
    return line;
  }

  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point drawn_{};
  std::string site_;
  load::ReplayProgress last_;
};

int ReplayCommand(const std::string& path, const Overrides& overrides,
                  const load::ReplayOptions& options) {
  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  std::optional<ProgressBar> bar;
  if (::isatty(STDERR_FILENO) == 1) bar.emplace();
  auto result = load::Replay(*c, options, [&bar](const load::ReplayProgress& p) {
    if (bar) bar->Update(p);
  });
  if (bar) bar->Finish();
  if (!result.ok()) {
    std::cerr << "replay: " << result.status().message() << "\n";
    return result.status().code() == Status::Code::kInvalidArgument ? kExitConfig : kExitRuntime;
  }
  std::cerr << load::Describe(options, *result) << "\n";
  return 0;
}

}  // namespace
}  // namespace oceanus

int main(int argc, char** argv) {
  CLI::App app{"oceanus: collect events over HTTP, queue them durably, load them into a warehouse"};
  app.require_subcommand(1);
  // Given before or after the command name (fallthrough): `oceanus run --log-format json`.
  app.fallthrough();
  std::string log_format_name = "text";
  app.add_option("--log-format", log_format_name,
                 "text (default) or json: one JSON object per line, for log collectors")
      ->check(CLI::IsMember({"text", "json"}));
  std::string config_path;
  oceanus::Overrides overrides;

  struct Command {
    const char* name;
    const char* help;
    oceanus::Roles roles;
    CLI::App* app = nullptr;
  };
  Command commands[] = {
      {"run",
       "every role in one process: collector, table manager, loader, rules, task worker",
       {true, true, true, true, true, "run"}},
      {"collect",
       "the HTTP collector only (queue type redis)",
       {true, false, false, false, false, "collect"}},
      {"load",
       "the loader only: queue → warehouse (queue type redis)",
       {false, true, false, false, false, "load"}},
      {"tables",
       "the table manager only: keep today's and tomorrow's tables ready",
       {false, false, true, false, false, "tables"}},
      {"react",
       "the rules only: queue → rules → task queue (queue type redis)",
       {false, false, false, true, false, "react"}},
      {"work",
       "the task worker only: task queue → actions",
       {false, false, false, false, true, "work"}},
  };
  for (auto& c : commands) {
    c.app = app.add_subcommand(c.name, c.help);
    c.app->add_option("--config,-c", config_path, "the YAML config file")->required();
    c.app->add_option("--data-dir", overrides.data_dir,
                      "where the spool and SQLite file live (overrides data_dir)");
    c.app->add_option("--admin-listen", overrides.admin_listen,
                      "HOST:PORT of the admin listener, or off (overrides admin.listen)");
    if (c.roles.collect)
      c.app->add_option("--listen", overrides.listen,
                        "HOST:PORT to listen on (overrides server.listen)");
  }
  auto* check = app.add_subcommand("check", "validate the config and print what it resolves to");
  check->add_option("--config,-c", config_path, "the YAML config file")->required();
  std::size_t dead_limit = 100;
  auto* dead = app.add_subcommand("dead-tasks", "print the tasks that used up their attempts");
  dead->add_option("--config,-c", config_path, "the YAML config file")->required();
  dead->add_option("--limit", dead_limit, "at most this many (default 100)");
  dead->add_option("--data-dir", overrides.data_dir, "where tasks.db lives (overrides data_dir)");

  oceanus::load::ReplayOptions replay_options;
  auto* replay = app.add_subcommand(
      "replay",
      "send the dead-letter (or a collector's spool, --spool) back into the queue; records keep "
      "their eid, so none is stored twice");
  replay->add_option("--config,-c", config_path, "the YAML config file")->required();
  replay->add_option("--data-dir", overrides.data_dir,
                     "where the dead-letter and spool live (overrides data_dir)");
  replay->add_option("--site", replay_options.site, "only this site");
  replay->add_option("--spool", replay_options.spool_dir,
                     "forward this spool directory's records into Redis instead");
  replay->add_flag("--corrupt", replay_options.corrupt,
                   "send the valid records of the spool's .corrupt files (those of --spool DIR "
                   "if given) instead");
  replay->add_flag("--dry-run", replay_options.dry_run, "count what would be replayed");

  CLI11_PARSE(app, argc, argv);
  auto log_format = oceanus::ParseLogFormat(log_format_name);
  if (!log_format.ok()) {
    std::cerr << "--log-format: " << log_format.status().message() << "\n";
    return 2;
  }
  oceanus::SetLogFormat(*log_format);
  for (const auto& c : commands)
    if (c.app->parsed()) return oceanus::Run(config_path, overrides, c.roles);
  if (check->parsed()) return oceanus::Check(config_path);
  if (dead->parsed()) return oceanus::DeadTasks(config_path, overrides, dead_limit);
  if (replay->parsed()) return oceanus::ReplayCommand(config_path, overrides, replay_options);
  return 1;
}
