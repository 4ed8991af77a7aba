// privacy.ip, privacy.user_agent and the cookieless visitor hash, through the collector: what
// the queued record holds (docs/PRIVACY.md), and the config errors of the privacy block.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <map>
#include <set>

#include "app/config.h"
#include "collect/collector.h"
#include "collect/collector_metrics.h"
#include "event/privacy.h"

namespace oceanus::collect {
namespace {

using namespace std::chrono_literals;

constexpr const char* kKey = "a-test-secret-of-32-characters!!";

constexpr const char* kConfig = R"(
sites:
  keep:
    endpoint: swallow
    schema: &schema
      - {name: dt, from: now}
      - {name: rad, from: client_ip}
      - {name: ua, from: user_agent}
      - {name: dev, from: device, of: ua}
      - {name: vid, from: visitor_hash}
  truncate:
    endpoint: swallow
    privacy: {ip: truncate}
    schema: *schema
  truncate16:
    endpoint: swallow
    privacy: {ip: truncate, ipv4_prefix: 16, ipv6_prefix: 32}
    schema: *schema
  hash:
    endpoint: swallow
    privacy: {ip: hash, ip_hash_key_env: OCEANUS_TEST_IP_KEY}
    schema: *schema
  drop:
    endpoint: swallow
    privacy: {ip: drop, user_agent: device_only}
    schema: *schema
  server:
    endpoint: pierce
    privacy: {ip: truncate}
    schema:
      - {name: addr, ip: true}
  optin:
    endpoint: swallow
    privacy: {consent: {param: consent}}
    schema: *schema
  reduce:
    endpoint: swallow
    privacy:
      consent: {param: consent, header: X-Consent, without: reduce}
      without_consent: [ua, vid]
    schema: *schema
  flagbots:
    endpoint: swallow
    privacy: {bots: flag, bot_patterns: ["(?i)uptime-?kuma"]}
    schema: *schema
  dropbots:
    endpoint: swallow
    privacy: {bots: drop, bot_patterns: ["UptimeKuma"]}
    schema: *schema
  separatebots:
    endpoint: swallow
    privacy: {bots: separate, bot_patterns: ["UptimeKuma"]}
    schema: *schema
)";

class MapHeaders : public event::HeaderSource {
 public:
  std::map<std::string, std::string, std::less<>> values;
  std::string_view Get(std::string_view name) const override {
    auto it = values.find(name);
    return it == values.end() ? std::string_view() : std::string_view(it->second);
  }
};

constexpr const char* kIpad =
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.0 Mobile/15E148 Safari/604.1";
const auto kDay = std::chrono::system_clock::time_point(1764000000s);  // 2025-11-24 16:00 UTC

class PrivacyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("OCEANUS_TEST_IP_KEY", kKey, 1);
    auto config = app::ParseConfig(kConfig, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
    auto c = Collector::Create(*config, *classifier);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    collector_ = *c;
    thread_ = std::make_unique<event::ThreadState>(*classifier);
    counters_ = std::make_unique<CollectorCounters>(collector_->sites());
  }

  Outcome Send(const std::string& site, const char* peer, std::chrono::system_clock::time_point now,
               std::string_view user_agent, const std::string& query = "x=1") {
    Request r;
    r.method = Method::kGet;
    const std::string target = site == "server" ? "/pierce/server?addr=" + std::string(peer)
                                                : "/swallow/" + site + "?" + query;
    r.target = target;
    r.user_agent = user_agent;
    r.headers = &headers_;
    r.counters = counters_.get();
    EXPECT_TRUE(IpAddress::Parse(peer, r.peer));
    r.now = now;
    Outcome out;
    collector_->Handle(r, *thread_, scratch_, out);
    return out;
  }

  // The record of a beacon to `site` from `peer`, as a JSON document.
  rapidjson::Document Beacon(const std::string& site, const char* peer,
                             std::chrono::system_clock::time_point now = kDay,
                             std::string_view user_agent = kIpad,
                             const std::string& query = "x=1") {
    const Outcome out = Send(site, peer, now, user_agent, query);
    EXPECT_TRUE(out.append) << out.body;
    rapidjson::Document d;
    d.Parse(scratch_.event.record.c_str());
    EXPECT_FALSE(d.HasParseError()) << scratch_.event.record;
    return d;
  }
  static std::string Field(const rapidjson::Document& d, const char* name) {
    return d.HasMember(name) ? d[name].GetString() : "(absent)";
  }
  std::string Rad(const std::string& site, const char* peer) {
    return Field(Beacon(site, peer), "rad");
  }

