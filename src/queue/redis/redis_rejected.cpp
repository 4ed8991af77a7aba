// RedisRejectedStore; see redis_rejected.h. One pipeline per batch: the XADDs, then per site
// of the batch an XTRIM by count and one by age.
#include "queue/redis/redis_rejected.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace oceanus::queue::redis {
namespace {

using oceanus::redis::ReplyString;

std::int64_t ToInt(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// An entry's fields into a Rejection of `site`.
Rejection FromFields(const redisReply* fields, const std::string& site) {
  Rejection r;
  r.site = site;
  for (std::size_t k = 0; k + 1 < fields->elements; k += 2) {
    const std::string_view name = ReplyString(fields->element[k]);
    const std::string_view value = ReplyString(fields->element[k + 1]);
    if (name == "at") r.at_micros = ToInt(value);
    if (name == "kind") r.kind = value;
    if (name == "reason") r.reason = value;
    if (name == "status") r.status = static_cast<int>(ToInt(value));
    if (name == "detail") r.detail = value;
    if (name == "payload") r.payload = value;
  }
  return r;
}

}  // namespace

std::string RedisRejectedStore::Key(const std::string& site) const {
  return config_.prefix + site + ":rejected";
}

Result<std::uint64_t> RedisRejectedStore::Add(std::span<const Rejection> batch) {
  if (!writer_ || writer_->broken()) {
    auto c = oceanus::redis::RedisConnection::Connect(config_);
    if (!c.ok()) return c.status();
    writer_ = std::move(c).value();
  }
  std::set<std::string> sites;
  for (const auto& r : batch) {
    const std::string at = std::to_string(r.at_micros), status = std::to_string(r.status);
    writer_->Append({"XADD", Key(r.site), "*", "at", at, "kind", r.kind, "reason", r.reason,
                     "status", status, "detail", r.detail, "payload", r.payload});
    sites.insert(r.site);
  }
  const std::string max = std::to_string(bound_.max_per_site);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string min_id = std::to_string(now_ms - bound_.max_age.count());
  for (const auto& site : sites) {
    writer_->Append({"XTRIM", Key(site), "MAXLEN", max});
    writer_->Append({"XTRIM", Key(site), "MINID", min_id});
  }
  Status result;
  std::uint64_t dropped = 0;
  for (std::size_t i = 0; i < batch.size() + 2 * sites.size(); ++i) {
    auto r = writer_->Next();
    if (!r.ok()) {
      if (result.ok()) result = r.status();
      if (writer_->broken()) break;
      continue;
    }
    if (i >= batch.size() && (*r)->type == REDIS_REPLY_INTEGER)
      dropped += static_cast<std::uint64_t>((*r)->integer);
  }
  if (!result.ok()) return result;
  return dropped;
}

template <class Visit>
Status RedisRejectedStore::Scan(oceanus::redis::RedisConnection& conn, const std::string& site,
                                Visit&& visit) const {
  for (std::string end = "+";;) {
    auto range = conn.Command({"XREVRANGE", Key(site), end, "-", "COUNT", "500"});
    if (!range.ok()) return range.status();
    const redisReply* entries = range->get();
    if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0) return Status::Ok();
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
      if (!visit(ReplyString(e->element[0]), FromFields(e->element[1], site))) return Status::Ok();
    }
    end = "(" + std::string(ReplyString(entries->element[entries->elements - 1]->element[0]));
  }
}

Result<std::vector<Rejection>> RedisRejectedStore::List(const RejectedQuery& query) {
  auto conn = oceanus::redis::RedisConnection::Connect(config_);
  if (!conn.ok()) return conn.status();
  std::vector<Rejection> out;
  for (const auto& site : sites_) {
    if (!query.site.empty() && site != query.site) continue;
    std::size_t taken = 0;
    Status s = Scan(**conn, site, [&](std::string_view, Rejection r) {
      if (r.at_micros < query.since_micros) return false;  // older ones follow
      if (r.at_micros >= query.until_micros) return true;
      if (!query.kind.empty() && r.kind != query.kind) return true;
      if (!query.reason.empty() && r.reason != query.reason) return true;
      out.push_back(std::move(r));
      return ++taken < query.limit;
    });
    if (!s.ok()) return s;
  }
  std::stable_sort(out.begin(), out.end(), [](const Rejection& a, const Rejection& b) {
    return a.at_micros > b.at_micros;
  });
  if (out.size() > query.limit) out.resize(query.limit);
  return out;
}

Result<RejectedCounts> RedisRejectedStore::Count() {
  auto conn = oceanus::redis::RedisConnection::Connect(config_);
  if (!conn.ok()) return conn.status();
  RejectedCounts out;
  for (const auto& site : sites_) {
    Status s = Scan(**conn, site, [&](std::string_view, const Rejection& r) {
      ++out[{r.site, r.kind, r.reason}];
      return true;
    });
    if (!s.ok()) return s;
  }
  return out;
}

Result<long long> RedisRejectedStore::Erase(const std::string& site, const TextMatcher& matches,
                                            bool count_only) {
  auto conn = oceanus::redis::RedisConnection::Connect(config_);
  if (!conn.ok()) return conn.status();
  std::vector<std::string> ids;
  Status s = Scan(**conn, site, [&](std::string_view id, const Rejection& r) {
    if (matches(r.payload) || matches(r.detail)) ids.emplace_back(id);
    return true;
  });
  if (!s.ok()) return s;
  if (count_only || ids.empty()) return static_cast<long long>(ids.size());
  const std::string key = Key(site);
  std::vector<std::string_view> del{"XDEL", key};
  for (const auto& id : ids) del.push_back(id);
  if (auto deleted = (*conn)->Command(del); !deleted.ok()) return deleted.status();
  return static_cast<long long>(ids.size());
}

}  // namespace oceanus::queue::redis
