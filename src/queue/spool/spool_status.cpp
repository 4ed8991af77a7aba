// Spool figures for /rstatus and /metrics (queue/spool/spool_status.h).
#include "queue/spool/spool_status.h"

#include <string>

namespace oceanus::queue {

std::vector<SpoolSiteSnapshot> TakeSpoolSnapshot(const config::Config& shared, const Spool& spool) {
  std::vector<SpoolSiteSnapshot> sites(shared.sites.size());
  for (std::size_t i = 0; i < sites.size(); ++i) {
    sites[i].stats = spool.Stats(i);
    sites[i].unconsumed_bytes = spool.UnconsumedBytes(i);
  }
  return sites;
}

void WriteSpoolMembers(const SpoolSiteSnapshot& site, JsonMembers& out) {
  out.Key("spool_bytes") += std::to_string(site.stats.bytes_on_disk);
  out.Key("spool_segments") += std::to_string(site.stats.segments);
  out.Key("spool_unconsumed_bytes") += std::to_string(site.unconsumed_bytes);
}

void WriteSpoolMetrics(const config::Config& shared, const std::vector<SpoolSiteSnapshot>& sites,
                       MetricsWriter& out) {
  if (sites.empty()) return;
  out.Family("oceanus_spool_bytes", "gauge",
             "Bytes of the site's local spool files on disk, consumed or not (the active "
             "segments stay until they are sealed).");
  out.Family("oceanus_spool_segments", "gauge", "Segment files of the site's local spool.");
  out.Family("oceanus_spool_unconsumed_bytes", "gauge",
             "Record bytes of the site's local spool not yet acknowledged by the slowest "
             "consumer (queue type spool: the queue's backlog; redis: events waiting for Redis).");
  for (std::size_t i = 0; i < sites.size(); ++i) {
    const std::string& name = shared.sites[i].name;
    out.Sample("oceanus_spool_bytes", {{"site", name}},
               static_cast<double>(sites[i].stats.bytes_on_disk));
    out.Sample("oceanus_spool_segments", {{"site", name}},
               static_cast<double>(sites[i].stats.segments));
    out.Sample("oceanus_spool_unconsumed_bytes", {{"site", name}},
               static_cast<double>(sites[i].unconsumed_bytes));
  }
}

}  // namespace oceanus::queue
