// Queue snapshot: XLEN / XINFO GROUPS / XPENDING per site, plus the spool's files.
#include "queue/queue_status.h"

#include <chrono>
#include <cstdlib>

#include "queue/redis/redis_queue.h"
#include "redis/redis_connection.h"
#include "util/json.h"

namespace oceanus::queue {
namespace {

long long IntegerOr(const Result<redis::Reply>& r, long long fallback) {
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
double OldestUnacked(redis::RedisConnection& conn, const std::string& key, const std::string& group,
                     const std::string& last_delivered) {
  auto pending = conn.Command({"XPENDING", key, group});
  if (pending.ok() && pending->get()->type == REDIS_REPLY_ARRAY && pending->get()->elements >= 2 &&
      pending->get()->element[1]->type == REDIS_REPLY_STRING) {
    return AgeSeconds(redis::ReplyString(pending->get()->element[1]));
  }
  auto next = conn.Command({"XRANGE", key, "(" + last_delivered, "+", "COUNT", "1"});
  if (next.ok() && next->get()->type == REDIS_REPLY_ARRAY && next->get()->elements == 1) {
    const redisReply* entry = next->get()->element[0];
    if (entry->type == REDIS_REPLY_ARRAY && entry->elements >= 1)
      return AgeSeconds(redis::ReplyString(entry->element[0]));
  }
  return 0;
}

}  // namespace

QueueSnapshot TakeQueueSnapshot(const app::Config& config, const Spool* spool) {
  QueueSnapshot snap;
  snap.type = config.queue.type;
  snap.sites.resize(config.sites.size());
  std::unique_ptr<redis::RedisConnection> conn;
  if (config.queue.type == "redis") {
    queue::RedisConfig quick = config.queue.redis;
    quick.connect_timeout = std::min(quick.connect_timeout, std::chrono::milliseconds(500));
    snap.redis_address = quick.host + ":" + std::to_string(quick.port);
    auto c = redis::RedisConnection::Connect(quick);
    snap.redis_reachable = c.ok();
    if (c.ok()) {
      conn = std::move(c).value();
    } else {
      snap.redis_error = c.status().message();
    }
  }
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    SiteSnapshot& site = snap.sites[i];
    const std::string& name = config.sites[i].name;
    if (conn) {
      const std::string key = redis::StreamKey(config.queue.redis, name);
      site.stream_length = IntegerOr(conn->Command({"XLEN", key}), -1);
      site.dead_letter_length =
          IntegerOr(conn->Command({"XLEN", redis::DeadLetterKey(config.queue.redis, name)}), -1);
      auto info = conn->Command({"XINFO", "GROUPS", key});
      if (info.ok() && info->get()->type == REDIS_REPLY_ARRAY) {
        for (std::size_t g = 0; g < info->get()->elements; ++g) {
          const redisReply* f = info->get()->element[g];
          GroupSnapshot group;
          std::string last_delivered = "0-0";
          for (std::size_t k = 0; k + 1 < f->elements; k += 2) {
            const auto label = redis::ReplyString(f->element[k]);
            const redisReply* value = f->element[k + 1];
            if (label == "name") group.name = redis::ReplyString(value);
            if (label == "pending") group.pending = value->integer;
            if (label == "lag" && value->type == REDIS_REPLY_INTEGER) group.lag = value->integer;
            if (label == "last-delivered-id") last_delivered = redis::ReplyString(value);
          }
          group.oldest_unacked_seconds = OldestUnacked(*conn, key, group.name, last_delivered);
          site.groups.push_back(std::move(group));
        }
      }
      // A configured group whose first reader has not started yet will read the stream from
      // its start: every entry is in flight for it.
      for (const auto& name : config.queue.groups) {
        bool found = false;
        for (const auto& g : site.groups) found = found || g.name == name;
        if (found || site.stream_length < 0) continue;
        GroupSnapshot group;
        group.name = name;
        group.lag = site.stream_length;
        group.oldest_unacked_seconds = OldestUnacked(*conn, key, "", "0-0");
        site.groups.push_back(std::move(group));
      }
    }
    if (spool != nullptr) {
      site.spool = spool->Stats(i);
      site.spool_unconsumed_bytes = spool->UnconsumedBytes(i);
    }
  }
  return snap;
}

std::string QueueStatusJson(const app::Config& config, const Spool* spool) {
  return QueueStatusJson(config, TakeQueueSnapshot(config, spool));
}

std::string QueueStatusJson(const app::Config& config, const QueueSnapshot& snap) {
  std::string out = "{\"queue\":";
  AppendJsonString(out, snap.type);
  if (snap.type == "redis") {
    out += ",\"redis\":{\"address\":";
    AppendJsonString(out, snap.redis_address);
    out += ",\"reachable\":";
    out += snap.redis_reachable ? "true" : "false";
    if (!snap.redis_reachable) {
      out += ",\"error\":";
      AppendJsonString(out, snap.redis_error);
    }
    out += "}";
  }
  out += ",\"sites\":{";
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    const SiteSnapshot& site = snap.sites[i];
    if (i > 0) out += ",";
    AppendJsonString(out, config.sites[i].name);
    out += ":{";
    bool first = true;
    auto field = [&](const char* key) {
      if (!first) out += ",";
      first = false;
      out += "\"";
      out += key;
      out += "\":";
    };
    if (snap.redis_reachable) {
      field("stream_length");
      out += std::to_string(site.stream_length);
      field("dead_letter_length");
      out += std::to_string(site.dead_letter_length);
      field("groups");
      out += "{";
      for (std::size_t g = 0; g < site.groups.size(); ++g) {
        if (g > 0) out += ",";
        AppendJsonString(out, site.groups[g].name);
        out += ":{\"pending\":" + std::to_string(site.groups[g].pending) +
               ",\"lag\":" + std::to_string(site.groups[g].lag) + "}";
      }
      out += "}";
    }
    if (site.spool) {
      field("spool_bytes");
      out += std::to_string(site.spool->bytes_on_disk);
      field("spool_segments");
      out += std::to_string(site.spool->segments);
      field("spool_unconsumed_bytes");
      out += std::to_string(site.spool_unconsumed_bytes);
    }
    out += "}";
  }
  out += "}}\n";
  return out;
}

