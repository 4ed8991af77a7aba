// The segment source (collect/sources/segment/): the JSON tape, times and event ids of a
// message, the site's default columns, and every answer of the collector on /v1/…, checked
// without sockets through Collector::Handle. The wire as the real SDKs send it is checked by
// tests/integration/test_segment.py and tests/sdk/.
#include <gtest/gtest.h>
#include <zlib.h>

#include <map>

#include "app/config.h"
#include "collect/collector.h"
#include "collect/sources/segment/json_tape.h"
#include "collect/sources/segment/segment_message.h"
#include "event/json.h"
#include "util/base64.h"
#include "util/inflate.h"
#include "util/time.h"

namespace oceanus::collect {
namespace {

using segment::CallType;
using segment::MessageView;

TEST(JsonTapeTest, KeepsEveryContainersBytesAndFindsPaths) {
  JsonTape tape;
  const std::string text = R"({"a":1, "b":{"c":"x\u00e9","d":[1,2]},"a":true})";
  ASSERT_TRUE(tape.Parse(text).ok());
  EXPECT_EQ(tape.kind(0), JsonTape::Kind::kObject);
  EXPECT_EQ(tape.raw(0), text);
  const auto b = tape.Member(0, "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(tape.raw(*b), R"({"c":"x\u00e9","d":[1,2]})");
  EXPECT_EQ(tape.String(*b, "c"), "x\xc3\xa9");
  const auto d = tape.Find(0, "b.d");
  ASSERT_TRUE(d);
  EXPECT_EQ(tape.raw(*d), "[1,2]");
  // A repeated name keeps its last value, as canonical JSON does.
  EXPECT_EQ(tape.kind(*tape.Member(0, "a")), JsonTape::Kind::kTrue);
  EXPECT_FALSE(tape.Find(0, "b.c.x"));
  EXPECT_FALSE(tape.Find(0, "nope"));
  std::string out;
  EXPECT_TRUE(tape.Scalar(*tape.Find(0, "b.d"), out));
  EXPECT_EQ(out, "[1,2]");
}

// An object of `n` keys in descending order, with a repeated key whose last value counts,
// and a nested one: around the size up to which members are sorted on the stack.
std::string ManyKeys(int n) {
  std::string text = "{";
  for (int k = n; k > 0; --k)
    text +=
        "\"k" + std::to_string(k % 7) + "_" + std::to_string(k) + "\":" + std::to_string(k) + ",";
  return text + "\"k3_3\":{\"b\":1,\"a\":2},\"k0_7\":\"last\"}";
}

TEST(JsonTapeTest, WritesTheCanonicalFormOfEventJson) {
  JsonTape tape;
  for (std::string text : std::vector<std::string>{
           R"({"b":1,"a":{"y":[1,0.50,{"z":null,"c":true}],"x":"\u00e9\n\"q"},"b":2})", R"([])",
           R"({})", R"(  [ 1 , "x" , false ]  )", R"({"k":"v","k":"w","a":[]})",
           "{\"\\u0000\":1,\"\\u001f\":\"\\t\"}", ManyKeys(10), ManyKeys(14), ManyKeys(15),
           ManyKeys(40)}) {
    ASSERT_TRUE(tape.Parse(text).ok()) << text;
    std::string mine, theirs;
    tape.AppendCanonical(0, mine);
    ASSERT_TRUE(event::CanonicalJson(text, theirs).ok());
    EXPECT_EQ(mine, theirs) << text;
  }
}

