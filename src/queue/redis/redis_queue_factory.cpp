// Queue type `redis`: Redis Streams shared by every process (one role each, or all in one),
// with the collector's local spool as its fallback (redis_queue.h gives the shape).
// Registered in the queue registry; its own key is the `redis:` block (redis_config.h).
#include <unistd.h>
#include <yaml-cpp/yaml.h>
#include "util/log.h"

#include <ostream>

#include "config/config.h"
#include "queue/queue_config.h"
#include "queue/queue_registry.h"
#include "queue/redis/redis_config.h"
#include "queue/redis/redis_dead_letter.h"
#include "queue/redis/redis_ledger.h"
#include "queue/redis/redis_queue.h"
#include "queue/redis/redis_rejected.h"
#include "queue/redis/redis_status.h"
#include "queue/spool/spool.h"
#include "queue/spool/spool_status.h"

namespace oceanus::queue::redis {
namespace {

// "host-pid": the consumer name in Redis consumer groups, unique per process.
std::string ConsumerName() {
  char host[256] = "oceanus";
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

// Replays into the streams: XADDs pipelined on one connection, their replies read by Flush.
class RedisBulkWriter final : public BulkWriter {
 public:
  static Result<std::unique_ptr<BulkWriter>> Open(const config::Config& config,
                                                  const RedisConfig& redis) {
    auto conn = RedisConnection::Connect(redis);
    if (!conn.ok()) return conn.status();
    auto t = std::unique_ptr<RedisBulkWriter>(new RedisBulkWriter(config, redis));
    t->conn_ = std::move(conn).value();
    return std::unique_ptr<BulkWriter>(std::move(t));
  }

  Status Send(SiteId site, std::string_view record) override {
    conn_->Append({"XADD", StreamKey(redis_, config_.sites[site].name), "*", "d", record});
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
  RedisBulkWriter(const config::Config& config, const RedisConfig& redis)
      : config_(config), redis_(redis) {}
  const config::Config& config_;
  const RedisConfig& redis_;
  std::unique_ptr<RedisConnection> conn_;
  std::size_t in_pipeline_ = 0;
};

class RedisQueue final : public Queue {
 public:
  RedisQueue(const config::Config& shared, const QueueConfig& queue, const RedisConfig& redis,
             std::unique_ptr<Spool> spool)
      : shared_(shared), queue_(queue), redis_(redis), spool_(std::move(spool)) {
    if (!spool_) return;
    backlog_ = std::make_unique<SpoolBacklog>(shared.sites.size());
    // Until the forwarder has looked, assume a spool left by an earlier run: new events
    // queue behind it, in order.
    for (std::size_t i = 0; i < shared.sites.size(); ++i) backlog_->Set(i, true);
  }

  void Start() override {
    if (!spool_ || forwarder_) return;
    forwarder_ = std::make_unique<Forwarder>(shared_, redis_, *spool_, *backlog_);
    forwarder_->Start();
  }

  void Stop() override {
    if (forwarder_) forwarder_->Stop();
  }

  Result<std::unique_ptr<QueueWriter>> MakeWriter(unsigned index,
                                                  WriterExecutors executors) override {
    if (!spool_) return Status::Internal("this process opened no fallback spool to write to");
    auto w = RedisWriter::Create(shared_, redis_, *spool_, index, std::move(executors.run_blocking),
                                 *backlog_, std::move(executors.post_back));
    if (!w.ok()) return w.status();
    return std::unique_ptr<QueueWriter>(std::move(w).value());
  }

  Result<std::vector<std::unique_ptr<QueueReader>>> OpenReaders(const std::string& group,
                                                                ReaderOptions options) override {
    std::vector<std::unique_ptr<QueueReader>> readers;
    for (std::size_t i = 0; i < shared_.sites.size(); ++i)
      readers.push_back(
          std::make_unique<RedisReader>(shared_, queue_, redis_, i, group, consumer_, options));
    return readers;
  }

  Result<std::unique_ptr<BulkWriter>> OpenBulkWriter() override {
    return RedisBulkWriter::Open(shared_, redis_);
  }

  std::unique_ptr<DeadLetter> MakeDeadLetter() const override {
    return std::make_unique<RedisDeadLetter>(redis_);
  }

  std::unique_ptr<RejectedStore> MakeRejectedStore(RejectedBound bound) const override {
    std::vector<std::string> sites;
    for (const auto& s : shared_.sites) sites.push_back(s.name);
    return std::make_unique<RedisRejectedStore>(redis_, std::move(sites), bound);
  }

  Result<std::shared_ptr<Ledger>> OpenLedger(const std::string& name) override {
    return std::shared_ptr<Ledger>(std::make_shared<RedisLedger>(redis_, name));
  }

  std::string StatusJson() const override {
    const RedisSnapshot snap = TakeRedisSnapshot(shared_, queue_, redis_);
    std::vector<SpoolSiteSnapshot> spooled;
    if (spool_) spooled = TakeSpoolSnapshot(shared_, *spool_);
    return QueueStatusJson(
        shared_, "redis", [&snap](std::string& out) { AppendRedisHead(snap, out); },
        [&](SiteId i, JsonMembers& out) {
          WriteRedisMembers(snap, i, out);
          if (i < spooled.size()) WriteSpoolMembers(spooled[i], out);
        });
  }

  void WriteMetrics(MetricsWriter& out) const override {
    WriteRedisMetrics(shared_, TakeRedisSnapshot(shared_, queue_, redis_), out);
    if (spool_) WriteSpoolMetrics(shared_, TakeSpoolSnapshot(shared_, *spool_), out);
  }

 private:
  const config::Config& shared_;
  const QueueConfig& queue_;
  const RedisConfig& redis_;
  const std::string consumer_ = ConsumerName();
  // The collector's fallback, with what the writers and the forwarder share; null in a
  // process that does not collect. Declared so that the forwarder goes first.
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<SpoolBacklog> backlog_;
  std::unique_ptr<Forwarder> forwarder_;
};

class RedisSettings final : public QueueSettings {
 public:
  explicit RedisSettings(RedisConfig redis) : redis_(std::move(redis)) {}
  std::string_view type() const override { return "redis"; }
  const RedisConfig& redis() const { return redis_; }

  Result<std::unique_ptr<Queue>> Open(const config::Config& shared, const QueueConfig& queue,
                                      QueueUse use) const override {
    std::unique_ptr<Spool> spool;
    if (use.write) {
      // The fallback's one reader is the forwarder.
      std::vector<std::string> site_names;
      for (const auto& s : shared.sites) site_names.push_back(s.name);
      auto opened = Spool::Open(shared.data_dir + "/spool", site_names, {"forward"}, queue);
      if (!opened.ok()) {
        spdlog::critical("spool: {}", opened.status().ToString());
        return opened.status();
      }
      spool = std::move(opened).value();
    }
    return std::unique_ptr<Queue>(
        std::make_unique<RedisQueue>(shared, queue, redis_, std::move(spool)));
  }

  Result<std::unique_ptr<BulkWriter>> OpenBulkWriter(const config::Config& shared,
                                                     const QueueConfig&) const override {
    return RedisBulkWriter::Open(shared, redis_);
  }

  Status AllowsOneRoleProcess(std::string_view) const override { return Status::Ok(); }

  std::optional<SharedRedis> SharedStore() const override {
    return SharedRedis{redis_, redis_.prefix};
  }

  void DescribeHeadline(std::ostream& out) const override {
    out << "redis: " << redis_.host << ":" << redis_.port << ", streams " << redis_.prefix
        << "<site>\n";
  }

  void Describe(std::ostream& out) const override {
    out << "  address: " << redis_.host << ":" << redis_.port << "\n"
        << "  password: " << (redis_.password.empty() ? "(none)" : "(set)") << "\n"
        << "  db: " << redis_.db << "\n"
        << "  prefix: " << (redis_.prefix.empty() ? "\"\"" : redis_.prefix) << "\n"
        << "  connect_timeout: " << redis_.connect_timeout.count() << " ms\n"
        << "  command_timeout: " << redis_.command_timeout.count() << " ms\n"
        << "  publish: " << (redis_.publish ? "true" : "false") << "\n"
        << "  claim_idle: " << redis_.claim_idle.count() << " ms\n"
        << "  max_deliveries: " << redis_.max_deliveries << "\n"
        << "  trim_every: " << redis_.trim_every.count() << " ms\n";
  }

 private:
  RedisConfig redis_;
};

class RedisFactory final : public QueueFactory {
 public:
  std::vector<std::string> Keys() const override { return {"redis"}; }
  std::shared_ptr<QueueSettings> Parse(const config::Reader& r,
                                       const YAML::Node& section) const override {
    return std::make_shared<RedisSettings>(
        ParseRedisConfig(r, section ? section["redis"] : YAML::Node(YAML::NodeType::Undefined)));
  }
};

}  // namespace

const RedisConfig* RedisConfigOf(const QueueConfig& queue) {
  const auto* settings = dynamic_cast<const RedisSettings*>(queue.settings.get());
  return settings ? &settings->redis() : nullptr;
}

OCEANUS_REGISTER(QueueFactory, RedisFactory, "redis");

}  // namespace oceanus::queue::redis
