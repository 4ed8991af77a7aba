// `oceanus erase` (and the admin API's erase call): one person's data out of every place
// oceanus keeps it, on request (GDPR art. 17, APPI art. 35; docs/PRIVACY.md).
//
// For each site whose schema has the field (or the one site named):
//   1. the value goes on the suppression list (event/suppression.h), so that from then on
//      the collector stores no new event with it and the loader writes no queued one (the
//      queue's unread entries are dropped as the loader reaches them);
//   2. after `settle` (running processes re-read the list every second), its rows are deleted
//      from every table of the site in the warehouse (Sink::EraseRows);
//   3. its records are removed from the dead-letter (DeadLetter::Erase);
//   4. one line goes to <data_dir>/erasures.jsonl: when, the field, the sites, the rows per
//      table and the records per dead-letter — never the value.
// A dry run counts what would go and changes nothing (its audit line says dry_run).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "event/suppression.h"
#include "queue/dead_letter.h"
#include "queue/queue_config.h"
#include "queue/rejected.h"
#include "sink/sink.h"
#include "util/status.h"

namespace oceanus::load {

struct ErasureRequest {
  std::string field;  // a field of the site schema, e.g. uid or sid
  std::string value;
  std::string site;  // empty: every site whose schema has the field
  bool dry_run = false;
};

struct ErasureReport {
  struct Table {
    std::string site;
    std::string table;
    long long rows = 0;
  };
  std::vector<std::string> sites;
  std::vector<Table> tables;                            // every table of those sites
  std::vector<std::pair<std::string, long long>> dead;  // records per site's dead-letter
  long long rejected = 0;   // entries of the rejected-events store that showed the value
  bool suppressed = false;  // on the suppression list now
  std::string error;        // where it stopped, when it did
  long long Rows() const;
  long long DeadRecords() const;
};

// The sites `request` names; an InvalidArgument naming what is wrong (an unknown site, a
// field no site has, an empty value).
Result<std::vector<std::string>> SitesToErase(const config::Config& config,
                                              const ErasureRequest& request);

// Runs the steps above with the configured warehouse (its tables named with `table_prefix`),
// suppression list and dead-letter, and appends the audit line (also when a step failed: the line
// then says where, and the error is returned).
Result<ErasureReport> Erase(const config::Config& config, const std::string& table_prefix,
                            sink::Sink& sink, event::SuppressionList::Store& suppressed,
                            queue::DeadLetter& dead_letter, const ErasureRequest& request,
                            std::chrono::milliseconds settle = std::chrono::seconds(2),
                            queue::RejectedStore* rejected = nullptr);

// Whether a rejected-events entry's text shows `value` as a value: after '=' (a request's
// parameter, as sent or percent-encoded) or as a JSON string, each ending where such a value
// ends. Errs on the side of erasing: the field's name is not checked.
bool TextShowsValue(std::string_view text, const std::string& value);

// The dead-letter of the queue `queue` describes (data_dir from `shared`).
std::unique_ptr<queue::DeadLetter> OpenDeadLetter(const config::Config& shared,
                                                  const queue::QueueConfig& queue);

// The rejected-events store of the queue `queue` describes, for a command that opens no queue.
std::unique_ptr<queue::RejectedStore> OpenRejectedStore(const config::Config& shared,
                                                        const queue::QueueConfig& queue);

// "erased 3 row(s) in 2 table(s) and 1 dead-letter record(s) of uid on site s; …".
std::string Describe(const ErasureRequest& request, const ErasureReport& report);
// The audit line (JSON, no newline).
std::string AuditLine(const ErasureRequest& request, const ErasureReport& report,
                      std::chrono::system_clock::time_point at);

}  // namespace oceanus::load
