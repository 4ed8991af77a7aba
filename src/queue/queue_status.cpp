// The /rstatus skeleton (queue/queue_status.h).
#include "queue/queue_status.h"

#include "util/json.h"

namespace oceanus::queue {

std::string& JsonMembers::Key(std::string_view key) {
  if (!first_) out_ += ",";
  first_ = false;
  out_ += "\"";
  out_ += key;
  out_ += "\":";
  return out_;
}

std::string QueueStatusJson(const config::Config& shared, std::string_view type,
                            const std::function<void(std::string&)>& head,
                            const std::function<void(SiteId, JsonMembers&)>& site) {
  std::string out = "{\"queue\":";
  AppendJsonString(out, type);
  if (head) head(out);
  out += ",\"sites\":{";
  for (std::size_t i = 0; i < shared.sites.size(); ++i) {
    if (i > 0) out += ",";
    AppendJsonString(out, shared.sites[i].name);
    out += ":{";
    JsonMembers members(out);
    site(i, members);
    out += "}";
  }
  out += "}}\n";
  return out;
}

}  // namespace oceanus::queue