TEST(JsonTapeTest, NumbersKeepTheirTextAndBadTextIsAnError) {
  JsonTape tape;
  ASSERT_TRUE(tape.Parse(R"({"n":1.50,"big":1.0E+30,"z":null})").ok());
  EXPECT_EQ(tape.text(*tape.Member(0, "n")), "1.50");
  EXPECT_EQ(tape.text(*tape.Member(0, "big")), "1.0E+30");
  std::string out;
  EXPECT_FALSE(tape.Scalar(*tape.Member(0, "z"), out));
  EXPECT_FALSE(tape.Parse("{\"a\":").ok());
  EXPECT_FALSE(tape.Parse("{\"a\":\"\xff\"}").ok());
  EXPECT_FALSE(tape.Parse("{\"a long enough key\":\"plain text, then \xC3\"}").ok());
  EXPECT_FALSE(tape.Parse(R"({"a":"\ud800"})").ok()) << "a lone surrogate escape";
  ASSERT_TRUE(tape.Parse("{\"caf\xC3\xA9\":\"\\u00e9\xE3\x81\x82\"}").ok());
  EXPECT_EQ(tape.text(*tape.Member(0, "caf\xC3\xA9")), "\xC3\xA9\xE3\x81\x82");
  EXPECT_FALSE(tape.Parse(std::string(100, '[') + std::string(100, ']')).ok());
  EXPECT_TRUE(tape.Parse(std::string(60, '[') + std::string(60, ']')).ok());
}

TEST(SegmentMessageTest, PathsAndTypes) {
  EXPECT_EQ(segment::CallOfPath("/track"), CallType::kTrack);
  EXPECT_EQ(segment::CallOfPath("/t"), CallType::kTrack);
  EXPECT_EQ(segment::CallOfPath("/s/"), CallType::kScreen);
  EXPECT_EQ(segment::CallOfPath("/import"), CallType::kBatch);
  EXPECT_EQ(segment::CallOfPath("/b"), CallType::kBatch);
  EXPECT_FALSE(segment::CallOfPath("/tracks"));
  EXPECT_FALSE(segment::CallOfPath(""));
  EXPECT_EQ(segment::CallOfType("alias"), CallType::kAlias);
  EXPECT_FALSE(segment::CallOfType("a"));
  EXPECT_FALSE(segment::CallOfType("batch"));
}

TEST(SegmentMessageTest, ParsesIsoTimes) {
  auto text = [](std::string_view s) {
    auto t = segment::ParseIsoTime(s);
    if (!t) return std::string("none");
    char buf[kUtcMicrosLength];
    return std::string(buf, FormatUtcMicros(*t, buf));
  };
  EXPECT_EQ(text("2026-12-01T17:42:15.883Z"), "2026-12-01 17:42:15.883000");
  EXPECT_EQ(text("2026-12-01T18:42:15+01:00"), "2026-12-01 17:42:15.000000");
  EXPECT_EQ(text("2026-12-01T12:12:15.123456789-0530"), "2026-12-01 17:42:15.123456");
  // Outside 1970-2199 a time is none: nanoseconds since 1970 would overflow, here or in the
  // clock-skew rule's arithmetic.
  EXPECT_EQ(text("1013-12-01T10:00:05Z"), "none");
  EXPECT_EQ(text("1969-12-31T23:59:59Z"), "none");
  EXPECT_EQ(text("2200-01-01T00:00:00Z"), "none");
  EXPECT_EQ(text("9999-12-31T23:59:59Z"), "none");
  EXPECT_EQ(text("1970-01-01T00:00:00Z"), "1970-01-01 00:00:00.000000");
  EXPECT_EQ(text("2199-12-31T23:59:59Z"), "2199-12-31 23:59:59.000000");
  EXPECT_EQ(text("2026-12-01 17:42:15.5"), "2026-12-01 17:42:15.500000");
  EXPECT_EQ(text("2026-02-30T00:00:00Z"), "none");
  EXPECT_EQ(text("2026-12-01T17:42Z"), "none");
  EXPECT_EQ(text("2026-12-01T17:42:15.Z"), "none");
  EXPECT_EQ(text("2026-12-01T17:42:15Zjunk"), "none");
}

