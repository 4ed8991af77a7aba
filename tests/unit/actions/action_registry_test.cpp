// The action registry holds exactly the shipped types; an unknown type's message names them;
// each type describes its resolved settings without its secrets.
#include "actions/action_registry.h"

#include <gtest/gtest.h>

#include <sstream>

#include "actions/registry.h"
#include "app/config.h"

namespace oceanus::actions {
namespace {

constexpr const char* kSite = "sites:\n  a:\n    endpoint: swallow\n    schema: [{name: x}]\n";

TEST(ActionRegistryTest, HoldsTheShippedTypes) {
  EXPECT_EQ(ActionRegistry::Get().Types(),
            "history_report, sendgrid, sheets, slack, smtp, webhook");
}

TEST(ActionRegistryTest, UnknownTypeListsTheRegisteredOnes) {
  auto c = app::ParseConfig(std::string("actions:\n  x: {type: fax}\n") + kSite, "f");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "f:2:13: unknown action type 'fax' (expected one of: history_report, sendgrid, "
            "sheets, slack, smtp, webhook)");
}

TEST(ActionRegistryTest, UnknownKeyListsTheTypesKeys) {
  auto c =
      app::ParseConfig(std::string("actions:\n  x: {type: slack, headers: {}}\n") + kSite, "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown key 'headers' in action 'x' of type slack "
                                      "(expected one of: type, rate_limit, timeout, url)"),
            std::string::npos)
      << c.status().message();
}

std::string Described(const app::Config& c, const std::string& name) {
  std::ostringstream out;
  FindAction(c.actions, name)->settings->Describe(out);
  return out.str();
}

TEST(ActionRegistryTest, DescribeRedactsUrlsAndSecrets) {
  auto c = app::ParseConfig(
      std::string("actions:\n"
                  "  hook: {type: webhook, url: 'https://h.example/T0/secret', "
                  "headers: {X-Token: tok}}\n"
                  "  mail: {type: smtp, url: 'smtp://m.example:25', password: pw, from: a@b}\n"
                  "  grid: {type: sendgrid, api_key: key, from: a@b}\n") +
          kSite,
      "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string hook = Described(*c, "hook");
  EXPECT_EQ(hook, "  url: https://h.example/…\n  header X-Token: (set)\n");
  const std::string mail = Described(*c, "mail");
  EXPECT_NE(mail.find("  password: (set)\n"), std::string::npos) << mail;
  EXPECT_EQ(mail.find("pw"), std::string::npos) << mail;
  const std::string grid = Described(*c, "grid");
  EXPECT_NE(grid.find("  api_key: (set)\n"), std::string::npos) << grid;
  EXPECT_EQ(grid.find("key\n"), std::string::npos) << grid;
}

TEST(ActionRegistryTest, OnlyHistoryReportsNeedTheHistory) {
  auto c = app::ParseConfig(
      std::string("actions:\n  hook: {type: webhook, url: 'http://127.0.0.1:1/'}\n") + kSite, "f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(NeedsHistory(c->actions));
  EXPECT_TRUE(CheckActions(c->actions).ok());
}

}  // namespace
}  // namespace oceanus::actions
