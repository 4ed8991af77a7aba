// Redis Streams queue: writer (pipelined XADD with spool fallback), reader (consumer groups,
// claiming, dead-letter, trimming) and forwarder. See redis_queue.h for the shape.
#include "queue/redis/redis_queue.h"

#include "util/log.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <utility>

namespace oceanus::queue::redis {
namespace {

using Clock = std::chrono::steady_clock;

// Completes a handler on its I/O thread.
class PostToOwner : public AppendHandler {
 public:
  PostToOwner(std::function<void(std::function<void()>)> post, std::shared_ptr<AppendHandler> done)
      : post_(std::move(post)), done_(std::move(done)) {}
  void Appended(Status s) override {
    post_([done = std::move(done_), s] { done->Appended(s); });
  }

 private:
  std::function<void(std::function<void()>)> post_;
  std::shared_ptr<AppendHandler> done_;
};

// "1700000000000-5" → (ms, seq); false when it is not a stream id.
bool ParseId(std::string_view id, std::pair<std::uint64_t, std::uint64_t>& out) {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos) return false;
  auto a = std::from_chars(id.data(), id.data() + dash, out.first);
  auto b = std::from_chars(id.data() + dash + 1, id.data() + id.size(), out.second);
  return a.ec == std::errc() && b.ec == std::errc();
}

std::string FormatId(std::pair<std::uint64_t, std::uint64_t> id) {
  return std::to_string(id.first) + "-" + std::to_string(id.second);
}

// `first`, then doubling, at most 5 s.
std::chrono::milliseconds NextBackoff(std::chrono::milliseconds current,
                                      std::chrono::milliseconds first) {
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(5),
                                             current.count() == 0 ? first : current * 2);
}

// The events of stream entry `e` ([id, [field, value, ...]]), one "d" field each, appended
// to `out`. Each event's id is the entry's for its last event and "<entry id>/<index>" for
// the others, so that acknowledging an event before the last acknowledges no entry yet. An
// entry without a "d" field gives one event with an empty payload: the loader's parse fails
// and it goes to the dead-letter with that reason. Returns the events appended.
std::size_t AppendEvents(const redisReply* e, std::deque<Entry>& out) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) return 0;
  const std::string_view id = ReplyString(e->element[0]);
  std::pair<std::uint64_t, std::uint64_t> parsed{0, 0};  // an id's first part is XADD's ms time
  const auto appended_ms = ParseId(id, parsed) ? static_cast<std::int64_t>(parsed.first) : 0;
  const redisReply* fields = e->element[1];
  const bool listed = fields != nullptr && fields->type == REDIS_REPLY_ARRAY;
  auto is_event = [&](std::size_t i) { return ReplyString(fields->element[i]) == "d"; };
  std::size_t events = 0;
  for (std::size_t i = 0; listed && i + 1 < fields->elements; i += 2) events += is_event(i);
  if (events == 0) {
    out.push_back({std::string(id), std::string(), appended_ms});
    return 1;
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    if (!is_event(i)) continue;
    std::string event_id(id);
    if (++n < events) event_id += "/" + std::to_string(n - 1);
    out.push_back(
        {std::move(event_id), std::string(ReplyString(fields->element[i + 1])), appended_ms});
  }
  return events;
}

bool IsWholeEntry(std::string_view event_id) {
  return event_id.find('/') == std::string_view::npos;
}

}  // namespace

std::string StreamKey(const RedisConfig& config, const std::string& site) {
  return config.prefix + site;
}
std::string DeadLetterKey(const RedisConfig& config, const std::string& site) {
  return config.prefix + site + ":dead";
}

// ---------------------------------------------------------------------------------------
// RedisWriter

RedisWriter::RedisWriter(const config::Config& shared, const RedisConfig& redis,
                         SpoolBacklog& backlog,
                         std::function<void(std::function<void()>)> post_back)
    : shared_(shared), redis_(redis), backlog_(backlog), post_back_(std::move(post_back)) {
  for (const auto& site : shared.sites) keys_.push_back(StreamKey(redis, site.name));
}