TEST(SegmentMessageTest, CorrectsTheClientsClock) {
  JsonTape tape;
  // The phone's clock is an hour and a bit behind: the call happened 5 s before it was sent.
  ASSERT_TRUE(tape.Parse(R"({"type":"track","event":"E","userId":"u",
      "timestamp":"2026-12-01T09:00:00Z","sentAt":"2026-12-01T09:00:05Z"})")
                  .ok());
  const auto received = *segment::ParseIsoTime("2026-12-01T10:17:00Z");
  const MessageView m(tape, 0, CallType::kBatch, {}, received);
  EXPECT_FALSE(m.Check());
  std::string out;
  bool canonical = false;
  ASSERT_TRUE(m.Get("timestamp", out, canonical, {}));
  EXPECT_EQ(out, "2026-12-01 10:16:55.000000");
  ASSERT_TRUE(m.Get("originalTimestamp", out, canonical, {}));
  EXPECT_EQ(out, "2026-12-01 09:00:00.000000");
  ASSERT_TRUE(m.Get("receivedAt", out, canonical, {}));
  EXPECT_EQ(out, "2026-12-01 10:17:00.000000");
  // No sentAt: the client's time as it is; no time at all: when it was received.
  ASSERT_TRUE(tape.Parse(R"({"timestamp":"2026-12-01T09:00:00Z"})").ok());
  ASSERT_TRUE(
      MessageView(tape, 0, CallType::kPage, {}, received).Get("timestamp", out, canonical, {}));
  EXPECT_EQ(out, "2026-12-01 09:00:00.000000");
  ASSERT_TRUE(tape.Parse(R"({})").ok());
  ASSERT_TRUE(
      MessageView(tape, 0, CallType::kPage, {}, received).Get("timestamp", out, canonical, {}));
  EXPECT_EQ(out, "2026-12-01 10:17:00.000000");
  // A sentAt two centuries after the client's time would put the call in 1826: the server's
  // time is taken instead (found by the fuzzer).
  ASSERT_TRUE(
      tape.Parse(R"({"timestamp":"1970-01-01T00:00:00Z","sentAt":"2170-01-01T00:00:00Z"})").ok());
  ASSERT_TRUE(
      MessageView(tape, 0, CallType::kPage, {}, received).Get("timestamp", out, canonical, {}));
  EXPECT_EQ(out, "2026-12-01 10:17:00.000000");
}

TEST(SegmentMessageTest, ChecksWhatEachCallNeeds) {
  JsonTape tape;
  auto check = [&](std::string_view json, CallType call) {
    EXPECT_TRUE(tape.Parse(json).ok()) << json;
    const auto r = MessageView(tape, 0, call, {}, std::chrono::system_clock::now()).Check();
    return r ? std::string(MessageRejectName(*r)) : std::string("ok");
  };
  EXPECT_EQ(check(R"({"event":"E","userId":"u"})", CallType::kTrack), "ok");
  EXPECT_EQ(check(R"({"event":"E","anonymousId":7})", CallType::kTrack), "ok");
  EXPECT_EQ(check(R"({"event":"E","userId":""})", CallType::kTrack), "missing_id");
  EXPECT_EQ(check(R"({"userId":"u"})", CallType::kTrack), "missing_event");
  EXPECT_EQ(check(R"({"userId":"u"})", CallType::kGroup), "missing_group_id");
  EXPECT_EQ(check(R"({"userId":"u"})", CallType::kAlias), "missing_previous_id");
  EXPECT_EQ(check(R"({"userId":"u"})", CallType::kIdentify), "ok");
  EXPECT_EQ(check(R"({"userId":"u","type":"x"})", CallType::kBatch), "unknown_type");
  EXPECT_EQ(check(R"({"userId":"u"})", CallType::kBatch), "unknown_type");
  EXPECT_EQ(check(R"([1])", CallType::kBatch), "not_object");
}

TEST(SegmentMessageTest, EventIdsComeFromSiteAndMessageId) {
  char a[36], b[36], c[36];
  segment::MessageEventId("app", "m1", a);
  segment::MessageEventId("app", "m1", b);
  segment::MessageEventId("other", "m1", c);
  EXPECT_EQ(std::string(a, 36), std::string(b, 36));
  EXPECT_NE(std::string(a, 36), std::string(c, 36));
  EXPECT_EQ(a[14], '5');  // UUID version 5
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  // The documented derivation, as Python's uuid.uuid5 computes it: ids stay stable across
  // versions, so that a batch retried after an upgrade is still stored once.
  EXPECT_EQ(std::string(a, 36), "b6bdd4ed-45ba-5e7d-931b-16d4ecfd8fe9");
}

