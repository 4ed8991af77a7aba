// oceanus: the command line. One binary, one subcommand per role.
//
//   oceanus run   --config FILE [--listen HOST:PORT] [--data-dir DIR]
//       collector + table manager + loader in one process (the embedded default)
//   oceanus check --config FILE
//       validate the config and print the resolved sites, fields and tables
//
// `run` wires the stages in the order the data flows: the loader (queue → sink) starts
// first, then the collector (HTTP → queue). On SIGTERM/SIGINT it stops in the opposite
// order: stop accepting and answer what is in flight, finish pending fsyncs, then let the
// loader write what is queued, and exit 0.
#include <signal.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "collect/collector.h"
#include "config/config.h"
#include "event/device.h"
#include "http/server.h"
#include "load/dead_letter.h"
#include "load/loader.h"
#include "queue/spool/spool.h"
#include "sink/sqlite/sqlite_sink.h"
#include "tables/table_names.h"
#include "util/thread_pool.h"
#include "util/time.h"

namespace oceanus {
namespace {

constexpr int kExitConfig = 2;
constexpr int kExitRuntime = 1;

struct Overrides {
  std::string listen;
  std::string data_dir;
};

const char* UapRegexesPath() {
  const char* env = std::getenv("OCEANUS_UAP_REGEXES");
  return env != nullptr && *env != '\0' ? env : OCEANUS_UAP_REGEXES;
}

Result<config::Config> LoadWithOverrides(const std::string& path, const Overrides& o) {
  auto c = config::LoadConfig(path);
  if (!c.ok()) return c;
  if (!o.data_dir.empty()) {
    if (c->sink.path == c->data_dir + "/oceanus.db") c->sink.path = o.data_dir + "/oceanus.db";
    c->data_dir = o.data_dir;
  }
  if (!o.listen.empty()) {
    const auto colon = o.listen.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("--listen must be HOST:PORT");
    try {
      const int port = std::stoi(o.listen.substr(colon + 1));
      if (port < 0 || port > 65535) throw std::out_of_range("port");
      c->server.listen_port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
      return Status::InvalidArgument("--listen: bad port in '" + o.listen + "'");
    }
    std::string host = o.listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (!host.empty()) c->server.listen_host = host;
  }
  return c;
}

int Check(const std::string& path) {
  auto c = config::LoadConfig(path);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  auto tz = TimeZone::Load(c->time_zone);
  if (!tz.ok()) {
    std::cerr << path << ": time_zone: " << tz.status().message() << "\n";
    return kExitConfig;
  }
  for (const auto& site : c->sites) {
    auto builder = event::EventBuilder::Compile(site);
    if (!builder.ok()) {
      std::cerr << path << ": " << builder.status().message() << "\n";
      return kExitConfig;
    }
  }
  const auto now = std::chrono::system_clock::now();
  std::cout << "config: " << path << " (ok)\n"
            << "data_dir: " << c->data_dir << "\n"
            << "time_zone: " << tz->name() << "\n"
            << "listen: " << c->server.listen_host << ":" << c->server.listen_port << "\n"
            << "queue: " << c->queue.type << " (durability "
            << (c->queue.durability == config::Durability::kOs ? "os" : "fsync") << ")\n"
            << "sink: " << c->sink.type << " " << c->sink.path << "\n"
            << "load: batches of " << c->load.batch_rows << " rows / " << c->load.batch_bytes
            << " bytes / " << c->load.max_wait.count() << " ms\n";
  for (const auto& site : c->sites) {
    std::cout << "\nsite " << site.name << "\n  endpoint: /" << config::ToString(site.endpoint)
              << "/" << site.name;
    if (site.name == c->default_site) std::cout << " (and bare /swallow)";
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
      if (f.json) std::cout << ", json";
      if (f.ip) std::cout << ", ip";
      if (f.default_value) std::cout << ", default '" << *f.default_value << "'";
      std::cout << "\n";
    }
  }
  return 0;
}

int Run(const std::string& path, const Overrides& overrides) {
  // Signals are taken by sigwait below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  const config::Config& config = *c;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  auto tz = TimeZone::Load(config.time_zone);
  if (!tz.ok()) {
    std::cerr << path << ": time_zone: " << tz.status().message() << "\n";
    return kExitConfig;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data dir {}: {}", config.data_dir, ec.message());
    return kExitRuntime;
  }
  auto classifier = event::DeviceClassifier::Load(UapRegexesPath());
  if (!classifier.ok()) {
    spdlog::critical("device classifier: {}", classifier.status().ToString());
    return kExitRuntime;
  }
  auto collector = collect::Collector::Create(config, *classifier);
  if (!collector.ok()) {
    std::cerr << path << ": " << collector.status().message() << "\n";
    return kExitConfig;
  }

  std::vector<std::string> site_names;
  for (const auto& s : config.sites) site_names.push_back(s.name);
  auto spool = queue::Spool::Open(config.data_dir + "/spool", site_names, {"load"}, config.queue);
  if (!spool.ok()) {
    spdlog::critical("spool: {}", spool.status().ToString());
    return kExitRuntime;
  }
  auto sink = sink::SqliteSink::Open(config.sink.path);
  if (!sink.ok()) {
    spdlog::critical("sink: {}", sink.status().ToString());
    return kExitRuntime;
  }
  std::vector<std::unique_ptr<queue::QueueReader>> readers;
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    auto reader = (*spool)->OpenReader(i, "load");
    if (!reader.ok()) {
      spdlog::critical("spool reader for {}: {}", config.sites[i].name, reader.status().ToString());
      return kExitRuntime;
    }
    readers.push_back(std::move(reader).value());
  }
  load::DeadLetter dead_letter(config.data_dir + "/deadletter");
  load::Loader loader(config, *tz, **sink, dead_letter, std::move(readers));
  std::jthread loader_thread([&loader](std::stop_token stop) { loader.Run(stop); });

