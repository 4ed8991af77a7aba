// Replay: dead-letter (files or Redis streams), a spool's unforwarded records, or the damaged
// bytes a spool set aside (.corrupt files) → the queue.
#include "load/replay.h"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <unistd.h>
#include "util/log.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "queue/queue_registry.h"
#include "queue/redis/redis_config.h"
#include "queue/redis/redis_queue.h"
#include "queue/spool/file_dead_letter.h"
#include "queue/spool/segment.h"
#include "queue/spool/spool.h"
#include "redis/redis_connection.h"
#include "util/fd.h"
#include "util/time.h"

namespace oceanus::load {
namespace {

constexpr std::size_t kChunk = 500;  // records per pipeline / acknowledgement

// Where replayed records go: the configured queue (QueueSettings::OpenBulkWriter).
using Target = queue::BulkWriter;

// Sends one record, and flushes after every kChunk of them (`since_flush` counts across
// calls), so that a long replay is made durable piece by piece.
Status SendChunked(Target& target, queue::SiteId site, std::string_view record,
                   std::size_t& since_flush) {
  if (Status s = target.Send(site, record); !s.ok()) return s;
  if (++since_flush < kChunk) return Status::Ok();
  since_flush = 0;
  return target.Flush();
}

std::string NowStamp() {
  char buf[32];
  std::string at(buf, FormatUtcMicros(std::chrono::system_clock::now(), buf));
  for (char& c : at)
    if (c == ' ' || c == ':') c = c == ' ' ? 'T' : '-';
  return at;
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status::IoError("remove " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

// Renames a replayed source to <path>.replayed-<time>: kept for reference, never read again.
Status MarkReplayed(const std::string& path) {
  const std::string done = path + ".replayed-" + NowStamp();
  if (::rename(path.c_str(), done.c_str()) != 0)
    return Status::IoError("rename " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

// Whether the dead-letter line `line` (its "at" and "reason") is one `options` picks.
bool PicksLine(const ReplayOptions& options, std::string_view line) {
  if (!options.Filtered()) return true;
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  const auto text = [&](const char* key) {
    auto it = doc.FindMember(key);
    return it != doc.MemberEnd() && it->value.IsString()
               ? std::string_view(it->value.GetString(), it->value.GetStringLength())
               : std::string_view();
  };
  auto at = ParseUtcMicros(text("at"));
  return at.ok() && options.Picks(*at, text("reason"));
}

// Replays the dead-letter file of one site. The lines are taken under the file's lock
// (FileDeadLetter::Take): a loader dead-lettering meanwhile (a replay from the admin page of
// the running process) waits, and what it puts, a replayed record refused again included,
// stays. The picked lines leave the file only once the queue has them durably; unfiltered,
// they are kept in <path>.replayed-<time> for reference.
Status ReplayFile(const std::string& dir, queue::SiteId site, const std::string& name,
                  Target* target, const ReplayOptions& options, ReplayResult& result,
                  const std::function<void(const ReplayProgress&)>& progress) {
  const std::string path = dir + "/" + name + ".jsonl";
  ReplayProgress p{name, 0, 0};
  {
    std::ifstream count(path);  // for the progress bar only: the file may grow meanwhile
    std::string line;
    while (std::getline(count, line))
      if (!line.empty()) ++p.total;
  }
  std::size_t since_flush = 0;
  std::string record;
  const auto take = [&](std::string_view line) -> Result<bool> {
    if (line.find_first_not_of(" \r\n") == std::string_view::npos) return !options.dry_run;
    ++p.done;  // entries examined, so that the bar ends at 100% with unreadable ones too
    bool sends = false;
    if (PicksLine(options, line)) {
      sends = queue::RecordOfLine(line, record);
      if (!sends) ++result.skipped;  // unreadable: left in place
    }
    if (sends) ++result.records;
    if (sends && !options.dry_run) {
      if (Status s = SendChunked(*target, site, record, since_flush); !s.ok()) return s;
    }
    progress(p);
    return sends && !options.dry_run;
  };
  const auto flush = [target] { return target->Flush(); };
  queue::FileDeadLetter dead_letter(dir);
  const std::string copy = options.Filtered() ? "" : path + ".replayed-" + NowStamp();
  auto taken = dead_letter.Take(name, take, flush, copy);
  return taken.ok() ? Status::Ok() : taken.status();
}

// The time an entry was set aside: the milliseconds of its stream id.
std::chrono::system_clock::time_point EntryTime(std::string_view id) {
  std::int64_t ms = 0;
  std::from_chars(id.data(), id.data() + id.size(), ms);
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

Status ReplayStream(const queue::redis::RedisConfig& redis, const std::string& name,
                    queue::SiteId site, Target* target, const ReplayOptions& options,
                    ReplayResult& result,
                    const std::function<void(const ReplayProgress&)>& progress) {
  const bool dry_run = options.dry_run;
  auto conn = redis::RedisConnection::Connect(redis);
  if (!conn.ok()) return conn.status();
  const std::string key = queue::redis::DeadLetterKey(redis, name);
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
      ids.emplace_back(redis::ReplyString(e->element[0]));
      const redisReply* fields = e->element[1];
      std::string_view record, reason;
      for (std::size_t k = 0; k + 1 < fields->elements; k += 2) {
        const std::string_view field = redis::ReplyString(fields->element[k]);
        if (field == "d") record = redis::ReplyString(fields->element[k + 1]);
        if (field == "reason") reason = redis::ReplyString(fields->element[k + 1]);
      }
      if (!options.Picks(EntryTime(ids.back()), reason)) {
        ids.pop_back();  // not asked for: left in the stream
        ++p.done;
        progress(p);
        continue;
      }
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
        "(" + std::string(redis::ReplyString(entries->element[entries->elements - 1]->element[0]));
    if (dry_run || ids.empty()) continue;
    Status f = target->Flush();
    if (!f.ok()) return f;
    std::vector<std::string_view> del{"XDEL", key};
    for (const auto& id : ids) del.push_back(id);
    auto deleted = (*conn)->Command(del);
    if (!deleted.ok()) return deleted.status();
  }
  if (dry_run) return Status::Ok();
  // XDEL leaves an empty stream behind. Deleted only while it is empty, in one step, so an
  // entry the loader dead-letters meanwhile is never deleted with it.
  auto removed = (*conn)->Command(
      {"EVAL",
       "if redis.call('XLEN', KEYS[1]) == 0 then return redis.call('DEL', KEYS[1]) end "
       "return 0",
       "1", key});
  if (!removed.ok())  // housekeeping only: every entry is replayed
    spdlog::warn("replay: could not remove the empty stream {}: {}", key,
                 removed.status().message());
  return Status::Ok();
}

Status ReplaySpool(const queue::QueueConfig& queue, const std::vector<std::string>& sites,
                   const std::vector<queue::SiteId>& chosen, const std::string& dir, Target* target,
                   bool dry_run, ReplayResult& result,
                   const std::function<void(const ReplayProgress&)>& progress) {
  auto spool = queue::Spool::Open(dir, sites, {"forward"}, queue);
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

// Sends every record with a valid checksum that a .corrupt file (raw bytes of damaged spool
// regions, docs/spool_format.md) still holds, resynchronising over the rest as the spool
// reader does; the bytes in no valid record are counted unreadable.
Status ReplayCorruptFile(const std::string& path, queue::SiteId site, const std::string& name,
                         Target* target, bool dry_run, ReplayResult& result,
                         const std::function<void(const ReplayProgress&)>& progress) {
  namespace spool = queue::spool;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError("open " + path + ": " + std::strerror(errno));
  spool::SegmentBuffer buffer(fd.get());
  ReplayProgress p{name, 0, 0};
  std::uint64_t at = 0;
  std::size_t since_flush = 0;
  while (true) {
    std::string_view payload;
    std::uint64_t next = 0;
    const spool::DecodeResult r = buffer.Next(at, payload, next);
    if (r == spool::DecodeResult::kEnd) break;
    if (r == spool::DecodeResult::kRecord) {
      if (!dry_run) {
        if (Status s = SendChunked(*target, site, payload, since_flush); !s.ok()) return s;
      }
      ++result.records;
      ++p.done;
      progress(p);
      at = next;
      continue;
    }
    std::uint64_t found = 0;
    const spool::DecodeResult f = buffer.FindRecord(at, found);
    if (f == spool::DecodeResult::kIncomplete) return Status::IoError("read " + path);
    result.unreadable_bytes += found - at;
    at = found;
    if (f == spool::DecodeResult::kEnd) break;
  }
  ++result.corrupt_files;
  if (dry_run) return Status::Ok();
  fd.reset();
  if (at == 0) return RemoveFile(path);  // empty: nothing to keep
  Status f = target->Flush();
  if (!f.ok()) return f;
  return MarkReplayed(path);
}

// The .corrupt files of `dir`/<site>/ for the chosen sites. Unless it is the target's own
// spool (already held), the spool is opened for the duration, so that a running oceanus that
// could still append to them makes this fail instead.
Status ReplayCorrupt(const queue::QueueConfig& queue, const std::vector<std::string>& sites,
                     const std::vector<queue::SiteId>& chosen, const std::string& dir,
                     bool dir_is_target, Target* target, bool dry_run, ReplayResult& result,
                     const std::function<void(const ReplayProgress&)>& progress) {
  std::unique_ptr<queue::Spool> held;
  if (!dry_run && !dir_is_target) {
    auto spool = queue::Spool::Open(dir, sites, {"forward"}, queue);
    if (!spool.ok() && spool.status().code() == Status::Code::kUnavailable)
      return Status::Unavailable(spool.status().message() +
                                 "; stop it before replaying its .corrupt files");
    if (!spool.ok()) return spool.status();
    held = std::move(spool).value();
  }
  for (queue::SiteId site : chosen) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/" + sites[site], ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.size() > 8 && name.ends_with(".corrupt"))
        files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      Status s = ReplayCorruptFile(path, site, sites[site], target, dry_run, result, progress);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

// Refuses options that do not fit together or this config, before a queue is opened.
Status CheckOptions(const config::Config& shared, const queue::QueueConfig& queue,
                    const ReplayOptions& options) {
  if (!options.site.empty() &&
      std::none_of(shared.sites.begin(), shared.sites.end(),
                   [&](const auto& site) { return site.name == options.site; }))
    return Status::InvalidArgument("no site '" + options.site + "' in the config");
  if (options.Filtered() && (!options.spool_dir.empty() || options.corrupt))
    return Status::InvalidArgument(
        "--since, --until and --reason pick dead-letter entries; "
        "they do not apply to --spool or --corrupt");
  if (!options.spool_dir.empty() && !queue::redis::RedisConfigOf(queue) && !options.corrupt)
    return Status::InvalidArgument(
        "--spool replays a collector's spool into Redis; this config's queue is the spool itself");
  return Status::Ok();
}

}  // namespace

std::string Describe(const ReplayOptions& options, const ReplayResult& result) {
  std::string out = (options.dry_run ? "would replay " : "replayed ") +
                    std::to_string(result.records) + " record(s)";
  if (result.skipped > 0)
    out += "; " + std::to_string(result.skipped) + " unreadable dead-letter entr(ies) " +
           (options.dry_run ? "that replay leaves in place" : "left in the dead-letter");
  if (options.corrupt)
    out += "; " + std::to_string(result.unreadable_bytes) + " unreadable byte(s) in " +
           std::to_string(result.corrupt_files) + " .corrupt file(s)" +
           (options.dry_run || result.corrupt_files == 0 ? ""
                                                         : ", kept in the .replayed-<time> files");
  return out;
}

Result<ReplayResult> Replay(const config::Config& shared, const queue::QueueConfig& queue,
                            const ReplayOptions& options,
                            const std::function<void(const ReplayProgress&)>& progress) {
  if (Status s = CheckOptions(shared, queue, options); !s.ok()) return s;
  std::unique_ptr<Target> target;
  if (!options.dry_run) {
    auto opened = queue.settings->OpenBulkWriter(shared, queue);
    if (!opened.ok()) return opened.status();
    target = std::move(opened).value();
  }
  return Replay(shared, queue, options, target.get(), progress);
}

Result<ReplayResult> Replay(const config::Config& shared, const queue::QueueConfig& queue,
                            const ReplayOptions& options, queue::BulkWriter* target,
                            const std::function<void(const ReplayProgress&)>& progress) {
  if (!target && !options.dry_run) return Status::Internal("replay: no queue to replay into");
  std::vector<std::string> sites;
  std::vector<queue::SiteId> chosen;
  for (const auto& site : shared.sites) sites.push_back(site.name);
  if (Status s = CheckOptions(shared, queue, options); !s.ok()) return s;
  for (std::size_t i = 0; i < shared.sites.size(); ++i)
    if (options.site.empty() || options.site == shared.sites[i].name) chosen.push_back(i);
  // The queue's Redis, when its type is redis: the target and the dead-letter streams.
  const queue::redis::RedisConfig* redis_config = queue::redis::RedisConfigOf(queue);
  const bool redis = redis_config != nullptr;

  ReplayResult result;
  if (options.corrupt) {
    const std::string own = shared.data_dir + "/spool";
    const std::string dir = options.spool_dir.empty() ? own : options.spool_dir;
    std::error_code ec;
    const bool dir_is_target = !redis && std::filesystem::equivalent(dir, own, ec);
    Status s = ReplayCorrupt(queue, sites, chosen, dir, dir_is_target, target, options.dry_run,
                             result, progress);
    if (!s.ok()) return s;
    return result;
  }
  if (!options.spool_dir.empty()) {
    Status s = ReplaySpool(queue, sites, chosen, options.spool_dir, target, options.dry_run, result,
                           progress);
    if (!s.ok()) return s;
    return result;
  }
  for (queue::SiteId site : chosen) {
    Status s;
    if (redis) {
      s = ReplayStream(*redis_config, sites[site], site, target, options, result, progress);
    } else {
      s = ReplayFile(shared.data_dir + "/deadletter", site, sites[site], target, options, result,
                     progress);
    }
    if (!s.ok()) return s;
  }
  return result;
}

}  // namespace oceanus::load