void WriteQueueMetrics(const app::Config& config, const QueueSnapshot& snap, MetricsWriter& out) {
  if (snap.type == "redis") {
    out.Family("oceanus_redis_up", "gauge", "1 if this process reached Redis just now.");
    out.Sample("oceanus_redis_up", {}, snap.redis_reachable ? 1 : 0);
  }
  if (snap.redis_reachable) {
    out.Family("oceanus_queue_length", "gauge", "Entries in the site's stream (Redis).");
    out.Family("oceanus_queue_pending", "gauge",
               "Entries delivered to a consumer of the group and not yet acknowledged.");
    out.Family("oceanus_queue_lag", "gauge", "Entries not yet delivered to the group.");
    out.Family("oceanus_queue_lag_seconds", "gauge",
               "Age of the oldest entry the group has not acknowledged (0: none).");
    out.Family("oceanus_dead_letter_length", "gauge",
               "Entries in the site's dead-letter stream (Redis).");
    for (std::size_t i = 0; i < config.sites.size(); ++i) {
      const SiteSnapshot& site = snap.sites[i];
      const std::string& name = config.sites[i].name;
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
  bool any_spool = false;
  for (const auto& s : snap.sites) any_spool = any_spool || s.spool.has_value();
  if (!any_spool) return;
  out.Family("oceanus_spool_bytes", "gauge",
             "Bytes of the site's local spool files on disk, consumed or not (the active "
             "segments stay until they are sealed).");
  out.Family("oceanus_spool_segments", "gauge", "Segment files of the site's local spool.");
  out.Family("oceanus_spool_unconsumed_bytes", "gauge",
             "Record bytes of the site's local spool not yet acknowledged by the slowest "
             "consumer (queue type spool: the queue's backlog; redis: events waiting for Redis).");
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    const SiteSnapshot& site = snap.sites[i];
    if (!site.spool) continue;
    const std::string& name = config.sites[i].name;
    out.Sample("oceanus_spool_bytes", {{"site", name}},
               static_cast<double>(site.spool->bytes_on_disk));
    out.Sample("oceanus_spool_segments", {{"site", name}},
               static_cast<double>(site.spool->segments));
    out.Sample("oceanus_spool_unconsumed_bytes", {{"site", name}},
               static_cast<double>(site.spool_unconsumed_bytes));
  }
}

}  // namespace oceanus::queue
