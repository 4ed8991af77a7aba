// The clickhouse sink's block of the sink section: the url required when selected and checked
// at its position, names and durations validated, the password never printed.
#include "sink/clickhouse/clickhouse_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "app/config.h"
#include "config/config.h"
#include "config/reader.h"
#include "sink/sink_config.h"

namespace oceanus::sink {
namespace {

struct Parsed {
  SinkConfig sink;
  std::string error;
};
Parsed Parse(const std::string& yaml) {
  config::Reader r("f");
  config::Config shared;
  Parsed p;
  try {
    p.sink = ParseSinkConfig(r, YAML::Load(yaml)["sink"], shared);
  } catch (const config::ConfigError& e) {
    p.error = e.message;
  }
  return p;
}

TEST(ClickHouseConfigTest, TheUrlIsRequiredWhenSelected) {
  EXPECT_EQ(Parse("sink:\n  type: clickhouse\n").error,
            "f:2:3: sink type clickhouse needs sink.clickhouse.url (e.g. http://127.0.0.1:8123)");
  EXPECT_EQ(Parse("sink:\n  type: clickhouse\n  clickhouse: {database: d}\n").error,
            "f:3:15: sink type clickhouse needs sink.clickhouse.url (e.g. "
            "http://127.0.0.1:8123)");
}

TEST(ClickHouseConfigTest, MistakesAreReportedAtTheirPosition) {
  EXPECT_EQ(Parse("sink:\n  type: clickhouse\n  clickhouse: {url: 'ftp://h:1'}\n").error,
            "f:3:21: clickhouse url 'ftp://h:1' must be http(s)://host:port (no query; user "
            "and password have keys of their own)");
  EXPECT_NE(Parse("sink:\n  type: clickhouse\n  clickhouse: {url: 'http://u:p@h:1'}\n")
                .error.find("f:3:21: clickhouse url"),
            std::string::npos);
  EXPECT_NE(Parse("sink:\n  type: clickhouse\n  clickhouse: {url: 'http://h:1/?q=1'}\n")
                .error.find("f:3:21: clickhouse url"),
            std::string::npos);
  EXPECT_EQ(Parse("sink:\n  type: clickhouse\n  clickhouse: {url: 'http://h:1', database: 'a-b'}\n")
                .error,
            "f:3:45: clickhouse database 'a-b' must match [A-Za-z_][A-Za-z0-9_]*");
  EXPECT_EQ(Parse("sink:\n  type: clickhouse\n  clickhouse: {url: 'http://h:1', tiemout: 1s}\n")
                .error.rfind("f:3:35: unknown key 'tiemout' in sink.clickhouse", 0),
            0u);
  EXPECT_NE(Parse("sink:\n  type: clickhouse\n  clickhouse: {url: 'http://h:1', timeout: 0s}\n")
                .error.find("f:3:44: timeout must be above zero"),
            std::string::npos);
  // A block kept for later under another type is checked too.
  EXPECT_EQ(Parse("sink:\n  type: sqlite\n  clickhouse: {url: 'h:1'}\n").error.rfind("f:3:21: ", 0),
            0u);
  EXPECT_EQ(Parse("sink:\n  type: sqlite\n  clickhouse: {database: d}\n").error, "");
}

TEST(ClickHouseConfigTest, DescribesItsSettingsWithoutThePassword) {
  auto p = Parse(
      "sink:\n  type: clickhouse\n  clickhouse: {url: 'https://ch.example:8443', database: ev,"
      " user: loader, password: hunter2, ca_file: /ca.pem, timeout: 5s}\n");
  ASSERT_EQ(p.error, "");
  auto* ch = dynamic_cast<ClickHouseSettings*>(p.sink.settings.get());
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->config().password, "hunter2");
  std::ostringstream out;
  ch->Describe(out);
  EXPECT_EQ(out.str(),
            "  url: https://ch.example:8443\n"
            "  database: ev\n"
            "  user: loader\n"
            "  password: (set)\n"
            "  ca_file: /ca.pem\n"
            "  timeout: 5000 ms\n"
            "  visitor_column: sid\n"
            "  compress: true\n");
  EXPECT_EQ(ch->Summary(), "https://ch.example:8443, database ev");
  EXPECT_EQ(ch->Prepare().code(), Status::Code::kInvalidArgument);  // no /ca.pem here
}

TEST(ClickHouseConfigTest, DefaultsToTheOceanusDatabase) {
  auto p = Parse("sink:\n  type: clickhouse\n  clickhouse: {url: 'http://127.0.0.1:8123/'}\n");
  ASSERT_EQ(p.error, "");
  auto* ch = dynamic_cast<ClickHouseSettings*>(p.sink.settings.get());
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->config().database, "oceanus");
  EXPECT_TRUE(ch->Prepare().ok());
  std::ostringstream out;
  ch->Describe(out);
  EXPECT_NE(out.str().find("  password: (none)\n"), std::string::npos);
}

// examples/clickhouse.yaml: loads, selects the clickhouse sink with the URL from
// OCEANUS_CLICKHOUSE_URL, and carries the sites of examples/oceanus.yaml unchanged.
TEST(ClickHouseConfigTest, TheExampleLoadsWithTheSitesOfTheDefaultExample) {
  ::setenv("OCEANUS_DATA_DIR", "/tmp/oceanus-example", 1);
  ::setenv("OCEANUS_CLICKHOUSE_URL", "http://127.0.0.1:18123", 1);
  auto ch = app::LoadConfig(std::string(OCEANUS_SOURCE_DIR) + "/examples/clickhouse.yaml");
  auto base = app::LoadConfig(std::string(OCEANUS_SOURCE_DIR) + "/examples/oceanus.yaml");
  ::unsetenv("OCEANUS_CLICKHOUSE_URL");
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  EXPECT_EQ(ch->sink.type, "clickhouse");
  auto* settings = dynamic_cast<ClickHouseSettings*>(ch->sink.settings.get());
  ASSERT_NE(settings, nullptr);
  EXPECT_EQ(settings->config().url, "http://127.0.0.1:18123");
  EXPECT_EQ(settings->config().database, "oceanus");
  ASSERT_EQ(ch->sites.size(), base->sites.size());
  for (std::size_t i = 0; i < ch->sites.size(); ++i) {
    const auto& a = ch->sites[i];
    const auto& b = base->sites[i];
    EXPECT_EQ(a.name, b.name);
    ASSERT_EQ(a.schema.size(), b.schema.size()) << a.name;
    for (std::size_t f = 0; f < a.schema.size(); ++f) EXPECT_EQ(a.schema[f].name, b.schema[f].name);
  }
}

}  // namespace
}  // namespace oceanus::sink
