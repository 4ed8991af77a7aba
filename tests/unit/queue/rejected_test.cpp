// The rejected-events store of the spool (SQLite), the recorder in front of it, the request
// redaction, and the erasure matcher.
#include "queue/rejected.h"

#include <gtest/gtest.h>

#include "load/erasure.h"
#include "queue/spool/sqlite_rejected.h"
#include "temp_dir.h"
#include "util/time.h"

namespace oceanus::queue {
namespace {

Rejection Entry(std::string site, std::int64_t at, std::string reason = "invalid",
                std::string payload = "GET /swallow/x HTTP/1.1") {
  Rejection r;
  r.at_micros = at;
  r.site = std::move(site);
  r.kind = "request";
  r.reason = std::move(reason);
  r.status = 400;
  r.detail = "sid: required\n";
  r.payload = std::move(payload);
  return r;
}

std::int64_t Now() { return MicrosSinceEpoch(std::chrono::system_clock::now()); }

TEST(SqliteRejectedStoreTest, KeepsTheNewestPerSiteAndCountsWhatTheBoundDrops) {
  testing::ScopedTempDir dir("rejected");
  SqliteRejectedStore store((dir.path() / "rejected.db").string(), {3, std::chrono::hours(1)});
  const std::int64_t now = Now();
  std::vector<Rejection> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(Entry("a", now + i, "invalid", "a" + std::to_string(i)));
  batch.push_back(Entry("b", now, "media_type"));
  auto dropped = store.Add(batch);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(*dropped, 2u);  // a0 and a1; b's one entry is within its own bound
  auto listed = store.List({.site = "a"});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].payload, "a4");  // newest first
  EXPECT_EQ((*listed)[2].payload, "a2");
  auto counts = store.Count();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at(std::make_tuple("a", "request", "invalid")), 3u);
  EXPECT_EQ(counts->at(std::make_tuple("b", "request", "media_type")), 1u);
  // Filters by reason and time.
  EXPECT_EQ(store.List({.reason = "media_type"})->size(), 1u);
  EXPECT_EQ(store.List({.site = "a", .since_micros = now + 3})->size(), 2u);
  EXPECT_EQ(store.List({.site = "a", .until_micros = now + 3})->size(), 1u);
}

TEST(SqliteRejectedStoreTest, EntriesOlderThanMaxAgeGo) {
  testing::ScopedTempDir dir("rejected");
  SqliteRejectedStore store((dir.path() / "rejected.db").string(), {100, std::chrono::minutes(10)});
  const std::int64_t now = Now();
  const std::int64_t hour_ago = now - 3600LL * 1000 * 1000;
  auto dropped = store.Add(std::vector<Rejection>{Entry("a", hour_ago), Entry("a", now)});
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 1u);
  auto listed = store.List({});
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].at_micros, now);
}

TEST(SqliteRejectedStoreTest, EraseRemovesOnlyTheEntriesThatShowTheValue) {
  testing::ScopedTempDir dir("rejected");
  SqliteRejectedStore store((dir.path() / "rejected.db").string(), {100, std::chrono::hours(1)});
  const std::int64_t now = Now();
  ASSERT_TRUE(store
                  .Add(std::vector<Rejection>{
                      Entry("a", now, "invalid", "GET /swallow/a?uid=alice%40x.jp&oid=2 HTTP/1.1"),
                      Entry("a", now, "missing_event", R"({"userId":"alice@x.jp"})"),
                      Entry("a", now, "invalid", "GET /swallow/a?uid=alice%40x.jpg HTTP/1.1"),
                      Entry("b", now, "invalid", "GET /swallow/b?uid=alice%40x.jp HTTP/1.1")})
                  .ok());
  const auto shows = [](std::string_view text) { return load::TextShowsValue(text, "alice@x.jp"); };
  auto counted = store.Erase("a", shows, true);
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(*counted, 2);
  EXPECT_EQ(store.List({})->size(), 4u) << "counting deletes nothing";
  EXPECT_EQ(*store.Erase("a", shows, false), 2);
  auto left = store.List({.site = "a"});
  ASSERT_EQ(left->size(), 1u);
  EXPECT_NE((*left)[0].payload.find("x.jpg"), std::string::npos) << "another value stays";
  EXPECT_EQ(store.List({.site = "b"})->size(), 1u) << "another site stays";
}

