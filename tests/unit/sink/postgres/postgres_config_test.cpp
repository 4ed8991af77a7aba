// The postgres sink's block of the sink section: the URL required when selected and checked by
// libpq's parser at its position, the timeouts, and no password in what `check` prints.
#include "sink/postgres/postgres_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
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
  shared.data_dir = "/d";
  Parsed p;
  try {
    p.sink = ParseSinkConfig(r, YAML::Load(yaml)["sink"], shared);
  } catch (const config::ConfigError& e) {
    p.error = e.message;
  }
  return p;
}

TEST(PostgresConfigTest, NeedsAUrlWhenSelected) {
  EXPECT_EQ(Parse("sink:\n  type: postgres\n").error,
            "f:2:3: sink type postgres needs sink.postgres.url");
  EXPECT_EQ(Parse("sink:\n  type: postgres\n  postgres: {statement_timeout: 5s}\n").error,
            "f:3:13: sink type postgres needs sink.postgres.url");
  // Another type selected: the block is still checked, nothing is required.
  EXPECT_EQ(Parse("sink:\n  type: sqlite\n  postgres: {statement_timeout: 5s}\n").error, "");
}

TEST(PostgresConfigTest, RefusesWhatLibpqCannotParseAtTheKey) {
  auto p = Parse("sink:\n  type: postgres\n  postgres:\n    url: 'host=x port'\n");
  EXPECT_EQ(p.error.rfind("f:4:10: sink.postgres.url is not a libpq connection string or URI: ", 0),
            0u)
      << p.error;
  auto uri = Parse("sink:\n  type: sqlite\n  postgres:\n    url: 'postgresql://h/db?nosuch=1'\n");
  EXPECT_NE(uri.error.find("f:4:10: sink.postgres.url"), std::string::npos) << uri.error;
  EXPECT_NE(uri.error.find("nosuch"), std::string::npos) << uri.error;
}

TEST(PostgresConfigTest, RefusesUnknownKeysAndBadTimeouts) {
  auto unknown = Parse("sink:\n  type: postgres\n  postgres: {url: 'host=h', uri: x}\n");
  EXPECT_NE(unknown.error.find("f:3:"), std::string::npos) << unknown.error;
  EXPECT_NE(unknown.error.find("uri"), std::string::npos) << unknown.error;
  auto zero =
      Parse("sink:\n  type: postgres\n  postgres: {url: 'host=h', statement_timeout: 0s}\n");
  EXPECT_NE(zero.error.find("f:3:"), std::string::npos) << zero.error;
  auto huge =
      Parse("sink:\n  type: postgres\n  postgres: {url: 'host=h', statement_timeout: 2d}\n");
  EXPECT_EQ(huge.error, "f:3:48: statement_timeout must be at most 1d");
}

TEST(PostgresConfigTest, DescribesWithoutThePassword) {
  auto p = Parse(
      "sink:\n  type: postgres\n  postgres:\n"
      "    url: 'postgresql://loader:s3cret@db.example:6543/events?sslmode=require'\n"
      "    statement_timeout: 5s\n");
  ASSERT_EQ(p.error, "");
  auto* pg = dynamic_cast<PostgresSettings*>(p.sink.settings.get());
  ASSERT_NE(pg, nullptr);
  std::ostringstream out;
  pg->Describe(out);
  EXPECT_EQ(out.str(),
            "  url: user=loader password=(hidden) dbname=events host=db.example port=6543 "
            "sslmode=require\n"
            "  password: (from the url, PGPASSWORD or ~/.pgpass)\n"
            "  statement_timeout: 5000 ms\n"
            "  connect_timeout: 10000 ms\n");
  EXPECT_EQ(pg->Summary(), "loader@db.example:6543/events");
  EXPECT_EQ(out.str().find("s3cret"), std::string::npos);

  auto with = Parse(
      "sink:\n  type: postgres\n  postgres: {url: 'host=h dbname=d user=u', password: pw9}\n");
  ASSERT_EQ(with.error, "");
  std::ostringstream described;
  with.sink.settings->Describe(described);
  EXPECT_EQ(described.str().find("pw9"), std::string::npos) << described.str();
  EXPECT_NE(described.str().find("password: (set, hidden)"), std::string::npos);
  EXPECT_EQ(with.sink.settings->Summary(), "u@h:5432/d");
}

// examples/postgres.yaml: accepted, on PostgreSQL, with exactly the sites of the main example.
TEST(PostgresConfigTest, TheExampleHasTheSitesOfTheMainExample) {
  ::setenv("OCEANUS_DATA_DIR", "/tmp/oceanus-example", 1);
  ::setenv("OCEANUS_POSTGRES_URL", "postgresql://loader@db.example/analytics", 1);
  auto pg = app::LoadConfig(std::string(OCEANUS_SOURCE_DIR) + "/examples/postgres.yaml");
  ::unsetenv("OCEANUS_POSTGRES_URL");
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  auto main = app::LoadConfig(std::string(OCEANUS_SOURCE_DIR) + "/examples/oceanus.yaml");
  ASSERT_TRUE(main.ok()) << main.status().ToString();
  EXPECT_EQ(pg->sink.type, "postgres");
  EXPECT_EQ(pg->sink.settings->Summary(), "loader@db.example:5432/analytics");
  ASSERT_EQ(pg->sites.size(), main->sites.size());
  for (std::size_t i = 0; i < pg->sites.size(); ++i) {
    const auto& a = pg->sites[i];
    const auto& b = main->sites[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.tables, b.tables) << a.name;
    ASSERT_EQ(a.schema.size(), b.schema.size()) << a.name;
    for (std::size_t f = 0; f < a.schema.size(); ++f) {
      EXPECT_EQ(a.schema[f].name, b.schema[f].name) << a.name;
      EXPECT_EQ(a.schema[f].type, b.schema[f].type) << a.name;
    }
  }
}

}  // namespace
}  // namespace oceanus::sink
