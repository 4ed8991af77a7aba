// Queue type `spool`: the local spool is the whole queue, inside the one process that
// collects, loads and reacts (`oceanus run`). Registered in the queue registry; the spool's
// settings are the section's common keys, so it has no keys of its own.
#include <fcntl.h>
#include <unistd.h>
#include "util/log.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include <ostream>

#include "config/config.h"
#include "queue/dead_letter.h"
#include "queue/queue_config.h"
#include "queue/queue_registry.h"
#include "queue/spool/file_dead_letter.h"
#include "queue/spool/file_ledger.h"
#include "queue/spool/spool.h"
#include "queue/spool/spool_status.h"
#include "queue/spool/sqlite_rejected.h"

namespace oceanus::queue {
namespace {

constexpr unsigned kBulkWriter = 999;  // a spool writer id no I/O thread uses

// Replays into the spool: the writer answers each record once written, and Flush syncs the
// file system once per chunk of records instead of once per record. It writes into a spool
// of its own (`oceanus replay`, while no other process holds the directory) or into the
// spool of the running process (the admin page's replay), as writer kBulkWriter.
class SpoolBulkWriter final : public BulkWriter {
 public:
  // `spool` lives as long as this writer; `in_use` (when given) is set while it does.
  static Result<std::unique_ptr<BulkWriter>> Open(Spool& spool, std::unique_ptr<Spool> owned,
                                                  std::atomic<bool>* in_use) {
    auto t = std::unique_ptr<SpoolBulkWriter>(new SpoolBulkWriter());
    t->dir_ = spool.dir();
    t->owned_ = std::move(owned);
    Spool::Executors executors;
    executors.owner_syncs = true;
    auto writer = spool.MakeWriter(kBulkWriter, std::move(executors));
    if (!writer.ok()) return writer.status();
    t->writer_ = std::move(writer).value();
    t->in_use_ = in_use;
    return std::unique_ptr<BulkWriter>(std::move(t));
  }

  static Result<std::unique_ptr<BulkWriter>> OpenOwn(const config::Config& shared,
                                                     const QueueConfig& queue) {
    std::vector<std::string> sites;
    for (const auto& s : shared.sites) sites.push_back(s.name);
    auto spool = Spool::Open(shared.data_dir + "/spool", sites, queue.groups, queue);
    if (!spool.ok()) {
      if (spool.status().code() != Status::Code::kUnavailable) return spool.status();
      return Status::Unavailable(spool.status().message() +
                                 "; with queue type spool, replay from the admin page of the "
                                 "running oceanus, or stop it first");
    }
    Spool& opened = **spool;
    return Open(opened, std::move(spool).value(), nullptr);
  }

  ~SpoolBulkWriter() override {
    writer_.reset();  // sealed before the spool it writes to may close
    if (in_use_) in_use_->store(false);
  }

  Status Send(SiteId site, std::string_view record) override {
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
  struct Handler final : AppendHandler {
    Status status = Status::Unavailable("append not completed");
    void Appended(Status s) override { status = std::move(s); }
  };
  SpoolBulkWriter() = default;
  std::string dir_;
  std::unique_ptr<Spool> owned_;  // null when writing into the running process's spool
  std::unique_ptr<QueueWriter> writer_;
  std::atomic<bool>* in_use_ = nullptr;
};

class SpoolQueue final : public Queue {
 public:
  SpoolQueue(const config::Config& shared, std::unique_ptr<Spool> spool)
      : shared_(shared), spool_(std::move(spool)) {}

  Result<std::unique_ptr<QueueWriter>> MakeWriter(unsigned index,
                                                  WriterExecutors executors) override {
    if (!spool_) return Status::Internal("this process opened no spool to write to");
    return spool_->MakeWriter(index, {std::move(executors.run_blocking),
                                      std::move(executors.post_back), executors.gather});
  }

