#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace oceanus::config {
namespace {

constexpr const char* kMinimal = R"(
time_zone: Asia/Tokyo
sites:
  samplesite:
    endpoint: swallow
    schema:
      - {name: dt, from: now}
      - {name: evt, required: true, max_length: 16, transform: lower}
)";

TEST(ConfigTest, MinimalConfigGetsDefaultsAndAnEid) {
  auto c = ParseConfig(kMinimal, "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->time_zone, "Asia/Tokyo");
  EXPECT_EQ(c->server.listen_port, 8080);
  EXPECT_EQ(c->load.batch_rows, 500u);
  EXPECT_EQ(c->load.batch_bytes, 1024u * 1024u);
  EXPECT_EQ(c->load.max_wait, std::chrono::seconds(1));
  EXPECT_EQ(c->sink.path, "./data/oceanus.db");
  ASSERT_EQ(c->sites.size(), 1u);
  const auto& schema = c->sites[0].schema;
  ASSERT_EQ(schema.size(), 3u);
  EXPECT_EQ(schema[1].transforms.size(), 1u);
  EXPECT_EQ(schema[1].max_length, 16u);
  EXPECT_EQ(schema[1].mode, ColumnMode::kRequired);
  EXPECT_EQ(schema[2].name, "eid");
  EXPECT_EQ(schema[2].from, FieldSource::kEventId);
}

TEST(ConfigTest, UnknownKeyIsReportedWithLineAndColumn) {
  auto c = ParseConfig("sites:\n  a:\n    endpoint: swallow\n    shema: []\n", "bad.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("bad.yaml:4:5: unknown key 'shema' in site 'a'", 0), 0u)
      << c.status().message();
}

TEST(ConfigTest, BadValuesNameTheirPosition) {
  struct Case {
    const char* yaml;
    const char* expect;  // prefix of the message
  };
  const Case cases[] = {
      {"sites:\n  a:\n    endpoint: nowhere\n    schema: [{name: x}]\n",
       "f:3:15: unknown endpoint 'nowhere'"},
      {"sites:\n  A-b:\n    endpoint: swallow\n    schema: [{name: x}]\n",
       "f:2:3: site name 'A-b' must match"},
      {"sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x, pattern: '(('}]\n",
       "f:4:33: invalid RE2 pattern"},
      {"load: {max_wait: 5}\nsites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n",
       "f:1:18: duration '5' needs a unit"},
      {"sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}, {name: x}]\n",
       "f:4:25: field 'x' is defined twice"},
      {"default_site: b\nsites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n",
       "f:1:15: default_site 'b' is not a site"},
      {"sites:\n  a:\n    endpoint: swallow\n    schema: [{name: d, from: device, of: nope}]\n",
       "f:4:13: field 'd' derives from 'nope'"},
      {"sites: [\n", "f:2:1: "},
  };
  for (const auto& tc : cases) {
    auto c = ParseConfig(tc.yaml, "f");
    ASSERT_FALSE(c.ok()) << tc.yaml;
    EXPECT_EQ(c.status().message().rfind(tc.expect, 0), 0u)
        << "got: " << c.status().message() << "\nwant prefix: " << tc.expect;
  }
}

TEST(ConfigTest, EnvironmentReferencesExpandWithDefaults) {
  ::setenv("OCEANUS_TEST_DIR", "/tmp/x", 1);
  ::unsetenv("OCEANUS_TEST_UNSET");
  auto c = ParseConfig(
      "data_dir: ${OCEANUS_TEST_DIR}/data\nsink: {path: '${OCEANUS_TEST_UNSET:-/tmp/d.db}'}\n"
      "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n",
      "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "/tmp/x/data");
  EXPECT_EQ(c->sink.path, "/tmp/d.db");

  auto missing = ParseConfig("data_dir: ${OCEANUS_TEST_UNSET}\nsites: {}\n", "f");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(
      missing.status().message().find("f:1:11: environment variable OCEANUS_TEST_UNSET is not set"),
      std::string::npos)
      << missing.status().message();
}

TEST(ConfigTest, SizesDurationsAndListen) {
  auto c = ParseConfig(
      "server: {listen: '127.0.0.1:9090', max_body_bytes: 16KiB, read_timeout: 500ms}\n"
      "load: {batch_bytes: 2MiB, max_wait: 2s}\n"
      "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n",
      "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen_host, "127.0.0.1");
  EXPECT_EQ(c->server.listen_port, 9090);
  EXPECT_EQ(c->server.max_body_bytes, 16u * 1024);
  EXPECT_EQ(c->server.read_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c->load.batch_bytes, 2u * 1024 * 1024);
}

TEST(ConfigTest, ExampleConfigLoads) {
  ::setenv("OCEANUS_DATA_DIR", "/tmp/oceanus-example", 1);
  auto c = LoadConfig(std::string(OCEANUS_SOURCE_DIR) + "/examples/oceanus.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->default_site, "samplesite");
  ASSERT_NE(c->FindSite("sampleform"), nullptr);
  EXPECT_EQ(c->FindSite("sampleform")->endpoint, Endpoint::kPirate);
  EXPECT_EQ(c->FindSite("samplemail")->endpoint, Endpoint::kGaze);
  EXPECT_EQ(c->FindSite("sampleserver")->endpoint, Endpoint::kPierce);
}

TEST(ConfigTest, HostPortParsing) {
  auto a = ParseHostPort("127.0.0.1:9090");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9090);
  EXPECT_EQ(ParseHostPort("[::1]:80")->host, "::1");
  EXPECT_EQ(ParseHostPort(":8080")->host, "");
  EXPECT_FALSE(ParseHostPort("localhost").ok());
  EXPECT_FALSE(ParseHostPort("h:70000").ok());
  EXPECT_FALSE(ParseHostPort("h:80x").ok());
  EXPECT_FALSE(ParseHostPort("h:").ok());
}

TEST(ConfigTest, AdminOffLoopbackNeedsAToken) {
  const std::string sites = "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n";
  auto open = ParseConfig("admin: {listen: '0.0.0.0:9090'}\n" + sites, "f");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("f:1:8: admin.listen is not a loopback address"),
            std::string::npos)
      << open.status().message();
  EXPECT_TRUE(ParseConfig("admin: {listen: '0.0.0.0:9090', token: t}\n" + sites, "f").ok());
  EXPECT_TRUE(ParseConfig("admin: {listen: '127.0.0.9:9090'}\n" + sites, "f").ok());
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.255.0.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("::"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.1.example.com"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.256"));
}

// Site, field, group, rule and action names and the table prefix end up in SQL (table and
// column names, which cannot be bound parameters) and in Redis keys: only plain names pass.
TEST(ConfigTest, NamesThatBecomeSqlIdentifiersAreValidated) {
  const char* cases[] = {
      "sites:\n  'a\"; DROP TABLE x; --':\n    endpoint: swallow\n    schema: [{name: x}]\n",
      "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: 'x\" TEXT); --'}]\n",
      "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: 'X'}]\n",
      "sink: {table_prefix: 'p;'}\nsites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n",
      "queue: {groups: ['g-1']}\nsites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n",
      "sink: {type: bigquery, bigquery: {project: p, dataset: 'd`; DROP'}}\nsites:\n  a:\n"
      "    endpoint: swallow\n    schema: [{name: x}]\n",
      "sink: {type: bigquery, bigquery: {project: 'p/../x', dataset: d}}\nsites:\n  a:\n"
      "    endpoint: swallow\n    schema: [{name: x}]\n",
  };
  for (const char* yaml : cases) {
    auto c = ParseConfig(yaml, "f");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_TRUE(c.status().message().find("must match") != std::string::npos ||
                c.status().message().find("is not a project id") != std::string::npos)
        << c.status().message();
  }
}

TEST(ConfigTest, ValidBigQueryNamesPass) {
  auto c = ParseConfig(
      "sink: {type: bigquery, bigquery: {project: my-proj.example.com:p-1, dataset: Events_2}}\n"
      "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n",
      "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->sink.bigquery.dataset, "Events_2");
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto c = LoadConfig("/nonexistent/oceanus.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace oceanus::config