TEST(InflateTest, LimitsTheOutput) {
  const std::string plain(100000, 'a');
  std::string gz(compressBound(plain.size()) + 64, '\0');
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(gz.data());
  z.avail_out = static_cast<uInt>(gz.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  gz.resize(z.total_out);
  deflateEnd(&z);
  std::string out;
  EXPECT_EQ(Inflate(gz, 200000, out), InflateResult::kOk);
  EXPECT_EQ(out, plain);
  EXPECT_EQ(Inflate(gz, 99999, out), InflateResult::kTooLarge);
  EXPECT_EQ(Inflate(gz.substr(0, gz.size() / 2), 200000, out), InflateResult::kCorrupt);
  EXPECT_EQ(Inflate("not gzip", 200000, out), InflateResult::kCorrupt);
  EXPECT_EQ(Inflate(gz + gz, 300000, out), InflateResult::kOk);  // two members
  EXPECT_EQ(out.size(), 200000u);
}

TEST(Base64Test, DecodesWhatEncodeWrites) {
  std::string out;
  for (std::string s : {"", "a", "ab", "abc", "wk1:", "key:with:colons"}) {
    ASSERT_TRUE(DecodeBase64(EncodeBase64(s), out)) << s;
    EXPECT_EQ(out, s);
  }
  EXPECT_FALSE(DecodeBase64("a*b=", out));
  EXPECT_FALSE(DecodeBase64("abcde", out));
}

// ---------------------------------------------------------------------------------------
// The collector on /v1/…

class Headers : public event::HeaderSource {
 public:
  std::map<std::string, std::string> values;
  std::string_view Get(std::string_view name) const override {
    for (const auto& [k, v] : values)
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return {};
  }
};

constexpr const char* kConfig =
    "server:\n"
    "  trusted_proxies: [10.9.0.0/16]\n"
    "sites:\n"
    "  page:\n"
    "    endpoint: swallow\n"
    "    schema: [{name: x}]\n"
    "  app:\n"
    "    endpoint: segment\n"
    "    write_keys: [wk1, '${OCEANUS_TEST_UNSET_KEY:-}']\n"
    "    max_message_bytes: 2KiB\n"
    "    max_batch_bytes: 8KiB\n"
    "    trusted_senders: [10.1.0.0/16]\n"
    "    schema:\n"
    "      - {name: revenue, from: json, path: properties.revenue, type: float}\n"
    "      - {name: plan, from: json, path: context.traits.plan, max_length: 8}\n"
    "  other:\n"
    "    endpoint: segment\n"
    "    write_keys: [wk2]\n";

class SegmentSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = app::ParseConfig(kConfig, "f");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    config_ = std::move(c).value();
    auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    ASSERT_TRUE(classifier.ok());
    classifier_ = *classifier;
    auto collector = Collector::Create(config_, classifier_);
    ASSERT_TRUE(collector.ok()) << collector.status().ToString();
    collector_ = *collector;
    thread_ = std::make_unique<event::ThreadState>(classifier_);
    counters_ = std::make_unique<CollectorCounters>(collector_->sites());
  }

  Outcome Post(std::string_view target, std::string body, std::string key = "wk1",
               std::string content_type = "application/json") {
    body_ = std::move(body);
    headers_.values.clear();
    if (!key.empty()) headers_.values["Authorization"] = "Basic " + EncodeBase64(key + ":");
    if (!encoding_.empty()) headers_.values["Content-Encoding"] = encoding_;
    content_type_ = std::move(content_type);
    Request r;
    r.method = method_;
    r.target = target;
    r.body = body_;
    r.content_type = content_type_;
    r.user_agent = "curl/8";
    r.headers = &headers_;
    IpAddress::Parse(peer_, r.peer);
    r.now = *segment::ParseIsoTime("2026-12-01T10:00:00Z");
    r.counters = counters_.get();
    r.recent = &recent_;
    Outcome out;
    collector_->Handle(r, *thread_, scratch_, out);
    return out;
  }

  // The stored records of the last answer.
  std::vector<std::string> Records() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < scratch_.batch.size(); ++i) out.emplace_back(scratch_.batch[i]);
    return out;
  }

  std::string Metrics() const {
    MetricsWriter w;
    CollectorCounters::Write(collector_->sites(), {counters_.get()}, w);
    return w.text();
  }

  app::Config config_;
  std::shared_ptr<const event::DeviceClassifier> classifier_;
  std::shared_ptr<const Collector> collector_;
  std::unique_ptr<event::ThreadState> thread_;
  std::unique_ptr<CollectorCounters> counters_;
  RecentActivity recent_;
  Scratch scratch_;
  Headers headers_;
  std::string body_, content_type_, encoding_;
  std::string peer_ = "192.0.2.7";
  Method method_ = Method::kPost;
};