Result<std::unique_ptr<RedisWriter>> RedisWriter::Create(
    const config::Config& shared, const RedisConfig& redis, queue::Spool& spool, unsigned writer_id,
    std::function<void(std::function<void()>)> run_blocking, SpoolBacklog& backlog,
    std::function<void(std::function<void()>)> post_back) {
  std::unique_ptr<RedisWriter> w(new RedisWriter(shared, redis, backlog, std::move(post_back)));
  Spool::Executors executors;
  executors.run_blocking = std::move(run_blocking);
  RedisWriter* raw = w.get();
  executors.post_back = [raw](std::function<void()> job) { raw->RunOnSender(std::move(job)); };
  auto fallback = spool.MakeWriter(writer_id, std::move(executors));
  if (!fallback.ok()) return fallback.status();
  w->fallback_ = std::move(fallback).value();
  w->sender_ = std::thread([raw] { raw->Loop(); });
  return w;
}

RedisWriter::~RedisWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (sender_.joinable()) sender_.join();
}

void RedisWriter::Append(SiteId site, std::string_view record,
                         std::shared_ptr<AppendHandler> done) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = items_.empty();
    items_.push_back({site, std::string(record), std::move(done)});
  }
  // Items already waiting mean the sender has been woken for them and has not yet taken them.
  if (first) cv_.notify_one();
}

void RedisWriter::RunOnSender(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void RedisWriter::Loop() {
  std::vector<Item> items;
  std::vector<std::function<void()>> jobs;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !items_.empty() || !jobs_.empty(); });
      items.swap(items_);
      jobs.swap(jobs_);
      if (stopping_ && items.empty() && jobs.empty()) break;
    }
    for (auto& job : jobs) job();
    jobs.clear();
    // Everything that arrived while the last batch was in flight goes in one pipeline.
    if (!items.empty()) Send(items);
    items.clear();
  }
}

bool RedisWriter::EnsureConnected() {
  if (conn_ && !conn_->broken()) return true;
  const auto now = Clock::now();
  if (now < next_connect_) return false;
  auto c = RedisConnection::Connect(redis_);
  if (!c.ok()) {
    conn_.reset();
    backoff_ = NextBackoff(backoff_, std::chrono::milliseconds(100));
    next_connect_ = now + backoff_;
    if (!reported_down_) {
      spdlog::warn("{}; events go to the local spool until Redis is back", c.status().message());
      reported_down_ = true;
    }
    return false;
  }
  conn_ = std::move(c).value();
  backoff_ = std::chrono::milliseconds(0);
  if (reported_down_) spdlog::info("redis {} reachable again", conn_->address());
  reported_down_ = false;
  return true;
}

void RedisWriter::SpoolItem(Item& item) {
  // The flag is set under the site's lock before the append, so the forwarder (which clears
  // it under the same lock after finding the spool empty) can never miss this event.
  std::lock_guard lock(backlog_.Lock(item.site));
  backlog_.Set(item.site, true);
  fallback_->Append(item.site, item.record,
                    std::make_shared<PostToOwner>(post_back_, std::move(item.done)));
}

std::vector<RedisWriter::Packed> RedisWriter::Pack(const std::vector<Item*>& direct) const {
  std::vector<Packed> entries;
  std::vector<std::size_t> open(keys_.size(), static_cast<std::size_t>(-1));  // site → entry
  for (Item* item : direct) {
    std::size_t& at = open[item->site];
    if (at == static_cast<std::size_t>(-1) || entries[at].items.size() >= kMaxEventsPerEntry ||
        entries[at].bytes + item->record.size() > kMaxEntryBytes) {
      at = entries.size();
      entries.push_back({item->site, {}, 0});
    }
    entries[at].items.push_back(item);
    entries[at].bytes += item->record.size();
  }
  return entries;
}

