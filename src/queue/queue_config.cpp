// Parses the queue section (queue/queue_config.h): the common keys here, the type's own
// through its factory in the queue registry.
#include "queue/queue_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <ostream>

#include "config/reader.h"
#include "queue/queue_registry.h"

namespace oceanus::queue {
namespace {

using config::Choose;
using config::ValidName;

// The common keys, then every registered type's own.
std::vector<std::string> SectionKeys() {
  std::vector<std::string> keys = {"type", "durability", "segment_bytes", "groups"};
  for (const auto& [name, factory] : QueueRegistry::Get().all())
    for (auto& key : factory->Keys()) keys.push_back(std::move(key));
  return keys;
}

const QueueFactory& FindFactory(const config::Reader& r, const YAML::Node& q,
                                const std::string& type) {
  const QueueFactory* factory = QueueRegistry::Get().Find(type);
  if (factory == nullptr)
    r.Fail(q["type"], "unknown queue type '" + type +
                          "' (expected one of: " + QueueRegistry::Get().Types() + ")");
  return *factory;
}

// A type other than the chosen one whose keys are present: parsed for its errors only.
void CheckOtherTypes(const config::Reader& r, const YAML::Node& q, const std::string& type) {
  for (const auto& [name, factory] : QueueRegistry::Get().all()) {
    if (name == type) continue;
    const auto keys = factory->Keys();
    if (std::any_of(keys.begin(), keys.end(), [&q](const std::string& k) { return q[k]; }))
      factory->Parse(r, q);
  }
}

}  // namespace

const char* ToString(Durability durability) {
  return durability == Durability::kOs ? "os" : "fsync";
}

QueueConfig ParseQueueConfig(const config::Reader& r, const YAML::Node& q) {
  QueueConfig queue;
  if (!q) {
    queue.settings = FindFactory(r, q, queue.type).Parse(r, q);
    return queue;
  }
  r.ExpectKeys(q, "queue", SectionKeys());
  if (q["type"]) queue.type = r.Str(q["type"]);
  const QueueFactory& factory = FindFactory(r, q, queue.type);
  if (q["groups"]) {
    queue.groups = r.StrList(q["groups"]);
    for (const auto& g : queue.groups)
      if (!ValidName(g, false))
        r.Fail(q["groups"], "group name '" + g + "' must match [a-z_][a-z0-9_]*");
    if (std::find(queue.groups.begin(), queue.groups.end(), "load") == queue.groups.end())
      r.Fail(q["groups"], "groups must include 'load'");
  }
  queue.settings = factory.Parse(r, q);
  CheckOtherTypes(r, q, queue.type);
  if (q["durability"])
    queue.durability = Choose<Durability>(r, q["durability"], "durability",
                                          {{"os", Durability::kOs}, {"fsync", Durability::kFsync}});
  if (q["segment_bytes"])
    queue.segment_bytes = r.Bytes(q["segment_bytes"], 4096, 1ull << 30, "segment_bytes");
  return queue;
}

void DescribeQueueConfig(const QueueConfig& queue, std::ostream& out) {
  out << "queue: " << queue.type << " (durability " << ToString(queue.durability) << ")\n";
  if (queue.settings) queue.settings->DescribeHeadline(out);
  out << "  segment_bytes: " << queue.segment_bytes << "\n";
  if (queue.settings) queue.settings->Describe(out);
  out << "groups:";
  for (const auto& g : queue.groups) out << " " << g;
  out << "\n";
}

}  // namespace oceanus::queue