  // Not stored, answered as if it were (a GIF), counted under `reason`.
  void ExpectWithheld(const std::string& site, std::string_view user_agent,
                      const std::string& query = "x=1") {
    const Outcome out = Send(site, "203.0.113.77", kDay, user_agent, query);
    EXPECT_FALSE(out.append) << site << " " << query;
    EXPECT_EQ(out.status, 200);
    EXPECT_EQ(out.answer, Answer::kGif);
  }
  std::string Metrics() const {
    MetricsWriter w;
    CollectorCounters::Write(collector_->sites(), {counters_.get()}, w);
    return w.text();
  }

  std::shared_ptr<const Collector> collector_;
  std::unique_ptr<event::ThreadState> thread_;
  std::unique_ptr<CollectorCounters> counters_;
  Scratch scratch_;
  MapHeaders headers_;
};

TEST_F(PrivacyTest, KeepStoresTheAddressAndTheUserAgent) {
  const auto d = Beacon("keep", "203.0.113.77");
  EXPECT_EQ(Field(d, "rad"), "203.0.113.77");
  EXPECT_EQ(Field(d, "ua"), kIpad);
  EXPECT_EQ(Field(d, "dev"), "tablet");
}

TEST_F(PrivacyTest, TruncateKeepsTheNetworkOnly) {
  EXPECT_EQ(Rad("truncate", "203.0.113.77"), "203.0.113.0");
  EXPECT_EQ(Rad("truncate", "2001:db8:1234:5678:9abc::1"), "2001:db8:1234::");
  EXPECT_EQ(Rad("truncate16", "203.0.113.77"), "203.0.0.0");
  EXPECT_EQ(Rad("truncate16", "2001:db8:1234:5678::1"), "2001:db8::");
  // A field with ip: true (an address the sender gives) is truncated the same way.
  EXPECT_EQ(Field(Beacon("server", "198.51.100.200"), "addr"), "198.51.100.0");
}

TEST_F(PrivacyTest, HashMapsOneAddressToOneValueThatDoesNotShowIt) {
  const std::string a = Rad("hash", "203.0.113.77");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_EQ(Rad("hash", "203.0.113.77"), a);
  EXPECT_NE(Rad("hash", "203.0.113.78"), a);
  const std::string v6 = Rad("hash", "2001:db8::1");
  EXPECT_EQ(v6.size(), 32u);
  EXPECT_NE(v6, Rad("hash", "2001:db8::2"));
  // A keyed hash: the same address under another key is another value.
  ::setenv("OCEANUS_TEST_IP_KEY", "another-secret-of-enough-length", 1);
  auto other = app::ParseConfig(kConfig, "test.yaml");
  ASSERT_TRUE(other.ok());
  config::Privacy p = other->sites[3].privacy;
  std::string value = "203.0.113.77";
  ASSERT_TRUE(event::ApplyIpPrivacy(p, value));
  EXPECT_NE(value, a);
}

TEST_F(PrivacyTest, DropAndDeviceOnlyStoreNeitherAddressNorUserAgent) {
  const auto d = Beacon("drop", "203.0.113.77");
  EXPECT_EQ(Field(d, "rad"), "(absent)");
  EXPECT_EQ(Field(d, "ua"), "(absent)");
  EXPECT_EQ(Field(d, "dev"), "tablet");  // derived from the User-Agent before it went
  EXPECT_EQ(scratch_.event.record.find("203.0.113"), std::string::npos);
  EXPECT_EQ(scratch_.event.record.find("iPad"), std::string::npos);
}

TEST_F(PrivacyTest, VisitorHashIsStableWithinADayAndDiffersAcrossDaysSitesAndVisitors) {
  const std::string morning = Field(Beacon("keep", "203.0.113.77", kDay), "vid");
  EXPECT_EQ(morning.size(), 32u);
  EXPECT_EQ(Field(Beacon("keep", "203.0.113.77", kDay + 5h), "vid"), morning);
  // The visitor hash reads the real address, whatever privacy.ip stores.
  EXPECT_EQ(Field(Beacon("drop", "203.0.113.77", kDay), "vid").size(), 32u);
  EXPECT_NE(Field(Beacon("truncate", "203.0.113.77", kDay), "vid"), morning);  // another site
  EXPECT_NE(Field(Beacon("keep", "203.0.113.78", kDay), "vid"), morning);
  EXPECT_NE(Field(Beacon("keep", "203.0.113.77", kDay, "curl/8.0"), "vid"), morning);
  // The next UTC day (2025-11-25 00:00): a new salt, so another id.
  const std::string next = Field(Beacon("keep", "203.0.113.77", kDay + 8h), "vid");
  EXPECT_NE(next, morning);
  EXPECT_EQ(Field(Beacon("keep", "203.0.113.77", kDay + 9h), "vid"), next);
  // The day that is over cannot be had back: a late event of it gets today's salt.
  EXPECT_EQ(Field(Beacon("keep", "203.0.113.77", kDay + 1h), "vid"), next);
}