void RedisWriter::Send(std::vector<Item>& items) {
  std::vector<Item*> direct;
  direct.reserve(items.size());
  for (auto& item : items) {
    if (backlog_.Has(item.site)) {
      SpoolItem(item);  // keep the order: this site's older events are still in the spool
    } else {
      direct.push_back(&item);
    }
  }
  if (direct.empty()) return;
  if (!EnsureConnected()) {
    for (Item* item : direct) SpoolItem(*item);
    return;
  }
  const bool publish = redis_.publish;
  const std::vector<Packed> entries = Pack(direct);
  std::vector<std::string_view> args;
  for (const Packed& entry : entries) {
    args.assign({"XADD", keys_[entry.site], "*"});
    for (const Item* item : entry.items) args.insert(args.end(), {"d", item->record});
    conn_->Append(args);
    if (publish)
      for (const Item* item : entry.items)
        conn_->Append({"PUBLISH", shared_.sites[item->site].name, item->record});
  }
  // The stored events are answered with one job posted to the I/O thread, not one each.
  std::vector<std::shared_ptr<AppendHandler>> stored;
  stored.reserve(direct.size());
  const auto answer_stored = [&] {
    if (stored.empty()) return;
    post_back_([answered = std::move(stored)] {
      for (const auto& done : answered) done->Appended(Status::Ok());
    });
    stored.clear();
  };
  std::size_t i = 0;
  for (; i < entries.size(); ++i) {
    auto added = conn_->Next();
    for (std::size_t k = 0; publish && added.ok() && k < entries[i].items.size(); ++k) {
      auto published = conn_->Next();
      if (!published.ok() && conn_->broken()) added = published.status();
    }
    if (added.ok()) {
      for (Item* item : entries[i].items) stored.push_back(std::move(item->done));
      continue;
    }
    if (conn_->broken()) break;  // no more replies can be read: spool the rest below
    answer_stored();             // before the spool's answers for this entry, in order
    spdlog::error("redis refused {} event(s) for {}: {}; spooled", entries[i].items.size(),
                  shared_.sites[entries[i].site].name, added.status().message());
    for (Item* item : entries[i].items) SpoolItem(*item);
  }
  answer_stored();
  if (i < entries.size()) {
    std::size_t left = 0;
    for (std::size_t k = i; k < entries.size(); ++k) left += entries[k].items.size();
    spdlog::warn("redis {} failed mid-pipeline; {} event(s) go to the local spool",
                 conn_->address(), left);
    // Some of these may have reached Redis: a repeat is harmless (sinks are idempotent by eid).
    for (; i < entries.size(); ++i)
      for (Item* item : entries[i].items) SpoolItem(*item);
  }
}

// ---------------------------------------------------------------------------------------
// RedisReader

RedisReader::RedisReader(const config::Config& shared, const QueueConfig& queue,
                         const RedisConfig& redis, SiteId site, std::string group,
                         std::string consumer, ReaderOptions options)
    : queue_(queue),
      redis_(redis),
      site_name_(shared.sites[site].name),
      key_(StreamKey(redis, site_name_)),
      dead_key_(DeadLetterKey(redis, site_name_)),
      group_(std::move(group)),
      consumer_(std::move(consumer)),
      read_ahead_(options.read_ahead) {}

Status RedisReader::EnsureReady() {
  if (conn_ && !conn_->broken() && groups_ready_) return Status::Ok();
  if (!conn_ || conn_->broken()) {
    const auto now = Clock::now();
    if (now < next_connect_) return Status::Unavailable("redis: waiting before reconnecting");
    auto c = RedisConnection::Connect(redis_);
    if (!c.ok()) {
      next_connect_ = now + std::chrono::seconds(1);
      return c.status();
    }
    conn_ = std::move(c).value();
    // A read sent ahead on the old connection is lost with it; its entries are pending for
    // this consumer and ClaimIdle takes them back after claim_idle.
    ahead_in_flight_ = false;
  }
  // Every configured group exists from the start, so that trimming waits for all of them
  // even before their first reader has connected.
  for (const auto& g : queue_.groups) {
    auto r = conn_->Command({"XGROUP", "CREATE", key_, g, "0", "MKSTREAM"});
    if (!r.ok() && r.status().message().find("BUSYGROUP") == std::string::npos) return r.status();
  }
  groups_ready_ = true;
  return Status::Ok();
}

