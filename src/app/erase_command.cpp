// `oceanus erase`: load/erasure.h with the configured warehouse and dead-letter, from the
// command line.
#include <iostream>

#include "app/commands.h"
#include "app/prepare.h"
#include "sink/sink_registry.h"

namespace oceanus::app {

int EraseCommand(const std::string& path, const Overrides& overrides,
                 const load::ErasureRequest& request) {
  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  if (auto sites = load::SitesToErase(*c, request); !sites.ok()) {
    std::cerr << sites.status().message() << "\n";
    return kExitConfig;
  }
  if (Status s = c->sink.settings->Prepare(); !s.ok()) {
    std::cerr << c->file << ": " << s.message() << "\n";
    return kExitConfig;
  }
  auto sink = OpenSink(*c);
  if (!sink.ok()) {
    std::cerr << "erase: " << sink.status().message() << "\n";
    return kExitRuntime;
  }
  auto dead_letter = load::OpenDeadLetter(*c, c->queue);
  auto suppressed = SuppressionStoreFor(*c);
  auto rejected = load::OpenRejectedStore(*c, c->queue);
  auto report = load::Erase(*c, c->sink.table_prefix, **sink, *suppressed, *dead_letter, request,
                            std::chrono::seconds(2), rejected.get());
  if (!report.ok()) {
    std::cerr << "erase: " << report.status().message()
              << "\n(the audit line in the data dir says what was done; run the same command "
                 "again to finish)\n";
    return kExitRuntime;
  }
  std::cout << load::Describe(request, *report) << "\n";
  return 0;
}

}  // namespace oceanus::app
