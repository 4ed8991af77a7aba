// The source registry: a source registered from its own file is reachable from the config (its
// own site keys, checked with file:line:col) and from the collector (a prefix of its own, not
// /<name>/<site>), with nothing else changed. The source here stands in for one such as a
// Segment-compatible /v1/track: it owns "/test-v1", reads `write_keys` of its sites, and
// answers which site the key names.
#include "collect/source.h"

#include <gtest/gtest.h>

#include <sstream>

#include "app/config.h"
#include "collect/collector.h"
#include "collect/event_intake.h"
#include "config/reader.h"

namespace oceanus::collect {
namespace {

struct KeySettings : config::ComponentSettings {
  std::vector<std::string> write_keys;
  void Describe(std::ostream& out) const override {
    out << "  write_keys: " << write_keys.size() << "\n";
  }
};

class KeySource : public Source {
 public:
  explicit KeySource(const SourceContext& context) : sites_(context.sites) {}
  void Handle(const Call& call, Outcome& out) const override {
    for (const Site* site : sites_) {
      const auto& keys = static_cast<const KeySettings&>(*site->settings).write_keys;
      for (const auto& key : keys) {
        if (call.query == "key=" + key) {
          out.metrics_site = static_cast<int>(site->id);
          return AnswerText(out, 200, site->name + " " + std::string(call.rest) + "\n");
        }
      }
    }
    AnswerText(out, 401, "unknown write key\n");
  }

 private:
  std::vector<const Site*> sites_;
};

class KeyFactory : public SourceFactory {
 public:
  std::vector<std::string> Prefixes() const override { return {"/test-v1"}; }
  std::vector<std::string> SiteKeys() const override { return {"write_keys"}; }
  std::shared_ptr<const config::ComponentSettings> ParseSite(const config::Reader& r,
                                                             const YAML::Node& node,
                                                             const config::Site&) const override {
    auto settings = std::make_shared<KeySettings>();
    if (!node["write_keys"]) r.Fail(node, "a test_keys site needs write_keys");
    settings->write_keys = r.StrList(node["write_keys"]);
    return settings;
  }
  std::string Describe(const config::Site& site, bool) const override {
    return "/test-v1 (" + site.name + ")";
  }
  Result<std::unique_ptr<Source>> Create(const SourceContext& context) const override {
    return std::unique_ptr<Source>(std::make_unique<KeySource>(context));
  }
};

OCEANUS_REGISTER(SourceFactory, KeyFactory, "test_keys");

constexpr const char* kConfig =
    "sites:\n"
    "  page:\n"
    "    endpoint: swallow\n"
    "    schema: [{name: x}]\n"
    "  app:\n"
    "    endpoint: test_keys\n"
    "    write_keys: [k1, k2]\n"
    "    schema: [{name: x}]\n";

TEST(SourceTest, TheFourOriginalsAreRegistered) {
  for (const char* name : {"swallow", "pirate", "gaze", "pierce"})
    EXPECT_NE(SourceRegistry::Get().Find(name), nullptr) << name;
  EXPECT_EQ(RegisteredSiteSources().DefaultSiteSource(), "swallow");
}

TEST(SourceTest, UnknownEndpointListsTheRegisteredNames) {
  auto c = app::ParseConfig("sites:\n  a:\n    endpoint: nowhere\n    schema: [{name: x}]\n", "f");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "f:3:15: unknown endpoint 'nowhere' (expected one of: " +
                                      SourceRegistry::Get().Types() + ")");
}

TEST(SourceTest, ASourceParsesItsOwnSiteKeys) {
  auto c = app::ParseConfig(kConfig, "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto* site = c->FindSite("app");
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->endpoint, "test_keys");
  ASSERT_NE(site->source, nullptr);
  EXPECT_EQ(static_cast<const KeySettings&>(*site->source).write_keys,
            (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(DescribeEndpoint(*c, *site), "/test-v1 (app)");
  EXPECT_EQ(DescribeEndpoint(*c, *c->FindSite("page")), "/swallow/page");

  // Its keys are another source's unknown keys, and its own mistakes point into the file.
  auto other = app::ParseConfig(
      "sites:\n  a:\n    endpoint: swallow\n    write_keys: [k]\n    schema: [{name: x}]\n", "f");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message().rfind("f:4:5: unknown key 'write_keys' in site 'a'", 0), 0u)
      << other.status().message();
  auto missing =
      app::ParseConfig("sites:\n  a:\n    endpoint: test_keys\n    schema: [{name: x}]\n", "f");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "f:3:5: a test_keys site needs write_keys");
}

TEST(SourceTest, TheCollectorRoutesAPrefixOfItsOwn) {
  auto c = app::ParseConfig(kConfig, "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
  ASSERT_TRUE(classifier.ok());
  auto collector = Collector::Create(*c, *classifier);
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  event::ThreadState thread(*classifier);
  Scratch scratch;
  auto handle = [&](std::string_view target) {
    Request r;
    r.method = Method::kPost;
    r.target = target;
    Outcome out;
    (*collector)->Handle(r, thread, scratch, out);
    return out;
  };
  Outcome o = handle("/test-v1/track?key=k2");
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, "app /track\n");
  EXPECT_EQ(o.metrics_site, 1);
  EXPECT_EQ(handle("/test-v1?key=nope").status, 401);
  EXPECT_EQ(handle("/test-v1x").body, "not found\n");
  EXPECT_EQ(handle("/swallow/app").body, "unknown site for swallow\n");
}

}  // namespace
}  // namespace oceanus::collect