  ThreadPool blocking(1);
  auto server = http::Server::Start(
      config, *collector,
      [&](unsigned index, http::PostFn post) -> Result<std::unique_ptr<queue::QueueWriter>> {
        queue::Spool::Executors executors;
        executors.run_blocking = [&blocking](std::function<void()> job) {
          blocking.Submit(std::move(job));
        };
        executors.post_back = std::move(post);
        return (*spool)->MakeWriter(index, std::move(executors));
      });
  if (!server.ok()) {
    spdlog::critical("{}", server.status().ToString());
    loader_thread.request_stop();
    return kExitRuntime;
  }
  spdlog::info("oceanus running: {} site(s), data in {}, warehouse {}", config.sites.size(),
               config.data_dir, config.sink.path);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received {}, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  const auto& s = config.server;
  (*server)->Shutdown(s.gaze_open_delay + s.gaze_see_delay + s.gaze_read_delay +
                      std::chrono::seconds(5));
  blocking.Join();  // pending fsyncs complete before the writers go away
  server->reset();
  loader_thread.request_stop();
  loader_thread.join();
  spdlog::info("bye");
  return 0;
}

}  // namespace
}  // namespace oceanus

int main(int argc, char** argv) {
  CLI::App app{"oceanus: collect events over HTTP, queue them durably, load them into a warehouse"};
  app.require_subcommand(1);
  std::string config_path;
  oceanus::Overrides overrides;

  auto* run = app.add_subcommand("run", "collector, table manager and loader in one process");
  run->add_option("--config,-c", config_path, "the YAML config file")->required();
  run->add_option("--listen", overrides.listen, "HOST:PORT to listen on (overrides server.listen)");
  run->add_option("--data-dir", overrides.data_dir,
                  "where the spool and SQLite file live (overrides data_dir)");

  auto* check = app.add_subcommand("check", "validate the config and print what it resolves to");
  check->add_option("--config,-c", config_path, "the YAML config file")->required();

  CLI11_PARSE(app, argc, argv);
  if (run->parsed()) return oceanus::Run(config_path, overrides);
  if (check->parsed()) return oceanus::Check(config_path);
  return 1;
}