TEST(TextShowsValueTest, MatchesAParameterOrAJsonStringWholeOnly) {
  EXPECT_TRUE(load::TextShowsValue("GET /s?uid=u1 HTTP/1.1", "u1"));
  EXPECT_TRUE(load::TextShowsValue("GET /s?uid=u1&x=2 HTTP/1.1", "u1"));
  EXPECT_TRUE(load::TextShowsValue("GET /s?e=a%20b HTTP/1.1", "a b"));
  EXPECT_TRUE(load::TextShowsValue(R"({"userId":"u1"})", "u1"));
  EXPECT_FALSE(load::TextShowsValue("GET /s?uid=u10 HTTP/1.1", "u1"));
  EXPECT_FALSE(load::TextShowsValue("GET /s?uid=xu1 HTTP/1.1", "u1"));
  EXPECT_FALSE(load::TextShowsValue(R"({"userId":"u10"})", "u1"));
}

TEST(RedactedRequestTest, SecretsAndClientAddressesAreRedactedAndTheTextIsCut) {
  std::string out;
  AppendRedactedRequest(out, "GET", "/swallow/a?x=1",
                        {{"Host", "h"},
                         {"Cookie", "sess=s3cret"},
                         {"authorization", "Bearer t0k"},
                         {"X-Forwarded-For", "203.0.113.9"},
                         {"X-Api-Key", "k3y"},
                         {"User-Agent", "curl"}},
                        4096);
  EXPECT_EQ(out,
            "GET /swallow/a?x=1 HTTP/1.1\nHost: h\nCookie: [redacted]\nauthorization: [redacted]\n"
            "X-Forwarded-For: [redacted]\nX-Api-Key: [redacted]\nUser-Agent: curl");
  std::string cut;
  AppendRedactedRequest(cut, "GET", "/" + std::string(100, 'a'), {}, 40);
  EXPECT_EQ(cut, "GET /" + std::string(35, 'a') + "…");
}

// A store that keeps what it is given, for the recorder.
class MemoryStore final : public RejectedStore {
 public:
  Result<std::uint64_t> Add(std::span<const Rejection> batch) override {
    kept.insert(kept.end(), batch.begin(), batch.end());
    return std::uint64_t{0};
  }
  Result<std::vector<Rejection>> List(const RejectedQuery&) override { return kept; }
  Result<RejectedCounts> Count() override { return RejectedCounts{}; }
  Result<long long> Erase(const std::string&, const TextMatcher&, bool) override { return 0; }
  std::vector<Rejection> kept;
};

TEST(RejectedRecorderTest, WritesEveryLaneInTimeOrderAndCountsAFullLane) {
  auto owned = std::make_unique<MemoryStore>();
  MemoryStore* store = owned.get();
  RejectedRecorder recorder(std::move(owned),
                            {.log_every = std::chrono::milliseconds(0), .lane_capacity = 4});
  auto& first = recorder.NewLane();
  auto& second = recorder.NewLane();
  for (int i = 0; i < 6; ++i)  // two more than the lane holds
    first.Add([&](Rejection& r) { r = Entry("a", 10 + 2 * i); });
  second.Add([&](Rejection& r) { r = Entry("b", 11); });
  recorder.Flush();
  ASSERT_EQ(store->kept.size(), 5u);
  EXPECT_EQ(store->kept[0].at_micros, 10);
  EXPECT_EQ(store->kept[1].site, "b") << "merged in time order";
  MetricsWriter out;
  recorder.WriteMetrics(out);
  EXPECT_NE(out.text().find("oceanus_rejected_dropped_total{cause=\"overflow\"} 2"),
            std::string::npos)
      << out.text();
  EXPECT_NE(out.text().find(
                "oceanus_rejected_stored_total{site=\"a\",kind=\"request\",reason=\"invalid\"} 4"),
            std::string::npos)
      << out.text();
}

}  // namespace
}  // namespace oceanus::queue