TEST_F(SegmentSourceTest, ASegmentSiteHasTheDefaultColumnsAndItsOwn) {
  const config::Site* site = config_.FindSite("app");
  ASSERT_NE(site, nullptr);
  std::vector<std::string> names;
  for (const auto& f : site->schema) names.push_back(f.name);
  EXPECT_EQ(
      names,
      (std::vector<std::string>{
          "eid",     "dt",           "message_id", "type",        "event",     "name",
          "user_id", "anonymous_id", "group_id",   "previous_id", "timestamp", "original_timestamp",
          "sent_at", "properties",   "traits",     "context",     "rad",       "ua",
          "dev",     "revenue",      "plan"}));
  EXPECT_EQ(config_.FindSite("other")->schema.size(), 19u);
}

TEST_F(SegmentSourceTest, SiteKeysAreCheckedWhereTheyAreWritten) {
  auto c = app::ParseConfig("sites:\n  a:\n    endpoint: segment\n", "f");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "f:3:5: site 'a' (endpoint: segment) needs write_keys: a list of keys");
  c = app::ParseConfig(
      "sites:\n  a:\n    endpoint: segment\n    write_keys: [k]\n    max_batch_bytes: 1KiB\n"
      "    max_message_bytes: 2KiB\n",
      "f");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "f:6:24: max_message_bytes must not be above max_batch_bytes");
  c = app::ParseConfig(
      "sites:\n  a:\n    endpoint: segment\n    write_keys: [k]\n"
      "    schema: [{name: x, from: json, path: a..b}]\n",
      "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("path must be dotted keys"), std::string::npos);
  // One key, two sites: the collector refuses to start.
  c = app::ParseConfig(
      "sites:\n  a:\n    endpoint: segment\n    write_keys: [k]\n"
      "  b:\n    endpoint: segment\n    write_keys: [k]\n",
      "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto collector = Collector::Create(*c, classifier_);
  ASSERT_FALSE(collector.ok());
  EXPECT_EQ(collector.status().message(), "write key of site b is also a write key of site a");
}

TEST_F(SegmentSourceTest, ATrackCallIsStoredWithItsColumns) {
  const Outcome o = Post("/v1/track", R"({"userId":"u1","event":"Order Completed",
      "properties":{"revenue":12.5,"b":[2,1],"a":"x"},"messageId":"m-1",
      "timestamp":"2026-12-01T08:59:50Z","sentAt":"2026-12-01T09:00:00Z",
      "context":{"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
                 "traits":{"plan":"pro"},"ip":"203.0.113.9"}})");
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.answer, Answer::kJson);
  EXPECT_EQ(o.body, R"({"success":true})");
  EXPECT_TRUE(o.append);
  EXPECT_TRUE(o.batch);
  EXPECT_EQ(o.endpoint, EndpointLabel::kSegment);
  EXPECT_EQ(o.metrics_site, 1);
  char eid[36];
  segment::MessageEventId("app", "m-1", eid);
  EXPECT_EQ(o.event_id, std::string_view(eid, 36));
  ASSERT_EQ(Records().size(), 1u);
  const std::string ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";
  const std::string expected =
      R"j({"context":"{\"ip\":\"203.0.113.9\",\"traits\":{\"plan\":\"pro\"},\"userAgent\":\")j" +
      ua + R"j(\"}","dev":"mobile","dt":"2026-12-01 10:00:00.000000","eid":")j" +
      std::string(eid, 36) +
      R"j(","event":"Order Completed","message_id":"m-1",)j"
      R"j("original_timestamp":"2026-12-01 08:59:50.000000","plan":"pro",)j"
      R"j("properties":"{\"a\":\"x\",\"b\":[2,1],\"revenue\":12.5}","rad":"192.0.2.7","revenue":12.5,)j"
      R"j("sent_at":"2026-12-01 09:00:00.000000","timestamp":"2026-12-01 09:59:50.000000",)j"
      R"j("type":"track","ua":")j" +
      ua + R"j(","user_id":"u1"})j";
  EXPECT_EQ(Records()[0], expected);
}

