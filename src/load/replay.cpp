// Replay: dead-letter (files or Redis streams) or a spool's unforwarded records → the queue.
#include "load/replay.h"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "queue/redis/redis_connection.h"
#include "queue/redis/redis_queue.h"
#include "queue/spool/spool.h"
#include "util/time.h"

namespace oceanus::load {
namespace {

constexpr std::size_t kChunk = 500;      // records per pipeline / acknowledgement
constexpr unsigned kReplayWriter = 999;  // a spool writer id no I/O thread uses

// Where replayed records go: the configured queue. Send buffers; Flush makes what was sent
// durable (as durable as the collector's own appends) or fails.
class Target {
 public:
  virtual ~Target() = default;
  virtual Status Send(queue::SiteId site, std::string_view record) = 0;
  virtual Status Flush() = 0;
};

class SpoolTarget final : public Target {
 public:
  static Result<std::unique_ptr<Target>> Open(const config::Config& config,
                                              const std::vector<std::string>& sites) {
    auto t = std::unique_ptr<SpoolTarget>(new SpoolTarget());
    t->dir_ = config.data_dir + "/spool";
    config::QueueConfig queue_config = config.queue;
    queue_config.durability = config::Durability::kOs;  // Flush syncs once per chunk
    auto spool = queue::Spool::Open(t->dir_, sites, config.queue.groups, queue_config);
    if (!spool.ok()) {
      if (spool.status().code() != Status::Code::kUnavailable) return spool.status();
      return Status::Unavailable(spool.status().message() +
                                 "; with queue type spool, stop oceanus before replaying into it");
    }
    t->spool_ = std::move(spool).value();
    // Appends complete inline (durability os); Flush syncs the file system once at the end
    // of a chunk instead of once per record.
    auto writer = t->spool_->MakeWriter(kReplayWriter, {});
    if (!writer.ok()) return writer.status();
    t->writer_ = std::move(writer).value();
    return std::unique_ptr<Target>(std::move(t));
  }

  Status Send(queue::SiteId site, std::string_view record) override {
    auto handler = std::make_shared<Handler>();
    writer_->Append(site, record, handler);
    return handler->status;
  }

  Status Flush() override {
    const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::IoError("open " + dir_ + ": " + std::strerror(errno));
    const int rc = ::syncfs(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return Status::IoError("syncfs " + dir_ + ": " + std::strerror(err));
    return Status::Ok();
  }

 private:
  struct Handler final : queue::AppendHandler {
    Status status = Status::Unavailable("append not completed");
    void Appended(Status s) override { status = std::move(s); }
  };
  SpoolTarget() = default;
  std::string dir_;
  std::unique_ptr<queue::Spool> spool_;
  std::unique_ptr<queue::QueueWriter> writer_;
};

class RedisTarget final : public Target {
 public:
  static Result<std::unique_ptr<Target>> Open(const config::Config& config) {
    auto conn = queue::redis::RedisConnection::Connect(config.queue.redis);
    if (!conn.ok()) return conn.status();
    auto t = std::unique_ptr<RedisTarget>(new RedisTarget(config));
    t->conn_ = std::move(conn).value();
    return std::unique_ptr<Target>(std::move(t));
  }

  Status Send(queue::SiteId site, std::string_view record) override {
    conn_->Append({"XADD", queue::redis::StreamKey(config_.queue.redis, config_.sites[site].name),
                   "*", "d", record});
    ++in_pipeline_;
    return Status::Ok();
  }

  Status Flush() override {
    Status result;
    for (; in_pipeline_ > 0; --in_pipeline_) {
      auto r = conn_->Next();
      if (!r.ok() && result.ok()) result = r.status();
      if (conn_->broken()) {
        in_pipeline_ = 0;
        return result.ok() ? Status::Unavailable("redis connection lost") : result;
      }
    }
    return result;
  }