constexpr const char* kGooglebot =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

TEST_F(PrivacyTest, WithoutConsentTheEventIsDroppedAndCounted) {
  ExpectWithheld("optin", kIpad);
  ExpectWithheld("optin", kIpad, "consent=0");
  EXPECT_EQ(Field(Beacon("optin", "203.0.113.77", kDay, kIpad, "consent=granted"), "rad"),
            "203.0.113.77");
  // Global Privacy Control withdraws consent, whatever the page says.
  headers_.values["Sec-GPC"] = "1";
  ExpectWithheld("optin", kIpad, "consent=1");
  EXPECT_NE(Metrics().find(R"(oceanus_events_withheld_total{site="optin",reason="no_consent"} 3)"),
            std::string::npos)
      << Metrics();
  EXPECT_NE(Metrics().find(R"(oceanus_events_queued_total{site="optin"})"), std::string::npos);
}

TEST_F(PrivacyTest, WithoutConsentReduceRemovesTheNamedFieldsAndTruncatesTheAddress) {
  const auto reduced = Beacon("reduce", "203.0.113.77");
  EXPECT_EQ(Field(reduced, "rad"), "203.0.113.0");
  EXPECT_EQ(Field(reduced, "ua"), "(absent)");
  EXPECT_EQ(Field(reduced, "vid"), "(absent)");
  EXPECT_EQ(Field(reduced, "dev"), "tablet");
  // Consent by header: everything kept.
  headers_.values["X-Consent"] = "yes";
  const auto full = Beacon("reduce", "203.0.113.77");
  EXPECT_EQ(Field(full, "rad"), "203.0.113.77");
  EXPECT_EQ(Field(full, "ua"), kIpad);
  EXPECT_EQ(Field(full, "vid").size(), 32u);
}