TEST_F(SegmentSourceTest, TheSameMessageIdIsTheSameEvent) {
  const std::string body = R"({"userId":"u1","event":"E","messageId":"dup"})";
  Post("/v1/t", body);
  const std::string first = Records().at(0);
  Post("/v1/t", body);
  EXPECT_EQ(Records().at(0).substr(Records()[0].find("\"eid\"")),
            first.substr(first.find("\"eid\"")));
  Post("/v1/t", R"({"userId":"u1","event":"E"})");  // no messageId: a fresh id each time
  const std::string a = Records().at(0);
  Post("/v1/t", R"({"userId":"u1","event":"E"})");
  EXPECT_NE(a, Records().at(0));
}

TEST_F(SegmentSourceTest, TheWriteKeyMayComeInTheBody) {
  Outcome o = Post("/v1/identify", R"({"writeKey":"wk2","userId":"u","traits":{"a":1}})", "");
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.site, 2u);
  o = Post("/v1/identify", R"({"writeKey":"nope","userId":"u"})", "");
  EXPECT_EQ(o.status, 401);
  EXPECT_EQ(o.body, R"({"success":false,"message":"unknown write key"})");
  EXPECT_FALSE(o.append);
  o = Post("/v1/identify", R"({"userId":"u"})", "");
  EXPECT_EQ(o.status, 401);
  // The header's key wins; a wrong header is a 401 even with a right body key.
  o = Post("/v1/identify", R"({"writeKey":"wk1","userId":"u"})", "bad");
  EXPECT_EQ(o.status, 401);
  // An empty entry of write_keys (an unset variable) is no key.
  o = Post("/v1/identify", R"({"userId":"u"})", "");
  EXPECT_EQ(o.status, 401);
}

TEST_F(SegmentSourceTest, RequestErrorsAreJsonAnswers) {
  EXPECT_EQ(Post("/v1/track", "{nope").status, 400);
  EXPECT_EQ(Post("/v1/track", "[1]").status, 400);
  EXPECT_EQ(Post("/v1/track", "{}", "wk1", "application/x-www-form-urlencoded").status, 415);
  EXPECT_EQ(Post("/v1/track", R"({"userId":"u","event":"E"})", "wk1", "text/plain").status, 200);
  EXPECT_EQ(Post("/v1/track", R"({"userId":"u","event":"E"})", "wk1", "").status, 200);
  const Outcome big =
      Post("/v1/track", R"({"userId":"u","event":")" + std::string(3000, 'x') + "\"}");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body,
            R"j({"success":false,"message":"message larger than max_message_bytes (2048)"})j");
  EXPECT_EQ(Post("/v1/nope", "{}").status, 404);
  const Outcome missing = Post("/v1/track", R"({"userId":"u"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_FALSE(missing.append);
  EXPECT_EQ(missing.body,
            R"({"success":false,"stored":0,"rejected":1,"errors":[{"index":0,"reason":)"
            R"("missing_event","message":"a track call needs event"}]})");
  method_ = Method::kGet;
  const Outcome get = Post("/v1/track", "");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.allow, "POST, OPTIONS");
}

TEST_F(SegmentSourceTest, PreflightAllowsAuthorization) {
  method_ = Method::kOptions;
  Outcome o = Post("/v1/t", "");
  EXPECT_EQ(o.answer, Answer::kPreflight);
  EXPECT_EQ(o.status, 204);
  EXPECT_EQ(o.preflight_headers, "Content-Type, Authorization, Content-Encoding, X-Retry-Count");
  // Elsewhere the collector's own preflight, as before.
  o = Post("/swallow/page", "");
  EXPECT_EQ(o.answer, Answer::kPreflight);
  EXPECT_TRUE(o.preflight_headers.empty());
}