void RedisReader::Received(const redisReply* streams, const Asked& asked, bool send_ahead) {
  const redisReply* entries = nullptr;
  if (streams->type == REDIS_REPLY_ARRAY && streams->elements > 0 &&
      streams->element[0]->elements >= 2)
    entries = streams->element[0]->element[1];
  if (entries == nullptr || entries->type != REDIS_REPLY_ARRAY) return;
  more_likely_ = entries->elements > 0 && entries->elements == asked.entries;
  if (more_likely_) {
    std::size_t fields = 0;
    for (std::size_t i = 0; i < entries->elements; ++i)
      if (entries->element[i]->elements >= 2) fields += entries->element[i]->element[1]->elements;
    events_per_entry_ = std::max<std::size_t>(1, fields / 2 / entries->elements);
    if (send_ahead) SendAhead(asked.events);
  }
  for (std::size_t i = 0; i < entries->elements; ++i) AppendEvents(entries->element[i], fetched_);
}

std::size_t RedisReader::EntriesFor(std::size_t events) const {
  return std::clamp<std::size_t>(events / events_per_entry_, 1, kMaxEntriesPerRead);
}

void RedisReader::SendAhead(std::size_t events) {
  if (!read_ahead_ || ahead_in_flight_ || conn_->broken()) return;
  const Asked asked{EntriesFor(events), events};
  const std::string n = std::to_string(asked.entries);
  conn_->Append({"XREADGROUP", "GROUP", group_, consumer_, "COUNT", n, "STREAMS", key_, ">"});
  if (Status sent = conn_->Flush(); !sent.ok()) {
    spdlog::warn("site {}: XREADGROUP (ahead): {}", site_name_, sent.message());
    return;
  }
  ahead_in_flight_ = true;
  ahead_ = asked;
}

void RedisReader::CollectAhead(bool send_ahead) {
  if (!ahead_in_flight_) return;
  ahead_in_flight_ = false;
  auto r = conn_->Next();
  if (!r.ok()) {
    if (r.status().message().find("NOGROUP") != std::string::npos) groups_ready_ = false;
    spdlog::warn("site {}: XREADGROUP (ahead): {}", site_name_, r.status().message());
    return;
  }
  Received(r->get(), ahead_, send_ahead);
}

void RedisReader::TakeFetched(std::size_t max_entries, std::vector<Entry>& out) {
  while (out.size() < max_entries && !fetched_.empty()) {
    out.push_back(std::move(fetched_.front()));
    fetched_.pop_front();
  }
}

Status RedisReader::ClaimIdle(std::size_t max_entries) {
  const std::string idle = std::to_string(redis_.claim_idle.count());
  const std::string count = std::to_string(EntriesFor(max_entries));
  auto claimed =
      conn_->Command({"XAUTOCLAIM", key_, group_, consumer_, idle, "0-0", "COUNT", count});
  if (!claimed.ok()) return claimed.status();
  const redisReply* r = claimed->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) return Status::Ok();
  const redisReply* entries = r->element[1];
  if (entries->elements == 0) return Status::Ok();
  // How often was each delivered? (XAUTOCLAIM counted this delivery too.)
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const std::string_view id = ReplyString(entries->element[i]->element[0]);
    conn_->Append({"XPENDING", key_, group_, id, id, "1"});
  }
  // Every pipelined reply is read before any other command is sent: a command sent with
  // replies still unread would take one of those as its own answer.
  std::vector<long long> deliveries(entries->elements, 0);
  Status unread;
  for (std::size_t i = 0; i < entries->elements; ++i) {
    auto pending = conn_->Next();
    if (!pending.ok()) {
      if (unread.ok()) unread = pending.status();
      if (conn_->broken()) return unread;
      continue;
    }
    const redisReply* p = pending->get();
    if (p->type == REDIS_REPLY_ARRAY && p->elements == 1 && p->element[0]->elements >= 4)
      deliveries[i] = p->element[0]->element[3]->integer;
  }
  if (!unread.ok()) return unread;  // the claimed entries stay pending and are claimed again
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    const std::string id(ReplyString(e->element[0]));
    if (deliveries[i] > static_cast<long long>(redis_.max_deliveries)) {
      Status moved = MoveToDeadLetter(e, deliveries[i]);
      if (!moved.ok()) return moved;
      continue;
    }
    AppendEvents(e, fetched_);
  }
  return Status::Ok();
}