TEST_F(PrivacyTest, BotsAreFlaggedOrDroppedByDeviceClassAndPattern) {
  EXPECT_EQ(Field(Beacon("keep", "203.0.113.77", kDay, kGooglebot), "dev"), "bot");
  EXPECT_EQ(Field(Beacon("keep", "203.0.113.77", kDay, "Uptime-Kuma/1.23"), "dev"), "");
  EXPECT_EQ(Field(Beacon("flagbots", "203.0.113.77", kDay, "Uptime-Kuma/1.23"), "dev"), "bot");
  EXPECT_EQ(Field(Beacon("flagbots", "203.0.113.77", kDay, kGooglebot), "dev"), "bot");
  EXPECT_EQ(Field(Beacon("flagbots", "203.0.113.77"), "dev"), "tablet");
  ExpectWithheld("dropbots", kGooglebot);
  ExpectWithheld("dropbots", "Mozilla/5.0 UptimeKuma");
  EXPECT_EQ(Field(Beacon("dropbots", "203.0.113.77"), "dev"), "tablet");
  // separate stores them as flag does (the loader sends dev = bot to the bots table).
  EXPECT_EQ(Field(Beacon("separatebots", "203.0.113.77", kDay, "Mozilla/5.0 UptimeKuma"), "dev"),
            "bot");
  EXPECT_EQ(Field(Beacon("separatebots", "203.0.113.77", kDay, kGooglebot), "dev"), "bot");
  EXPECT_EQ(Field(Beacon("separatebots", "203.0.113.77"), "dev"), "tablet");
  const std::string m = Metrics();
  EXPECT_NE(m.find(R"(oceanus_events_withheld_total{site="dropbots",reason="bot"} 2)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(oceanus_events_received_total{site="dropbots"} 3)"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(oceanus_events_withheld_total{site="flagbots",reason="bot"} 0)"),
            std::string::npos)
      << m;
}

TEST(DailySaltsTest, ANewDayReplacesTheSaltAndSaltsAreRandom) {
  event::DailySalts a, b;
  const event::Salt first = a.ForDay(20000);
  EXPECT_EQ(a.ForDay(20000), first);
  EXPECT_NE(a.ForDay(20001), first);
  EXPECT_NE(b.ForDay(20000), first);  // another process: another salt
}

std::string ConfigError(const std::string& privacy,
                        const char* rad = "{name: rad, from: client_ip}") {
  const std::string text = "sites:\n  s:\n    endpoint: swallow\n    privacy: " + privacy +
                           "\n    schema:\n      - " + rad +
                           "\n      - {name: ua, from: user_agent, required: true}\n";
  auto c = app::ParseConfig(text, "p.yaml");
  return c.ok() ? "(accepted)" : c.status().message();
}

// A per_ip guard counts by the stored address: on a site that stores none it could never
// hold anything back, so check refuses it (and accepts it where the address is truncated).
TEST(PrivacyConfigTest, APerIpGuardOnASiteThatDropsTheAddressIsRefused) {
  const auto parse = [](const std::string& ip) {
    const std::string text =
        "sites:\n  s:\n    endpoint: swallow\n    privacy: {ip: " + ip +
        "}\n    schema:\n      - {name: rad, from: client_ip}\n"
        "actions:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/\"}\n"
        "rules:\n  - name: r\n    site: s\n    guard: {per_ip: {max: 1, window: 1h}}\n"
        "    do: [{action: hook}]\n";
    auto c = app::ParseConfig(text, "g.yaml");
    return c.ok() ? std::string("(accepted)") : c.status().message();
  };
  const std::string refused = parse("drop");
  EXPECT_NE(refused.find("g.yaml:12:"), std::string::npos) << refused;
  EXPECT_NE(refused.find("privacy.ip: drop"), std::string::npos) << refused;
  EXPECT_EQ(parse("truncate"), "(accepted)");
}

TEST(PrivacyConfigTest, MistakesAreConfigErrorsWithTheirLine) {
  ::unsetenv("OCEANUS_NO_SUCH_KEY");
  const std::string no_key = ConfigError("{ip: hash, ip_hash_key_env: OCEANUS_NO_SUCH_KEY}");
  EXPECT_EQ(no_key.rfind("p.yaml:4:", 0), 0u) << no_key;
  EXPECT_NE(no_key.find("privacy.ip hash needs a secret of at least 16 characters in the "
                        "environment variable OCEANUS_NO_SUCH_KEY"),
            std::string::npos);
  ::setenv("OCEANUS_SHORT_KEY", "short", 1);
  EXPECT_NE(ConfigError("{ip: hash, ip_hash_key_env: OCEANUS_SHORT_KEY}").find("at least 16"),
            std::string::npos);
  EXPECT_NE(ConfigError("{ip: blur}").find("p.yaml:4"), std::string::npos);
  EXPECT_NE(ConfigError("{ip: blur}").find("truncate"), std::string::npos);
  EXPECT_NE(ConfigError("{ip: keep, ipv4_prefix: 16}").find("apply to privacy.ip truncate"),
            std::string::npos);
  EXPECT_NE(ConfigError("{ip: truncate, ipv4_prefix: 33}").find("p.yaml:4"), std::string::npos);
  EXPECT_NE(ConfigError("{ip: drop}", "{name: rad, from: client_ip, required: true}")
                .find("field 'rad' holds the client address and is required"),
            std::string::npos);
  EXPECT_NE(ConfigError("{user_agent: device_only}")
                .find("field 'ua' holds the User-Agent and is required"),
            std::string::npos);
  EXPECT_NE(ConfigError("{ip: truncate, colour: red}").find("colour"), std::string::npos);
  EXPECT_EQ(ConfigError("{ip: truncate, ipv6_prefix: 56}"), "(accepted)");
  EXPECT_NE(ConfigError("{consent: {gpc: false}}").find("privacy.consent reads nothing"),
            std::string::npos);
  EXPECT_NE(ConfigError("{consent: {param: c, without: shrug}}").find("drop, reduce"),
            std::string::npos);
  EXPECT_NE(ConfigError("{without_consent: [rad]}").find("needs privacy.consent"),
            std::string::npos);
  EXPECT_NE(ConfigError("{consent: {param: c}, without_consent: [uid]}").find("no field 'uid'"),
            std::string::npos);
  EXPECT_NE(
      ConfigError("{consent: {param: c}, without_consent: [ua]}").find("field 'ua' is required"),
      std::string::npos);
  EXPECT_NE(ConfigError("{bots: flag}").find("the schema has none"), std::string::npos);
  EXPECT_NE(ConfigError("{bots: separate}").find("privacy.bots separate marks the device field"),
            std::string::npos);
  EXPECT_NE(ConfigError("{bots: drop, bot_patterns: [\"(\"]}").find("invalid RE2 pattern"),
            std::string::npos);
  EXPECT_NE(ConfigError("{bot_patterns: [x]}").find("need bots: flag, drop or separate"),
            std::string::npos);
  EXPECT_EQ(
      ConfigError("{consent: {param: c, without: reduce}, without_consent: [rad], bots: drop}"),
      "(accepted)");
}

}  // namespace
}  // namespace oceanus::collect