// Segment's batch `context` "is merged with any context inside each of the items": the
// batch's members, with the message's own replacing those of the same name (shallow: a
// message's `page` replaces the batch's whole). Paths and context.userAgent read the merge.
TEST_F(SegmentSourceTest, ABatchContextIsMergedUnderEachMessagesOwn) {
  const Outcome o = Post("/v1/batch", R"({"batch":[
      {"type":"track","event":"A","userId":"u","context":{"page":{"url":"https://m/"},"locale":"ja"}},
      {"type":"track","event":"B","userId":"u","context":{"traits":{"plan":"free"}}},
      {"type":"track","event":"C","userId":"u","context":"not an object"}],
      "context":{"userAgent":"batch-agent","page":{"url":"https://b/","title":"T"},
                 "traits":{"plan":"pro"}}})");
  ASSERT_EQ(o.status, 200) << o.body;
  ASSERT_EQ(Records().size(), 3u);
  auto has = [&](std::size_t r, const std::string& part) {
    EXPECT_NE(Records()[r].find(part), std::string::npos) << part << "\nin " << Records()[r];
  };
  has(0, R"j("context":"{\"locale\":\"ja\",\"page\":{\"url\":\"https://m/\"},)j"
         R"j(\"traits\":{\"plan\":\"pro\"},\"userAgent\":\"batch-agent\"}")j");
  has(0, R"("plan":"pro")");
  has(0, R"("ua":"batch-agent")");
  has(1, R"j("context":"{\"page\":{\"title\":\"T\",\"url\":\"https://b/\"},)j"
         R"j(\"traits\":{\"plan\":\"free\"},\"userAgent\":\"batch-agent\"}")j");
  has(1, R"("plan":"free")");
  has(2, R"("plan":"pro")");  // a context that is no object is none: the batch's alone
}

TEST_F(SegmentSourceTest, ABatchStoresItsValidMessagesAndCountsTheOthers) {
  const Outcome o = Post("/v1/batch", R"({"batch":[
      {"type":"track","event":"A","userId":"u"},
      {"type":"track","userId":"u"},
      {"type":"page","name":"Home","anonymousId":"a"},
      {"type":"dance","userId":"u"},
      "text",
      {"type":"identify","userId":"u","context":{"traits":{"plan":"much too long"}}},
      {"type":"alias","userId":"u2","previousId":"u"}],
      "sentAt":"2026-12-01T10:00:00Z","context":{"userAgent":"batch-agent"}})");
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(
      o.body,
      R"({"success":true,"stored":3,"rejected":4,"errors":[)"
      R"({"index":1,"reason":"missing_event","message":"a track call needs event"},)"
      R"({"index":3,"reason":"unknown_type","message":"type must be track, page, screen, identify, group or alias"},)"
      R"({"index":4,"reason":"not_object","message":"a message must be a JSON object"},)"
      R"j({"index":5,"reason":"invalid_fields","message":"plan: longer than 8 characters (13)"}]})j");
  ASSERT_EQ(Records().size(), 3u);
  EXPECT_NE(Records()[0].find(R"("ua":"batch-agent")"), std::string::npos);
  EXPECT_NE(Records()[1].find(R"("type":"page")"), std::string::npos);
  EXPECT_NE(Records()[2].find(R"("previous_id":"u")"), std::string::npos);
  const std::string m = Metrics();
  EXPECT_NE(m.find(R"(oceanus_events_received_total{site="app"} 7)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(oceanus_events_rejected_total{site="app",reason="invalid"} 4)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(oceanus_messages_rejected_total{site="app",reason="missing_event"} 1)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(oceanus_messages_rejected_total{site="app",reason="invalid_fields"} 1)"),
            std::string::npos);
  EXPECT_NE(
      m.find(R"(oceanus_validation_failures_total{site="app",field="plan",reason="too_long"} 1)"),
      std::string::npos);
  std::vector<RecentEntry> rejections;
  recent_.rejections.CopySince(0, {}, rejections);
  ASSERT_EQ(rejections.size(), 4u);
  EXPECT_EQ(rejections[0].text.rfind("segment message 1: missing_event: a track call needs event\n"
                                     R"({"type":"track","userId":"u"})",
                                     0),
            0u)
      << rejections[0].text;
}

