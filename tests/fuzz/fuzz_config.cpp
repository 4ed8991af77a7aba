// Fuzzes config loading from YAML text: config::ParseConfig (the string entry point under
// LoadConfig), and then what start-up builds from an accepted config — each site's
// EventBuilder (RE2 patterns), the network lists, the time zone, and the rule set (conditions,
// templates), which is also applied to a fixed event of each site.
// Invariants: a bad file is an error whose message starts with the file name (never a crash,
// an uncaught exception, or undefined behaviour such as an overflowing duration); an accepted
// config has at least one site, every site has an `eid` from event_id, names are what the
// loader promises, the default site is a swallow site, and every site compiles into an
// EventBuilder (its patterns were checked at load).

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "app/config.h"
#include "event/event_builder.h"
#include "fuzz_check.h"
#include "react/rules.h"
#include "util/net.h"
#include "util/time.h"

namespace {

using oceanus::config::FieldSource;

// An event with the fields the example rules read; every site gets the same one.
constexpr const char* kRecord =
    R"({"dt":"2025-11-25 01:02:03.123456","eid":"019ab8f0-0000-7000-8000-000000000001",)"
    R"("evt":"paid","jsn":"{\"price\":1200.50,\"title\":\"A & B\",\"tags\":[\"x\",\"y\"]}",)"
    R"("rad":"203.0.113.5","sid":"0123abcd","uid":"u1","url":"https://example.jp/","n":3})";

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SilenceLogsOnce();

  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = oceanus::app::ParseConfig(text, "fuzz.yaml");
  if (!config.ok()) {
    const std::string& message = config.status().message();
    FUZZ_CHECK(message.rfind("fuzz.yaml", 0) == 0, "error without the file name: %s",
               message.c_str());
    return 0;
  }
  const oceanus::app::Config& c = *config;
  FUZZ_CHECK(!c.sites.empty(), "a config without sites was accepted");
  for (const auto& site : c.sites) {
    FUZZ_CHECK(ValidName(site.name), "site name '%s'", site.name.c_str());
    bool has_eid = false;
    for (const auto& f : site.schema) {
      FUZZ_CHECK(ValidName(f.name), "field name '%s'", f.name.c_str());
      if (f.name == "eid") has_eid = f.from == FieldSource::kEventId;
    }
    FUZZ_CHECK(has_eid, "site %s has no eid from event_id", site.name.c_str());
    auto builder = oceanus::event::EventBuilder::Compile(site);
    FUZZ_CHECK(builder.ok(), "accepted site does not compile: %s",
               builder.status().ToString().c_str());
  }
  if (!c.default_site.empty()) {
    const auto* site = c.FindSite(c.default_site);
    FUZZ_CHECK(site != nullptr && site->endpoint == "swallow",
               "default_site '%s' is not a swallow site", c.default_site.c_str());
  }
  for (const auto& a : c.actions) FUZZ_CHECK(ValidName(a.name), "action '%s'", a.name.c_str());

  // What start-up does next; errors are fine, crashes are not.
  (void)oceanus::NetworkSet::Parse(c.server.trusted_proxies);
  (void)oceanus::NetworkSet::Parse(c.server.internal_networks);
  auto tz = oceanus::TimeZone::Load(c.time_zone);
  auto rules = oceanus::react::RuleSet::Compile(c, c.rules, c.actions);
  if (!rules.ok()) return 0;
  std::ostringstream described;
  rules->Describe(described);
  (void)rules->Warnings();
  for (std::size_t s = 0; s < c.sites.size(); ++s) {
    for (const auto* rule : rules->RulesFor(s)) {
      auto event = oceanus::react::EventContext::Parse(kRecord, c.sites[s].name,
                                                       tz.ok() ? *tz : oceanus::TimeZone());
      FUZZ_CHECK(event.ok(), "fixed record must parse");
      event->SetRule(rule->rule->name);
      if (!rules->Matches(*rule, *event)) continue;
      if (rule->once_key) (void)rules->OnceKey(*rule, *event);
      const auto tasks = rules->MakeTasks(
          *rule, *event, oceanus::tasks::Clock::time_point(std::chrono::seconds(1764000000)));
      for (const auto& t : tasks)
        FUZZ_CHECK(t.id.rfind(rule->rule->name + "/", 0) == 0, "task id %s", t.id.c_str());
    }
  }
  return 0;
}
