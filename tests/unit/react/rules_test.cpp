#include "react/rules.h"
#include "app/config.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "react/guard.h"
#include "tasks/task_queue_registry.h"

namespace oceanus::react {
namespace {

constexpr const char* kConfig = R"(
time_zone: "+09:00"
sites:
  page:
    endpoint: swallow
    schema:
      - {name: dt, from: now}
      - {name: evt}
      - {name: sid}
      - {name: uid}
      - {name: rad, from: client_ip}
      - {name: jsn, json: true}
actions:
  hook: {type: webhook, url: "http://127.0.0.1:1/hook"}
  quiet: {type: slack, url: ""}
rules:
  - name: paid
    site: page
    when: {evt: paid, jsn.price: {exists: true}}
    do:
      - action: hook
        delay: 90s
        args: {text: "{{jsn.title}} {{jsn.price}} {{dt_local}} {{date_local}} {{rule}}", list: ["{{uid}}", "x"]}
      - action: quiet
        args: {text: "never"}
  - name: errors
    site: page
    when: {any: [{evt: {contains: error}}, {evt: {starts_with: fail}}], not: {uid: {in: [bot1, bot2]}}}
    do: [{action: hook}]
  - name: pattern
    site: page
    when: {evt: {matches: "^click_[0-9]+$"}, uid: {exists: false}}
    do: [{action: hook}]
)";

struct Fixture {
  app::Config config;
  RuleSet rules;
  TimeZone tz;
};

Fixture Load() {
  auto c = app::ParseConfig(kConfig, "rules.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  Fixture f{std::move(c).value(), {}, {}};
  auto rules = RuleSet::Compile(f.config, f.config.rules, f.config.actions);
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  f.rules = std::move(rules).value();
  f.tz = TimeZone::Load("+09:00").value();
  return f;
}

std::vector<std::string> MatchingRules(Fixture& f, const std::string& record) {
  auto e = EventContext::Parse(record, "page", f.tz);
  EXPECT_TRUE(e.ok());
  std::vector<std::string> out;
  for (const auto* r : f.rules.RulesFor(0))
    if (f.rules.Matches(*r, *e)) out.push_back(r->rule->name);
  return out;
}

TEST(RulesTest, ConditionsSelectTheRightRules) {
  Fixture f = Load();
  using V = std::vector<std::string>;
  EXPECT_EQ(MatchingRules(f, R"({"evt":"paid","jsn":"{\"price\":100}"})"), V{"paid"});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"paid","jsn":"{\"title\":\"x\"}"})"), V{});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"paid"})"), V{});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"js_error","uid":"u"})"), V{"errors"});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"failed_login"})"), V{"errors"});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"js_error","uid":"bot2"})"), V{});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"click_12"})"), V{"pattern"});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"click_12","uid":"u"})"), V{});
  EXPECT_EQ(MatchingRules(f, R"({"evt":"click_x"})"), V{});
}

TEST(RulesTest, TasksAreRenderedWithStableIdsAndDelays) {
  Fixture f = Load();
  auto e = EventContext::Parse(
      R"({"dt":"2026-11-25 14:59:59.123456","eid":"E1","evt":"paid","uid":"u\"1",)"
      R"("jsn":"{\"price\":1200,\"title\":\"Guide <1>\"}"})",
      "page", f.tz);
  ASSERT_TRUE(e.ok());
  const CompiledRule& paid = *f.rules.RulesFor(0)[0];
  ASSERT_TRUE(f.rules.Matches(paid, *e));
  const auto now = tasks::Clock::now();
  auto tasks = f.rules.MakeTasks(paid, *e, now);
  // The step whose action has no address is skipped; ids count every step.
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].id, "paid/E1/1");
  EXPECT_EQ(tasks[0].action, "hook");
  EXPECT_EQ(tasks[0].site, "page");
  EXPECT_EQ(tasks[0].not_before, now + std::chrono::seconds(90));
  // Arguments are JSON; no HTML escaping; dt_local in +09:00 crosses midnight.
  EXPECT_EQ(tasks[0].args,
            R"({"text":"Guide <1> 1200 2026-11-25 23:59:59 20261125 paid","list":["u\"1","x"]})");
  rapidjson::Document event;
  event.Parse(tasks[0].event.c_str());
  EXPECT_STREQ(event["eid"].GetString(), "E1");
  // The same event makes the same ids again (the task queue stores them once).
  EXPECT_EQ(f.rules.MakeTasks(paid, *e, now)[0].id, "paid/E1/1");
  ASSERT_EQ(f.rules.Warnings().size(), 1u);
  EXPECT_NE(f.rules.Warnings()[0].find("action 'quiet' (slack) has no address"), std::string::npos);
}