  Result<std::vector<std::unique_ptr<QueueReader>>> OpenReaders(const std::string& group,
                                                                ReaderOptions) override {
    // A spool read is a local file read: nothing to fetch ahead.
    if (!spool_) return Status::Internal("this process opened no spool to read");
    std::vector<std::unique_ptr<QueueReader>> readers;
    for (std::size_t i = 0; i < shared_.sites.size(); ++i) {
      auto reader = spool_->OpenReader(i, group);
      if (!reader.ok()) {
        spdlog::critical("spool reader for {} ({}): {}", shared_.sites[i].name, group,
                         reader.status().ToString());
        return reader.status();
      }
      readers.push_back(std::move(reader).value());
    }
    return readers;
  }

  Result<std::unique_ptr<BulkWriter>> OpenBulkWriter() override {
    if (!spool_) return Status::Internal("this process opened no spool to write to");
    if (bulk_writer_in_use_.exchange(true))
      return Status::Unavailable("a replay into this spool is running; try again when it ends");
    auto writer = SpoolBulkWriter::Open(*spool_, nullptr, &bulk_writer_in_use_);
    if (!writer.ok()) bulk_writer_in_use_.store(false);
    return writer;
  }

  std::unique_ptr<DeadLetter> MakeDeadLetter() const override {
    return std::make_unique<FileDeadLetter>(shared_.data_dir + "/deadletter");
  }

  std::unique_ptr<RejectedStore> MakeRejectedStore(RejectedBound bound) const override {
    return std::make_unique<SqliteRejectedStore>(shared_.data_dir + "/rejected.db", bound);
  }

  Result<std::shared_ptr<Ledger>> OpenLedger(const std::string& name) override {
    auto opened = FileLedger::Open(shared_.data_dir + "/ledger", name);
    if (!opened.ok()) return opened.status();
    return std::shared_ptr<Ledger>(std::move(opened).value());
  }

  std::string StatusJson() const override {
    std::vector<SpoolSiteSnapshot> sites;
    if (spool_) sites = TakeSpoolSnapshot(shared_, *spool_);
    return QueueStatusJson(shared_, "spool", nullptr, [&sites](SiteId i, JsonMembers& out) {
      if (i < sites.size()) WriteSpoolMembers(sites[i], out);
    });
  }

  void WriteMetrics(MetricsWriter& out) const override {
    if (spool_) WriteSpoolMetrics(shared_, TakeSpoolSnapshot(shared_, *spool_), out);
  }

 private:
  const config::Config& shared_;
  std::unique_ptr<Spool> spool_;                 // null in a process that neither writes nor reads
  std::atomic<bool> bulk_writer_in_use_{false};  // writer kBulkWriter exists at most once
};

class SpoolSettings final : public QueueSettings {
 public:
  std::string_view type() const override { return "spool"; }

  Result<std::unique_ptr<Queue>> Open(const config::Config& shared, const QueueConfig& queue,
                                      QueueUse use) const override {
    std::unique_ptr<Spool> spool;
    if (use.write || use.read) {
      std::vector<std::string> site_names;
      for (const auto& s : shared.sites) site_names.push_back(s.name);
      auto opened = Spool::Open(shared.data_dir + "/spool", site_names, queue.groups, queue);
      if (!opened.ok()) {
        spdlog::critical("spool: {}", opened.status().ToString());
        return opened.status();
      }
      spool = std::move(opened).value();
    }
    return std::unique_ptr<Queue>(std::make_unique<SpoolQueue>(shared, std::move(spool)));
  }

  Result<std::unique_ptr<BulkWriter>> OpenBulkWriter(const config::Config& shared,
                                                     const QueueConfig& queue) const override {
    return SpoolBulkWriter::OpenOwn(shared, queue);
  }

  Status AllowsOneRoleProcess(std::string_view command) const override {
    return Status::InvalidArgument(
        "queue type spool keeps the queue inside one process: use `oceanus run`, or queue "
        "type redis to run `oceanus " +
        std::string(command) + "` on its own");
  }

  void Describe(std::ostream&) const override {}
};

class SpoolFactory final : public QueueFactory {
 public:
  std::vector<std::string> Keys() const override { return {}; }
  std::shared_ptr<QueueSettings> Parse(const config::Reader&, const YAML::Node&) const override {
    return std::make_shared<SpoolSettings>();
  }
};

}  // namespace

OCEANUS_REGISTER(QueueFactory, SpoolFactory, "spool");

}  // namespace oceanus::queue
