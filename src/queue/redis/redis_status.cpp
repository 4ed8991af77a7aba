// Redis queue snapshot: XLEN / XINFO GROUPS / XPENDING per site (queue/redis/redis_status.h).
#include "queue/redis/redis_status.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "queue/redis/redis_queue.h"
#include "redis/redis_connection.h"
#include "util/json.h"

namespace oceanus::queue::redis {
namespace {

long long IntegerOr(const Result<Reply>& r, long long fallback) {
  return r.ok() && r->get()->type == REDIS_REPLY_INTEGER ? r->get()->integer : fallback;
}

// Stream entry ids start with their millisecond time: "1732500000123-0".
double AgeSeconds(std::string_view id) {
  const long long ms = std::strtoll(std::string(id.substr(0, id.find('-'))).c_str(), nullptr, 10);
  if (ms <= 0) return 0;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return now > ms ? static_cast<double>(now - ms) / 1000.0 : 0.0;
}

// The oldest entry `group` has not acknowledged: the first pending one, else the first one
// after its last-delivered id.
double OldestUnacked(RedisConnection& conn, const std::string& key, const std::string& group,
                     const std::string& last_delivered) {
  auto pending = conn.Command({"XPENDING", key, group});
  if (pending.ok() && pending->get()->type == REDIS_REPLY_ARRAY && pending->get()->elements >= 2 &&
      pending->get()->element[1]->type == REDIS_REPLY_STRING) {
    return AgeSeconds(ReplyString(pending->get()->element[1]));
  }
  auto next = conn.Command({"XRANGE", key, "(" + last_delivered, "+", "COUNT", "1"});
  if (next.ok() && next->get()->type == REDIS_REPLY_ARRAY && next->get()->elements == 1) {
    const redisReply* entry = next->get()->element[0];
    if (entry->type == REDIS_REPLY_ARRAY && entry->elements >= 1)
      return AgeSeconds(ReplyString(entry->element[0]));
  }
  return 0;
}

// One group of an XINFO GROUPS reply.
GroupSnapshot ReadGroup(RedisConnection& conn, const std::string& key, const redisReply* f) {
  GroupSnapshot group;
  std::string last_delivered = "0-0";
  for (std::size_t k = 0; k + 1 < f->elements; k += 2) {
    const auto label = ReplyString(f->element[k]);
    const redisReply* value = f->element[k + 1];
    if (label == "name") group.name = ReplyString(value);
    if (label == "pending") group.pending = value->integer;
    if (label == "lag" && value->type == REDIS_REPLY_INTEGER) group.lag = value->integer;
    if (label == "last-delivered-id") last_delivered = ReplyString(value);
  }
  group.oldest_unacked_seconds = OldestUnacked(conn, key, group.name, last_delivered);
  return group;
}

SiteSnapshot ReadSite(RedisConnection& conn, const QueueConfig& queue, const RedisConfig& redis,
                      const std::string& name) {
  SiteSnapshot site;
  const std::string key = StreamKey(redis, name);
  site.stream_length = IntegerOr(conn.Command({"XLEN", key}), -1);
  site.dead_letter_length = IntegerOr(conn.Command({"XLEN", DeadLetterKey(redis, name)}), -1);
  auto info = conn.Command({"XINFO", "GROUPS", key});
  if (info.ok() && info->get()->type == REDIS_REPLY_ARRAY)
    for (std::size_t g = 0; g < info->get()->elements; ++g)
      site.groups.push_back(ReadGroup(conn, key, info->get()->element[g]));
  // A configured group whose first reader has not started yet will read the stream from
  // its start: every entry is in flight for it.
  for (const auto& group_name : queue.groups) {
    const bool found = std::any_of(site.groups.begin(), site.groups.end(),
                                   [&](const GroupSnapshot& g) { return g.name == group_name; });
    if (found || site.stream_length < 0) continue;
    GroupSnapshot group;
    group.name = group_name;
    group.lag = site.stream_length;
    group.oldest_unacked_seconds = OldestUnacked(conn, key, "", "0-0");
    site.groups.push_back(std::move(group));
  }
  return site;
}

}  // namespace

RedisSnapshot TakeRedisSnapshot(const config::Config& shared, const QueueConfig& queue,
                                const RedisConfig& redis) {
  RedisSnapshot snap;
  snap.sites.resize(shared.sites.size());
  oceanus::redis::ConnectOptions quick = redis;
  quick.connect_timeout = std::min(quick.connect_timeout, std::chrono::milliseconds(500));
  snap.address = quick.host + ":" + std::to_string(quick.port);
  auto conn = RedisConnection::Connect(quick);
  snap.reachable = conn.ok();
  if (!conn.ok()) {
    snap.error = conn.status().message();
    return snap;
  }
  for (std::size_t i = 0; i < shared.sites.size(); ++i)
    snap.sites[i] = ReadSite(**conn, queue, redis, shared.sites[i].name);
  return snap;
}

void AppendRedisHead(const RedisSnapshot& snap, std::string& out) {
  out += ",\"redis\":{\"address\":";
  AppendJsonString(out, snap.address);
  out += ",\"reachable\":";
  out += snap.reachable ? "true" : "false";
  if (!snap.reachable) {
    out += ",\"error\":";
    AppendJsonString(out, snap.error);
  }
  out += "}";
}

void WriteRedisMembers(const RedisSnapshot& snap, SiteId i, JsonMembers& out) {
  if (!snap.reachable) return;
  const SiteSnapshot& site = snap.sites[i];
  out.Key("stream_length") += std::to_string(site.stream_length);
  out.Key("dead_letter_length") += std::to_string(site.dead_letter_length);
  std::string& groups = out.Key("groups");
  groups += "{";
  for (std::size_t g = 0; g < site.groups.size(); ++g) {
    if (g > 0) groups += ",";
    AppendJsonString(groups, site.groups[g].name);
    groups += ":{\"pending\":" + std::to_string(site.groups[g].pending) +
              ",\"lag\":" + std::to_string(site.groups[g].lag) + "}";
  }
  groups += "}";
}

void WriteRedisMetrics(const config::Config& shared, const RedisSnapshot& snap,
                       MetricsWriter& out) {
  out.Family("oceanus_redis_up", "gauge", "1 if this process reached Redis just now.");
  out.Sample("oceanus_redis_up", {}, snap.reachable ? 1 : 0);
  if (!snap.reachable) return;
  out.Family("oceanus_queue_length", "gauge", "Entries in the site's stream (Redis).");
  out.Family("oceanus_queue_pending", "gauge",
             "Entries delivered to a consumer of the group and not yet acknowledged.");
  out.Family("oceanus_queue_lag", "gauge", "Entries not yet delivered to the group.");
  out.Family("oceanus_queue_lag_seconds", "gauge",
             "Age of the oldest entry the group has not acknowledged (0: none).");
  out.Family("oceanus_dead_letter_length", "gauge",
             "Entries in the site's dead-letter stream (Redis).");
  for (std::size_t i = 0; i < shared.sites.size(); ++i) {
    const SiteSnapshot& site = snap.sites[i];
    const std::string& name = shared.sites[i].name;
    out.Sample("oceanus_queue_length", {{"site", name}}, static_cast<double>(site.stream_length));
    out.Sample("oceanus_dead_letter_length", {{"site", name}},
               static_cast<double>(site.dead_letter_length));
    for (const auto& g : site.groups) {
      out.Sample("oceanus_queue_pending", {{"site", name}, {"group", g.name}},
                 static_cast<double>(g.pending));
      if (g.lag >= 0)
        out.Sample("oceanus_queue_lag", {{"site", name}, {"group", g.name}},
                   static_cast<double>(g.lag));
      out.Sample("oceanus_queue_lag_seconds", {{"site", name}, {"group", g.name}},
                 g.oldest_unacked_seconds);
    }
  }
}

}  // namespace oceanus::queue::redis
