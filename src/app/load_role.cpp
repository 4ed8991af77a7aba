// The load and tables roles: queue → sink, and the table upkeep on its own.
#include "util/log.h"

#include <condition_variable>
#include <mutex>

#include "app/process.h"
#include "util/cpu.h"

namespace oceanus::app {
namespace {

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

}  // namespace

int StartLoad(Process& p) {
  if (!p.roles.load && !p.roles.tables) return 0;
  const Config& config = p.config;
  // The tables role writes nothing: one sink for its upkeep.
  const std::size_t writers = p.roles.load ? config.load.writers : 1;
  std::vector<sink::Sink*> sinks;
  for (std::size_t i = 0; i < writers; ++i) {
    auto opened = OpenSink(config);
    if (!opened.ok()) {
      spdlog::critical("sink: {}", opened.status().ToString());
      return opened.status().code() == Status::Code::kInvalidArgument ? kExitConfig : kExitRuntime;
    }
    p.sinks.push_back(std::move(opened).value());
    sinks.push_back(p.sinks.back().get());
  }
  std::shared_ptr<queue::Ledger> ledger;
  if (const std::string name = sinks.front()->LedgerName(); p.roles.load && !name.empty()) {
    auto opened = p.queue->OpenLedger(name);
    if (!opened.ok()) {
      spdlog::critical("ledger {}: {}", name, opened.status().ToString());
      return kExitRuntime;
    }
    ledger = std::move(opened).value();
    for (sink::Sink* s : sinks) s->UseLedger(ledger);
  }
  std::vector<std::unique_ptr<queue::QueueReader>> readers;
  if (p.roles.load) {
    auto opened_readers =
        p.queue->OpenReaders("load", {.read_ahead = true});  // Loader::Drain reads all
    if (!opened_readers.ok()) return kExitRuntime;
    readers = std::move(opened_readers).value();
  }
  p.dead_letter = p.queue->MakeDeadLetter();
  p.loader = std::make_unique<load::Loader>(config, config.load, config.tables,
                                            config.sink.table_prefix, p.prepared.tz,
                                            std::move(sinks), *p.dead_letter, std::move(readers));
  if (ledger) p.loader->ForgetAcknowledgedIn(ledger);
  p.loader->Suppress(p.prepared.suppressed);
  p.loader->KeepRejected(&p.rejected->NewLane(), config.rejected.max_payload_bytes);
  load::Loader* loader = p.loader.get();
  if (p.roles.load) {
    p.loader_thread =
        std::jthread([loader, priority = config.server.background_priority](std::stop_token stop) {
          SetBackgroundPriority(priority);  // its reading thread inherits it
          loader->Run(stop);
        });
  } else {
    p.loader_thread =
        std::jthread([loader, every = config.tables.check_every](std::stop_token stop) {
          RunTableManager(*loader, every, stop);
        });
  }
  return 0;
}

}  // namespace oceanus::app
