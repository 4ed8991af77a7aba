#include "app/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "config/reader.h"
#include "queue/redis/redis_config.h"
#include "sink/bigquery/bigquery_config.h"
#include "sink/sqlite/sqlite_config.h"
#include "util/time.h"

namespace oceanus::config {
namespace {

using app::LoadConfig;
using app::ParseConfig;

std::string SqlitePath(const app::Config& c) {
  const auto* sqlite = dynamic_cast<const sink::SqliteSettings*>(c.sink.settings.get());
  return sqlite != nullptr ? sqlite->path() : "(not sqlite)";
}

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
  EXPECT_EQ(c->load.writers, 1u);  // SQLite takes one writer at a time
  EXPECT_EQ(SqlitePath(*c), "./data/oceanus.db");
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
      {"server: {background_priority: low}\nsites:\n  a:\n    endpoint: swallow\n"
       "    schema: [{name: x}]\n",
       "f:1:31: unknown background_priority 'low' (expected one of: nice, idle)"},
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
  EXPECT_EQ(SqlitePath(*c), "/tmp/d.db");

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
  EXPECT_EQ(c->FindSite("sampleform")->endpoint, "pirate");
  EXPECT_EQ(c->FindSite("samplemail")->endpoint, "gaze");
  EXPECT_EQ(c->FindSite("sampleserver")->endpoint, "pierce");
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
  const auto* bq = dynamic_cast<const sink::BigQuerySettings*>(c->sink.settings.get());
  ASSERT_NE(bq, nullptr);
  EXPECT_EQ(bq->config().dataset, "Events_2");
}

// A config error must start with "f:LINE:COL: " and say `what`.
void ExpectError(const std::string& yaml, const std::string& where, const std::string& what) {
  auto c = ParseConfig(yaml, "f");
  ASSERT_FALSE(c.ok()) << yaml;
  const std::string& m = c.status().message();
  EXPECT_EQ(m.rfind("f:" + where + ": ", 0), 0u) << "got: " << m << "\nwant at: f:" << where;
  EXPECT_NE(m.find(what), std::string::npos) << "got: " << m << "\nwant: " << what;
}

constexpr const char* kSite = "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n";

TEST(ConfigTest, LoadWritersDefaultToTwoWhereTheSinkTakesThemAndFollowTheFile) {
  const std::string sink = "sink: {type: postgres, postgres: {url: 'postgresql://u@h/db'}}\n";
  auto c = ParseConfig(sink + kSite, "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->load.writers, 2u);
  c = ParseConfig(sink + "load: {writers: 4}\n" + kSite, "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->load.writers, 4u);
}

// Issue 12 item 10: each of these passed `check` and then failed `run`.
TEST(ConfigTest, WhatRunWouldRefuseIsRefusedAtLoad) {
  ExpectError(std::string("server: {trusted_proxies: [10.0.0.0/8, 10.0.0.0/33]}\n") + kSite, "1:40",
              "server.trusted_proxies: prefix /33 is longer than the address");
  ExpectError(std::string("server:\n  internal_networks:\n    - ::1/129\n") + kSite, "3:7",
              "server.internal_networks: prefix /129 is longer than the address");
  ExpectError(std::string("server: {trusted_proxies: [not-an-ip]}\n") + kSite, "1:28",
              "'not-an-ip' is not an IP network");
  ExpectError(std::string("server: {listen: 'localhost:8080'}\n") + kSite, "1:18",
              "'localhost' is not an IP address (host names are not resolved): use an IP address "
              "such as 127.0.0.1");
  ExpectError(std::string("admin: {listen: 'localhost:9090'}\n") + kSite, "1:17",
              "use an IP address such as 127.0.0.1");
  // A history report's template file is opened (and compiled) at load.
  const std::string report = std::string(kSite) +
                             "actions:\n"
                             "  mail: {type: smtp, url: 'smtp://127.0.0.1:25', from: a@b}\n"
                             "  report: {type: history_report, mailer: mail, site: a, by: x,\n"
                             "           template: /nonexistent/report.html}\n";
  ExpectError(report, "8:22", "cannot read the template file /nonexistent/report.html");
  // What the report and the task queue refused only when used.
  ExpectError(std::string(kSite) +
                  "actions:\n"
                  "  mail: {type: smtp, url: '', from: a@b}\n"
                  "  report: {type: history_report, mailer: mail, site: a, by: uid, template: t}\n",
              "7:61", "history_report 'report': site 'a' has no field 'uid'");
  ExpectError(std::string("tasks: {rabbitmq: {queue: ''}}\n") + kSite, "1:27",
              "tasks.rabbitmq.queue is empty");
  // Names stay allowed where a client connects (Redis resolves them).
  auto redis =
      ParseConfig(std::string("queue: {redis: {address: 'redis.internal:6379'}}\n") + kSite, "f");
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  auto typed = ParseConfig(
      std::string("queue: {type: redis, redis: {address: 'redis.internal:6379'}}\n") + kSite, "f");
  ASSERT_TRUE(typed.ok()) << typed.status().ToString();
  EXPECT_EQ(queue::redis::RedisConfigOf(typed->queue)->host, "redis.internal");
}

TEST(ConfigTest, ListenAddressesMustBeIpAddresses) {
  EXPECT_EQ(ParseListenAddress("127.0.0.1:80")->host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress("[::1]:80")->host, "::1");
  EXPECT_EQ(ParseListenAddress(":80")->host, "");
  EXPECT_FALSE(ParseListenAddress("localhost:80").ok());
  EXPECT_FALSE(ParseListenAddress("example.com:80").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:99999").ok());
}

TEST(ConfigTest, ReportTemplateMistakesNameTheFileLineAndColumn) {
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream(dir + "/broken.html") << "<p>hello</p>\n<p>{{event.uid</p>\n";
    std::ofstream(dir + "/good.html") << "<p>{{event.uid}}</p>\n";
  }
  const std::string base =
      std::string(kSite) +
      "actions:\n"
      "  mail: {type: smtp, url: 'smtp://127.0.0.1:25', from: a@b}\n"
      "  report: {type: history_report, mailer: mail, site: a, by: x, template: ";
  ExpectError(base + dir + "/broken.html}\n", "7:74",
              dir +
                  "/broken.html: unclosed tag '{{event.uid</p>…' (no }} before the next tag or "
                  "the end) at line 2, column 4");
  EXPECT_TRUE(ParseConfig(base + dir + "/good.html}\n", "f").ok());
  // Relative to the config file, as the report reads it.
  EXPECT_EQ(ResolveConfigRelative("/etc/oceanus/oceanus.yaml", "report.html"),
            "/etc/oceanus/report.html");
  EXPECT_EQ(ResolveConfigRelative("/etc/oceanus/oceanus.yaml", "/srv/r.html"), "/srv/r.html");
}

// Issue 12 item 11: values that were accepted and meant nothing (or something else).
TEST(ConfigTest, NonsenseIsRefusedWithItsPosition) {
  // Duplicate keys: yaml-cpp kept both sites (and node["key"] finds only the first).
  ExpectError(
      "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n"
      "  a:\n    endpoint: pirate\n    schema: [{name: y}]\n",
      "5:3", "key 'a' is given twice in this mapping (first at line 2)");
  ExpectError(std::string("load: {batch_rows: 5, batch_rows: 6}\n") + kSite, "1:23",
              "key 'batch_rows' is given twice");
  ExpectError(std::string("load: {batch_bytes: 0}\n") + kSite, "1:21",
              "batch_bytes '0' is below the minimum 1B");
  ExpectError(std::string("load: {batch_rows: 0}\n") + kSite, "1:20",
              "batch_rows must be at least 1");
  ExpectError(std::string("load: {writers: 2}\n") + kSite, "1:17",
              "writers: sink type sqlite takes at most 1 writer(s) at a time");
  ExpectError(std::string("load: {writers: 0}\n") + kSite, "1:17", "writers must be at least 1");
  ExpectError(std::string("server: {read_timeout: 0s}\n") + kSite, "1:24",
              "read_timeout must be above zero");
  ExpectError(std::string("server: {idle_timeout: 0ms}\n") + kSite, "1:24",
              "idle_timeout must be above zero");
  ExpectError(std::string("server: {max_connections: 0}\n") + kSite, "1:27",
              "max_connections must be at least 1");
  ExpectError(std::string("server: {max_header_bytes: 2MiB}\n") + kSite, "1:28",
              "max_header_bytes '2MiB' is larger than the maximum 1MiB");
  ExpectError(std::string("server: {max_header_bytes: 0}\n") + kSite, "1:28",
              "max_header_bytes '0' is below the minimum 256B");
  ExpectError(std::string("server: {max_header_bytes: 4GiB}\n") + kSite, "1:28",
              "is larger than the maximum 1MiB");
  ExpectError(std::string("server: {max_body_bytes: 99999999999999999999}\n") + kSite, "1:26",
              "max_body_bytes '99999999999999999999' is larger than the maximum 1GiB");
  ExpectError(std::string("queue: {segment_bytes: 17179869184GiB}\n") + kSite, "1:24",
              "is larger than the maximum 1GiB");
  ExpectError(std::string("server: {threads: 99999999999999999999}\n") + kSite, "1:19",
              "value 99999999999999999999 is larger than 256");
  ExpectError(std::string("load: {max_wait: 999999999999999999999h}\n") + kSite, "1:18",
              "duration '999999999999999999999h' is longer than the maximum 365d");
  // The limits themselves are accepted.
  auto ok = ParseConfig(std::string("server: {max_header_bytes: 1MiB, max_connections: 1}\n"
                                    "load: {batch_bytes: 1, max_wait: 365d}\n") +
                            kSite,
                        "f");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->server.max_header_bytes, 1024u * 1024u);
  EXPECT_EQ(ok->load.max_wait, std::chrono::hours(24 * 365));
}

TEST(ConfigTest, RuleMistakesAreRefusedWithTheirPosition) {
  const std::string head =
      "sites:\n  page:\n    endpoint: swallow\n    schema: [{name: evt}, {name: jsn, json: true}]\n"
      "actions:\n  hook: {type: webhook, url: 'http://127.0.0.1:1/'}\n"
      "rules:\n  - name: r\n    site: page\n";
  // A step delay of 3000000h overflowed the task clock and fired at once.
  ExpectError(head + "    do: [{action: hook, delay: 3000000h}]\n", "10:32",
              "duration '3000000h' is longer than the maximum 365d");
  // A field the site does not have.
  ExpectError(head + "    when: {evnt: paid}\n    do: [{action: hook}]\n", "10:12",
              "'evnt': site 'page' has no field 'evnt'");
  ExpectError(head + "    when: {any: [{evt: a}, {price.x: 1}]}\n    do: [{action: hook}]\n",
              "10:29", "'price.x': site 'page' has no field 'price'");
  // An unclosed tag: the next tag's braces used to close it, and it rendered nothing.
  ExpectError(head + "    do: [{action: hook, args: {text: 'paid: {{jsn.title ({{evt}})'}}]\n",
              "10:38", "template: unclosed tag '{{jsn.title ({{evt}})' (no }} before the next tag");
  ExpectError(head + "    guard: {once: {key: 'k_{{evt'}}\n    do: [{action: hook}]\n", "10:25",
              "template: unclosed tag");
  // JSON paths, the fields rules add, and the longest delay pass.
  auto ok = ParseConfig(head +
                            "    when: {jsn.price: {exists: true}, dt_local: {starts_with: '2'},"
                            " site: page, rule: r, date_local: {exists: true}}\n"
                            "    do: [{action: hook, delay: 365d}]\n",
                        "f");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->rules[0].steps[0].delay, std::chrono::hours(24 * 365));
}

TEST(ConfigTest, DurationsAreCheckedForOverflow) {
  EXPECT_EQ(*ParseDuration("1500ms"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*ParseDuration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(*ParseDuration("7d"), std::chrono::hours(24 * 7));
  EXPECT_FALSE(ParseDuration("366d").ok());
  EXPECT_FALSE(ParseDuration("8761h").ok());
  EXPECT_TRUE(ParseDuration("8760h").ok());
  EXPECT_FALSE(ParseDuration("18446744073709551617ms").ok());
  EXPECT_FALSE(ParseDuration("9223372036854775808s").ok());
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("h").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_EQ(FormatDuration(std::chrono::hours(24 * 365)), "365d");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(1500)), "1500ms");
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto c = LoadConfig("/nonexistent/oceanus.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kNotFound);
}

TEST(ConfigTest, BackgroundPriorityIsNiceUnlessIdleIsChosen) {
  const std::string sites = "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n";
  auto plain = ParseConfig(sites, "f");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->server.background_priority, BackgroundPriority::kNice);
  auto idle = ParseConfig("server: {background_priority: idle}\n" + sites, "f");
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(idle->server.background_priority, BackgroundPriority::kIdle);
}

}  // namespace
}  // namespace oceanus::config