Status RedisReader::MoveToDeadLetter(const redisReply* entry, long long deliveries) {
  const std::string id(ReplyString(entry->element[0]));
  const std::string reason = "delivered " + std::to_string(deliveries) + " times to group " +
                             group_ + " without being acknowledged";
  std::deque<Entry> events;
  AppendEvents(entry, events);
  // One dead-letter entry per event, as the loader writes them. Should Redis fail between
  // them, the entry stays pending and is moved again: the dead-letter then holds some events
  // twice, which a replay stores once (by eid).
  for (const Entry& event : events) {
    auto added =
        conn_->Command({"XADD", dead_key_, "*", "d", event.payload, "reason", reason, "id", id});
    if (!added.ok()) return added.status();
  }
  auto acked = conn_->Command({"XACK", key_, group_, id});
  if (!acked.ok()) return acked.status();
  spdlog::warn("site {}: entry {} ({} event(s)) {}; moved to {}", site_name_, id, events.size(),
               reason, dead_key_);
  return Status::Ok();
}

Result<std::vector<Entry>> RedisReader::Read(std::size_t max_entries, std::size_t,
                                             std::chrono::milliseconds wait) {
  std::vector<Entry> out;
  if (Status ready = EnsureReady(); !ready.ok()) {
    if (!reported_down_) spdlog::warn("site {}: {}; retrying", site_name_, ready.message());
    reported_down_ = true;
    if (fetched_.empty())
      std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(200)));
  } else {
    if (reported_down_) spdlog::info("site {}: redis reachable again", site_name_);
    reported_down_ = false;
    TrimIfDue();  // the last acknowledgement may have come too soon after the previous trim
    CollectAhead(/*send_ahead=*/true);
    ReadFromRedis(max_entries, wait, out);
  }
  TakeFetched(max_entries, out);  // entries delivered before a connection was lost are ours
  // An acknowledgement in between collected the read sent ahead without sending another.
  if (more_likely_ && fetched_.size() < max_entries && conn_ && !conn_->broken())
    SendAhead(max_entries);
  for (const Entry& e : out) delivered_.push_back(e.id);
  return out;
}

void RedisReader::ReadFromRedis(std::size_t max_entries, std::chrono::milliseconds wait,
                                std::vector<Entry>& out) {
  // Entries fetched ahead go first. Idle ones are claimed only when none are held here (held
  // entries age too, and XAUTOCLAIM would deliver them to this consumer a second time) and
  // no reply is outstanding.
  const auto now = Clock::now();
  if (fetched_.empty() && !ahead_in_flight_ && now >= next_claim_) {
    next_claim_ =
        now + std::max<std::chrono::milliseconds>(std::chrono::seconds(1), redis_.claim_idle / 2);
    Status s = ClaimIdle(max_entries);
    if (!s.ok()) {
      spdlog::warn("site {}: claiming idle entries: {}", site_name_, s.message());
      if (conn_->broken()) return;
    }
  }
  TakeFetched(max_entries, out);
  if (out.size() >= max_entries || ahead_in_flight_) return;
  // BLOCK must end before the command timeout, or hiredis gives up on the connection.
  const auto limit = redis_.command_timeout / 2;
  const auto block = out.empty() ? std::min(wait, limit) : std::chrono::milliseconds(0);
  const Asked asked{EntriesFor(max_entries - out.size()), max_entries - out.size()};
  std::vector<std::string> args = {"XREADGROUP", "GROUP", group_,
                                   consumer_,    "COUNT", std::to_string(asked.entries)};
  if (block.count() > 0) {
    args.push_back("BLOCK");
    args.push_back(std::to_string(block.count()));
  }
  args.insert(args.end(), {"STREAMS", key_, ">"});
  std::vector<std::string_view> views(args.begin(), args.end());
  auto r = conn_->Command(views);
  if (!r.ok()) {
    if (r.status().message().find("NOGROUP") != std::string::npos) groups_ready_ = false;
    spdlog::warn("site {}: XREADGROUP: {}", site_name_, r.status().message());
    return;
  }
  Received(r->get(), asked, /*send_ahead=*/true);
}