TEST(RulesTest, ConfigMistakesNameTheLine) {
  auto bad_action = app::ParseConfig(std::string(kConfig) + R"(
  - name: typo
    site: page
    do: [{action: hokk}]
)",
                                     "rules.yaml");
  ASSERT_FALSE(bad_action.ok());
  EXPECT_NE(bad_action.status().message().find("rules.yaml:37:"), std::string::npos)
      << bad_action.status().message();
  EXPECT_NE(bad_action.status().message().find("action 'hokk' is not defined"), std::string::npos);

  auto bad_template = app::ParseConfig(std::string(kConfig) + R"(
  - name: broken
    site: page
    do: [{action: hook, args: {text: "{{#uid}}open"}}]
)",
                                       "rules.yaml");
  // Templates are compiled when the config loads: `check` and `run` refuse them alike.
  ASSERT_FALSE(bad_template.ok());
  EXPECT_EQ(bad_template.status().message().rfind("rules.yaml:37:38: template: ", 0), 0u)
      << bad_template.status().message();
  EXPECT_NE(bad_template.status().message().find("unclosed section 'uid'"), std::string::npos);

  auto bad_op = app::ParseConfig(std::string(kConfig) + R"(
  - name: op
    site: page
    when: {evt: {like: x}}
    do: [{action: hook}]
)",
                                 "rules.yaml");
  ASSERT_FALSE(bad_op.ok());
  EXPECT_NE(bad_op.status().message().find("unknown key 'like'"), std::string::npos);

  auto bad_site = app::ParseConfig(std::string(kConfig) + R"(
  - name: nosite
    site: other
    do: [{action: hook}]
)",
                                   "rules.yaml");
  ASSERT_FALSE(bad_site.ok());
  EXPECT_NE(bad_site.status().message().find("site 'other' is not configured"), std::string::npos);
}

// A Config built in code (not through the loader) with a delay past the limit: refused, so
// that now + delay cannot leave the clock's range (3000000h would wrap into the past).
TEST(RulesTest, DelaysBeyondTheLimitAreRefused) {
  auto c = app::ParseConfig(kConfig, "rules.yaml");
  ASSERT_TRUE(c.ok());
  c->rules[0].steps[0].delay = std::chrono::hours(3'000'000);
  auto compiled = RuleSet::Compile(*c, c->rules, c->actions);
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.status().message().find("rules.yaml:21: delay must be between 0 and 365d"),
            std::string::npos)
      << compiled.status().message();
  c->rules[0].steps[0].delay = kMaxConfigDuration;
  auto longest = RuleSet::Compile(*c, c->rules, c->actions);
  ASSERT_TRUE(longest.ok());
  auto e =
      EventContext::Parse(R"({"eid":"E","evt":"paid","jsn":"{\"price\":1}"})", "page", TimeZone());
  ASSERT_TRUE(e.ok());
  const auto now = tasks::Clock::now();
  auto tasks = longest->MakeTasks(*longest->RulesFor(0)[0], *e, now);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_GT(tasks[0].not_before, now);
  EXPECT_EQ(tasks[0].not_before - now, kMaxConfigDuration);
}

TEST(RulesTest, RulesAddTheReactGroup) {
  auto c = app::ParseConfig(kConfig, "rules.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->queue.groups, (std::vector<std::string>{"load", "react"}));
  EXPECT_EQ(c->tasks.type, "local");
  EXPECT_EQ(c->tasks.queue->Where(), "./data/tasks.db");
}

TEST(GuardTest, LocalOnceCountsAndWindows) {
  LocalGuardStore g;
  EXPECT_TRUE(*g.Once("docreq_a", "E1", std::chrono::minutes(1)));
  EXPECT_FALSE(*g.Once("docreq_a", "E2", std::chrono::minutes(1)));
  // The event that took the key passes again (a replay after a restart).
  EXPECT_TRUE(*g.Once("docreq_a", "E1", std::chrono::minutes(1)));
  EXPECT_TRUE(*g.Once("docreq_b", "E2", std::chrono::minutes(1)));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(*g.Allow("ip:1.2.3.4", 6, std::chrono::minutes(1)));
  EXPECT_FALSE(*g.Allow("ip:1.2.3.4", 6, std::chrono::minutes(1)));
  EXPECT_TRUE(*g.Allow("ip:5.6.7.8", 6, std::chrono::minutes(1)));
  // A window that has passed starts again.
  EXPECT_TRUE(*g.Once("short", "E1", std::chrono::milliseconds(1)));
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
  while (std::chrono::steady_clock::now() < until) {
  }
  EXPECT_TRUE(*g.Once("short", "E2", std::chrono::minutes(1)));
}

}  // namespace
}  // namespace oceanus::react
