// One site as the collector serves it: compiled once at start from its config::Site and
// shared, read-only, by every I/O thread. The collector owns them; each HTTP source
// (collect/source.h) points at the sites it serves, and the metrics name them.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "config/registry.h"
#include "event/event_builder.h"
#include "queue/queue.h"

namespace oceanus::collect {

struct Site {
  queue::SiteId id = 0;  // index in config.sites: the queue's site and the metrics' site
  std::string name;
  event::EventBuilder builder;
  std::optional<std::size_t> eid_field;  // sent back as X-Oceanus-Eid
  // The source's own keys of the site (config::Site::source), parsed; null when it has none.
  std::shared_ptr<const config::ComponentSettings> settings;
};

}  // namespace oceanus::collect