 private:
  explicit RedisTarget(const config::Config& config) : config_(config) {}
  const config::Config& config_;
  std::unique_ptr<queue::redis::RedisConnection> conn_;
  std::size_t in_pipeline_ = 0;
};

std::string NowStamp() {
  char buf[32];
  std::string at(buf, FormatUtcMicros(std::chrono::system_clock::now(), buf));
  for (char& c : at)
    if (c == ' ' || c == ':') c = c == ' ' ? 'T' : '-';
  return at;
}

// The record of one dead-letter line ({"at":…,"reason":…,"record":"<the queued JSON>"}).
bool RecordOfLine(const std::string& line, std::string& record) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto it = doc.FindMember("record");
  if (it == doc.MemberEnd() || !it->value.IsString()) return false;
  record.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

Status ReplayFile(const std::string& path, queue::SiteId site, const std::string& name,
                  Target* target, bool dry_run, ReplayResult& result,
                  const std::function<void(const ReplayProgress&)>& progress) {
  ReplayProgress p{name, 0, 0};
  {
    std::ifstream count(path);
    std::string line;
    while (std::getline(count, line))
      if (!line.empty()) ++p.total;
  }
  std::ifstream in(path);
  std::string line, record;
  std::size_t since_flush = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (!RecordOfLine(line, record)) {
      ++result.skipped;
    } else if (!dry_run) {
      Status s = target->Send(site, record);
      if (!s.ok()) return s;
      if (++since_flush == kChunk) {
        Status f = target->Flush();
        if (!f.ok()) return f;
        since_flush = 0;
      }
    }
    ++p.done;
    ++result.records;
    progress(p);
  }
  if (dry_run) return Status::Ok();
  Status f = target->Flush();
  if (!f.ok()) return f;
  // Only now, with everything in the queue, does the file leave the dead-letter.
  const std::string done = path + ".replayed-" + NowStamp();
  if (::rename(path.c_str(), done.c_str()) != 0)
    return Status::IoError("rename " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Status ReplayStream(const config::Config& config, queue::SiteId site, Target* target, bool dry_run,
                    ReplayResult& result,
                    const std::function<void(const ReplayProgress&)>& progress) {
  const std::string& name = config.sites[site].name;
  auto conn = queue::redis::RedisConnection::Connect(config.queue.redis);
  if (!conn.ok()) return conn.status();
  const std::string key = queue::redis::DeadLetterKey(config.queue.redis, name);
  ReplayProgress p{name, 0, 0};
  auto len = (*conn)->Command({"XLEN", key});
  if (len.ok() && len->get()->type == REDIS_REPLY_INTEGER)
    p.total = static_cast<std::uint64_t>(len->get()->integer);
  std::string start = "-";
  const std::string count = std::to_string(kChunk);
  while (true) {
    auto range = (*conn)->Command({"XRANGE", key, start, "+", "COUNT", count});
    if (!range.ok()) return range.status();
    const redisReply* entries = range->get();
    if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0) break;
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
      ids.emplace_back(queue::redis::ReplyString(e->element[0]));
      const redisReply* fields = e->element[1];
      std::string_view record;
      for (std::size_t k = 0; k + 1 < fields->elements; k += 2)
        if (queue::redis::ReplyString(fields->element[k]) == "d")
          record = queue::redis::ReplyString(fields->element[k + 1]);
      if (record.empty()) {
        ++result.skipped;
        ids.pop_back();  // left in the stream
      } else if (!dry_run) {
        Status s = target->Send(site, record);
        if (!s.ok()) return s;
      }
      ++p.done;
      ++result.records;
      progress(p);
    }
    start =
        "(" +
        std::string(queue::redis::ReplyString(entries->element[entries->elements - 1]->element[0]));
    if (dry_run || ids.empty()) continue;
    Status f = target->Flush();
    if (!f.ok()) return f;
    std::vector<std::string_view> del{"XDEL", key};
    for (const auto& id : ids) del.push_back(id);
    auto deleted = (*conn)->Command(del);
    if (!deleted.ok()) return deleted.status();
  }
  return Status::Ok();
}

Status ReplaySpool(const config::Config& config, const std::vector<std::string>& sites,
                   const std::vector<queue::SiteId>& chosen, const std::string& dir, Target* target,
                   bool dry_run, ReplayResult& result,
                   const std::function<void(const ReplayProgress&)>& progress) {
  auto spool = queue::Spool::Open(dir, sites, {"forward"}, config.queue);
  if (!spool.ok()) return spool.status();
  for (queue::SiteId site : chosen) {
    auto reader = (*spool)->OpenReader(site, "forward");
    if (!reader.ok()) return reader.status();
    ReplayProgress p{sites[site], 0, 0};
    while (true) {
      auto entries = (*reader)->Read(kChunk, 1 << 20, std::chrono::milliseconds(0));
      if (!entries.ok()) return entries.status();
      if (entries->empty()) break;
      for (const auto& e : *entries) {
        if (!dry_run) {
          Status s = target->Send(site, e.payload);
          if (!s.ok()) return s;
        }
        ++p.done;
        ++result.records;
        progress(p);
      }
      if (dry_run) continue;
      Status f = target->Flush();
      if (!f.ok()) return f;
      Status acked = (*reader)->Ack(entries->back().id);
      if (!acked.ok()) return acked;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ReplayResult> Replay(const config::Config& config, const ReplayOptions& options,
                            const std::function<void(const ReplayProgress&)>& progress) {
  std::vector<std::string> sites;
  std::vector<queue::SiteId> chosen;
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    sites.push_back(config.sites[i].name);
    if (options.site.empty() || options.site == config.sites[i].name) chosen.push_back(i);
  }
  if (chosen.empty())
    return Status::InvalidArgument("no site '" + options.site + "' in the config");
  const bool redis = config.queue.type == "redis";
  if (!options.spool_dir.empty() && !redis)
    return Status::InvalidArgument(
        "--spool replays a collector's spool into Redis; this config's queue is the spool itself");

  std::unique_ptr<Target> target;
  if (!options.dry_run) {
    auto opened = redis ? RedisTarget::Open(config) : SpoolTarget::Open(config, sites);
    if (!opened.ok()) return opened.status();
    target = std::move(opened).value();
  }
  ReplayResult result;
  if (!options.spool_dir.empty()) {
    Status s = ReplaySpool(config, sites, chosen, options.spool_dir, target.get(), options.dry_run,
                           result, progress);
    if (!s.ok()) return s;
    return result;
  }
  for (queue::SiteId site : chosen) {
    Status s;
    if (redis) {
      s = ReplayStream(config, site, target.get(), options.dry_run, result, progress);
    } else {
      const std::string path = config.data_dir + "/deadletter/" + sites[site] + ".jsonl";
      if (!std::filesystem::exists(path)) continue;
      s = ReplayFile(path, site, sites[site], target.get(), options.dry_run, result, progress);
    }
    if (!s.ok()) return s;
  }
  return result;
}

}  // namespace oceanus::load