Status RedisReader::Ack(const std::string& last_id) {
  CollectAhead(/*send_ahead=*/false);  // XACK follows, and must get its own reply
  auto it = std::find(delivered_.begin(), delivered_.end(), last_id);
  if (it == delivered_.end())
    return Status::InvalidArgument("entry " + last_id + " was not delivered or is acknowledged");
  std::vector<std::string_view> args = {"XACK", key_, group_};
  for (auto i = delivered_.begin(); i != it + 1; ++i)
    if (IsWholeEntry(*i)) args.push_back(*i);  // the entry's last event: all of it is stored
  if (args.size() > 3) {
    // A connection Redis dropped after the read is opened again here: the loader retries a
    // failed acknowledgement without reading (its batch is full), so nothing else would, and
    // the entries stay pending for this consumer name on the new connection.
    if (Status ready = EnsureReady(); !ready.ok()) return ready;
    auto r = conn_->Command(args);
    if (!r.ok()) return r.status();
  }
  delivered_.erase(delivered_.begin(), it + 1);
  trim_owed_ = true;
  TrimIfDue();
  return Status::Ok();
}

void RedisReader::TrimIfDue() {
  const auto now = Clock::now();
  if (!trim_owed_ || now < next_trim_) return;
  next_trim_ = now + redis_.trim_every;
  trim_owed_ = false;
  auto trimmed = Trim();
  if (!trimmed.ok()) spdlog::warn("site {}: trimming: {}", site_name_, trimmed.status().message());
}

namespace {

// KEYS[1] the stream; ARGV group, consumer. Resets the idle time of the consumer's pending
// entries (XCLAIM to itself with min-idle 0, JUSTID), in chunks that unpack can take.
constexpr const char* kKeepHeld = R"lua(
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100000, ARGV[2])
local kept = 0
for i = 1, #pending, 500 do
  local args = {'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0}
  for j = i, math.min(i + 499, #pending) do args[#args + 1] = pending[j][1] end
  args[#args + 1] = 'JUSTID'
  kept = kept + #redis.call(unpack(args))
end
return kept
)lua";

}  // namespace

Status RedisReader::KeepHeld() {
  const auto now = Clock::now();
  if (now < next_keep_ || (delivered_.empty() && fetched_.empty() && !ahead_in_flight_))
    return Status::Ok();
  next_keep_ = now + std::max<std::chrono::milliseconds>(std::chrono::milliseconds(100),
                                                         redis_.claim_idle / 3);
  CollectAhead(/*send_ahead=*/false);  // the script must get its own reply
  if (Status ready = EnsureReady(); !ready.ok()) return ready;
  auto r = conn_->Command({"EVAL", kKeepHeld, "1", key_, group_, consumer_});
  return r.ok() ? Status::Ok() : r.status();
}

Result<long long> RedisReader::Trim() {
  CollectAhead(/*send_ahead=*/false);
  Status ready = EnsureReady();
  if (!ready.ok()) return ready;
  auto info = conn_->Command({"XINFO", "GROUPS", key_});
  if (!info.ok()) return info.status();
  std::optional<std::pair<std::uint64_t, std::uint64_t>> min_needed;
  std::size_t found = 0;
  const redisReply* groups = info->get();
  for (std::size_t g = 0; g < groups->elements; ++g) {
    const redisReply* fields = groups->element[g];
    std::string name;
    long long pending = 0;
    std::string last_delivered;
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
      const auto key = ReplyString(fields->element[i]);
      if (key == "name") name = ReplyString(fields->element[i + 1]);
      if (key == "pending") pending = fields->element[i + 1]->integer;
      if (key == "last-delivered-id") last_delivered = ReplyString(fields->element[i + 1]);
    }
    if (std::find(queue_.groups.begin(), queue_.groups.end(), name) == queue_.groups.end())
      continue;
    ++found;
    std::pair<std::uint64_t, std::uint64_t> needed;
    if (pending > 0) {
      auto summary = conn_->Command({"XPENDING", key_, name});
      if (!summary.ok()) return summary.status();
      if (!ParseId(ReplyString(summary->get()->element[1]), needed))
        return Status::Internal("bad XPENDING reply");
    } else {
      if (!ParseId(last_delivered, needed)) return Status::Internal("bad last-delivered-id");
      ++needed.second;  // everything up to last-delivered is done
    }
    if (!min_needed || needed < *min_needed) min_needed = needed;
  }
  // A configured group that does not exist yet would read from the start: keep everything.
  if (found < queue_.groups.size() || !min_needed) return 0LL;
  const std::string min_id = FormatId(*min_needed);
  auto trimmed = conn_->Command({"XTRIM", key_, "MINID", min_id});
  if (!trimmed.ok()) return trimmed.status();
  return trimmed->get()->integer;
}

