// QueueStatusJson: XLEN / XINFO GROUPS per site, plus the spool's files.
#include "queue/queue_status.h"

#include "event/json.h"
#include "queue/redis/redis_connection.h"
#include "queue/redis/redis_queue.h"

namespace oceanus::queue {
namespace {

long long IntegerOr(const Result<redis::Reply>& r, long long fallback) {
  return r.ok() && r->get()->type == REDIS_REPLY_INTEGER ? r->get()->integer : fallback;
}

}  // namespace

std::string QueueStatusJson(const config::Config& config, const Spool* spool) {
  std::string out = "{\"queue\":";
  event::AppendJsonString(out, config.queue.type);
  std::unique_ptr<redis::RedisConnection> conn;
  if (config.queue.type == "redis") {
    config::RedisConfig quick = config.queue.redis;
    quick.connect_timeout = std::min(quick.connect_timeout, std::chrono::milliseconds(500));
    auto c = redis::RedisConnection::Connect(quick);
    out += ",\"redis\":{\"address\":";
    event::AppendJsonString(out, quick.host + ":" + std::to_string(quick.port));
    out += ",\"reachable\":";
    out += c.ok() ? "true" : "false";
    if (!c.ok()) {
      out += ",\"error\":";
      event::AppendJsonString(out, c.status().message());
    } else {
      conn = std::move(c).value();
    }
    out += "}";
  }
  out += ",\"sites\":{";
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    const std::string& name = config.sites[i].name;
    if (i > 0) out += ",";
    event::AppendJsonString(out, name);
    out += ":{";
    bool first = true;
    auto field = [&](const char* key) {
      if (!first) out += ",";
      first = false;
      out += "\"";
      out += key;
      out += "\":";
    };
    if (conn) {
      const std::string key = redis::StreamKey(config.queue.redis, name);
      field("stream_length");
      out += std::to_string(IntegerOr(conn->Command({"XLEN", key}), -1));
      field("dead_letter_length");
      out += std::to_string(
          IntegerOr(conn->Command({"XLEN", redis::DeadLetterKey(config.queue.redis, name)}), -1));
      field("groups");
      out += "{";
      auto info = conn->Command({"XINFO", "GROUPS", key});
      bool first_group = true;
      if (info.ok()) {
        for (std::size_t g = 0; g < info->get()->elements; ++g) {
          const redisReply* f = info->get()->element[g];
          std::string group;
          long long pending = 0, lag = -1;
          for (std::size_t k = 0; k + 1 < f->elements; k += 2) {
            const auto label = redis::ReplyString(f->element[k]);
            if (label == "name") group = redis::ReplyString(f->element[k + 1]);
            if (label == "pending") pending = f->element[k + 1]->integer;
            if (label == "lag" && f->element[k + 1]->type == REDIS_REPLY_INTEGER)
              lag = f->element[k + 1]->integer;
          }
          if (!first_group) out += ",";
          first_group = false;
          event::AppendJsonString(out, group);
          out +=
              ":{\"pending\":" + std::to_string(pending) + ",\"lag\":" + std::to_string(lag) + "}";
        }
      }
      out += "}";
    }
    if (spool != nullptr) {
      const auto stats = spool->Stats(i);
      field("spool_bytes");
      out += std::to_string(stats.bytes_on_disk);
      field("spool_segments");
      out += std::to_string(stats.segments);
    }
    out += "}";
  }
  out += "}}\n";
  return out;
}

}  // namespace oceanus::queue