TEST_F(SegmentSourceTest, BatchLimitsAndShapes) {
  EXPECT_EQ(Post("/v1/batch", R"({"batch":[]})").status, 400);
  EXPECT_EQ(Post("/v1/batch", R"({"batch":{}})").status, 400);
  EXPECT_EQ(Post("/v1/import", R"({"userId":"u"})").status, 400);
  // A message over max_message_bytes inside a batch is refused alone.
  const Outcome o = Post("/v1/b", R"({"batch":[{"type":"track","event":"A","userId":"u",
      "properties":{"x":")" + std::string(3000, 'x') +
                                      R"("}},{"type":"track","event":"B","userId":"u"}]})");
  EXPECT_EQ(o.status, 200);
  EXPECT_NE(o.body.find(R"("reason":"too_large")"), std::string::npos);
  EXPECT_EQ(Records().size(), 1u);
  const Outcome big = Post("/v1/batch", R"({"batch":[)" + std::string(9000, ' ') + "]}");
  EXPECT_EQ(big.status, 413);
}

TEST_F(SegmentSourceTest, GzipBodiesAreInflatedWithinTheLimit) {
  auto gzip = [](const std::string& plain) {
    std::string gz(compressBound(plain.size()) + 64, '\0');
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    z.avail_in = static_cast<uInt>(plain.size());
    z.next_out = reinterpret_cast<Bytef*>(gz.data());
    z.avail_out = static_cast<uInt>(gz.size());
    deflate(&z, Z_FINISH);
    gz.resize(z.total_out);
    deflateEnd(&z);
    return gz;
  };
  encoding_ = "gzip";
  EXPECT_EQ(Post("/v1/track", gzip(R"({"userId":"u","event":"E"})")).status, 200);
  EXPECT_EQ(Records().size(), 1u);
  // A bomb: a few hundred bytes that inflate far past max_batch_bytes.
  const Outcome bomb =
      Post("/v1/batch", gzip(R"({"batch":[)" + std::string(10'000'000, ' ') + "]}"));
  EXPECT_EQ(bomb.status, 413);
  EXPECT_EQ(bomb.body,
            R"j({"success":false,"message":"body inflates to more than max_batch_bytes (8192)"})j");
  EXPECT_EQ(Post("/v1/track", "not gzip").status, 400);
  encoding_ = "br";
  EXPECT_EQ(Post("/v1/track", "{}").status, 415);
}

TEST_F(SegmentSourceTest, ATrustedSenderMaySetTheClientAddress) {
  const std::string body = R"({"userId":"u","event":"E","context":{"ip":"203.0.113.9"}})";
  Post("/v1/track", body);
  EXPECT_NE(Records().at(0).find(R"("rad":"192.0.2.7")"), std::string::npos);
  peer_ = "10.1.2.3";
  Post("/v1/track", body);
  EXPECT_NE(Records().at(0).find(R"("rad":"203.0.113.9")"), std::string::npos);
  Post("/v1/track", R"({"userId":"u","event":"E","context":{"ip":"not an ip"}})");
  EXPECT_NE(Records().at(0).find(R"("rad":"10.1.2.3")"), std::string::npos);
}

TEST_F(SegmentSourceTest, BodyLimitsOfThePaths) {
  // The largest max_batch_bytes of the segment sites ("other" keeps Segment's 500 KiB).
  EXPECT_EQ(collector_->BodyLimit("/v1/batch"), 500u * 1024);
  EXPECT_EQ(collector_->BodyLimit("http://h/v1/t?x=1"), 500u * 1024);
  EXPECT_EQ(collector_->BodyLimit("/swallow/page"), config_.server.max_body_bytes);
  EXPECT_EQ(collector_->MaxBodyBytes(), 500u * 1024);
  Outcome o;
  collector_->AnswerTooLarge("/v1/batch", o);
  EXPECT_EQ(o.status, 413);
  EXPECT_EQ(o.answer, Answer::kJson);
  o.Reset();
  collector_->AnswerTooLarge("/pirate/x", o);
  EXPECT_EQ(o.body, "request body too large\n");
}

}  // namespace
}  // namespace oceanus::collect