// ---------------------------------------------------------------------------------------
// Forwarder

Forwarder::Forwarder(const config::Config& shared, const RedisConfig& redis, Spool& spool,
                     SpoolBacklog& backlog)
    : shared_(shared),
      redis_(redis),
      spool_(spool),
      backlog_(backlog),
      drained_(shared.sites.size(), 0) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::BackOff() {
  backoff_ = NextBackoff(backoff_, std::chrono::milliseconds(50));
  next_attempt_ = Clock::now() + backoff_;
}

bool Forwarder::Connect() {
  if (conn_ && !conn_->broken()) return true;
  conn_.reset();
  ++connects_;
  auto c = RedisConnection::Connect(redis_);
  if (!c.ok()) {
    if (c.status().message() != last_failure_)
      spdlog::warn("spool forwarder: {}; retrying", c.status().message());
    last_failure_ = c.status().message();
    BackOff();
    return false;
  }
  conn_ = std::move(c).value();
  return true;
}

Result<Reply> Forwarder::Await() {
  constexpr std::chrono::milliseconds kSlice{100};  // how often a wait looks at stop_
  const auto started = Clock::now();
  std::optional<Clock::time_point> give_up;
  while (true) {
    auto r = conn_->NextWithin(kSlice);
    if (r.ok() || conn_->broken() || r.status().code() != Status::Code::kUnavailable) {
      if (reported_slow_ && !conn_->broken())
        spdlog::info("redis {} answers again", conn_->address());
      reported_slow_ = false;
      return r;
    }
    const auto now = Clock::now();
    if (!reported_slow_ && now - started >= redis_.command_timeout) {
      spdlog::warn(
          "redis {} has not answered for {} ms; waiting for the replies to the events already "
          "sent instead of sending them again",
          conn_->address(),
          std::chrono::duration_cast<std::chrono::milliseconds>(now - started).count());
      reported_slow_ = true;
    }
    if (!stop_.load()) continue;
    if (!give_up) give_up = now + redis_.command_timeout;
    if (now >= *give_up) return r;
  }
}

Status Forwarder::AwaitEntry() {
  auto added = Await();
  const bool answered = added.ok() || added.status().code() == Status::Code::kInvalidArgument;
  if (answered && redis_.publish) {
    auto published = Await();
    if (!published.ok() && added.ok()) return published.status();
  }
  return added.ok() ? Status::Ok() : added.status();
}

bool Forwarder::ReadAgainOrClear(SiteId site, QueueReader& reader, std::vector<Entry>& entries) {
  // Clear the flag only under the lock writers take to spool, after one more look.
  std::lock_guard lock(backlog_.Lock(site));
  auto again = reader.Read(500, 4 << 20, std::chrono::milliseconds(0));
  if (!again.ok()) return false;
  if (again->empty()) {
    if (backlog_.Has(site) && drained_[site] > 0)
      spdlog::info(
          "site {}: {} spooled event(s) forwarded to Redis; writing to Redis directly "
          "again",
          shared_.sites[site].name, drained_[site]);
    drained_[site] = 0;
    backlog_.Set(site, false);
    return false;
  }
  entries = std::move(again).value();
  return true;
}

Forwarder::Outcome Forwarder::ForwardSite(SiteId site, QueueReader& reader) {
  if (Clock::now() < next_attempt_) return Outcome::kIdle;
  auto read = reader.Read(500, 4 << 20, std::chrono::milliseconds(0));
  if (!read.ok()) return Outcome::kIdle;
  std::vector<Entry> entries = std::move(read).value();
  const std::string& name = shared_.sites[site].name;
  if (entries.empty() && !ReadAgainOrClear(site, reader, entries)) return Outcome::kIdle;
  if (!Connect()) return Outcome::kRetry;  // the entries are read again after the reopen
  const std::string key = StreamKey(redis_, name);
  for (const auto& e : entries) {
    conn_->Append({"XADD", key, "*", "d", e.payload});
    if (redis_.publish) conn_->Append({"PUBLISH", name, e.payload});
  }
  ++batches_;
  // Every reply is read, also after an error reply (LOADING while a restarted Redis reads its
  // AOF, OOM, ...), so that the connection stays in step; only the entries before the first
  // failure are acknowledged, to keep the stream in spool order.
  std::size_t done = 0;
  Status failed;
  bool unusable = false;  // broken, or given up at stop with replies unread
  for (std::size_t i = 0; i < entries.size() && !unusable; ++i) {
    Status s = AwaitEntry();
    if (!s.ok() && failed.ok()) failed = s;
    if (failed.ok()) ++done;
    unusable = conn_->broken() || s.code() == Status::Code::kUnavailable;
  }
  if (done > 0) {
    Status acked = reader.Ack(entries[done - 1].id);
    if (!acked.ok()) spdlog::error("spool forward ack: {}", acked.ToString());
    forwarded_ += done;
    drained_[site] += done;
  }
  if (done == entries.size()) {
    backoff_ = std::chrono::milliseconds(0);
    last_failure_.clear();
    return Outcome::kForwarded;
  }
  if (failed.message() != last_failure_)
    spdlog::warn("site {}: spool forwarding stopped after {} of {} event(s): {}; retrying", name,
                 done, entries.size(), failed.message());
  last_failure_ = failed.message();
  if (unusable) conn_.reset();
  BackOff();
  return Outcome::kRetry;
}

void Forwarder::Start() {
  thread_ = std::thread([this] {
    std::vector<std::unique_ptr<QueueReader>> readers(shared_.sites.size());
    auto open = [&](SiteId site) {
      readers[site].reset();  // one reader per (site, group) at a time
      auto r = spool_.OpenReader(site, "forward");
      if (r.ok())
        readers[site] = std::move(r).value();
      else
        spdlog::error("spool forwarder: {}", r.status().ToString());
    };
    for (SiteId s = 0; s < readers.size(); ++s) open(s);
    auto pass = [&] {
      bool progressed = false;
      for (SiteId s = 0; s < readers.size(); ++s) {
        if (!readers[s]) continue;
        switch (ForwardSite(s, *readers[s])) {
          case Outcome::kForwarded:
            progressed = true;
            break;
          case Outcome::kRetry:
            open(s);  // read again from the last acknowledgement
            break;
          case Outcome::kIdle:
            break;
        }
      }
      return progressed;
    };
    while (!stop_.load()) {
      if (!pass()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Only while Redis answers: a batch sent now to a Redis that does not would stay
    // unacknowledged here and be sent again by the next start.
    if (backoff_.count() == 0) pass();
  });
}

void Forwarder::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace oceanus::queue::redis
