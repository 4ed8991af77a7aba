// Parses the actions section (actions/action_config.h): the common keys of each action here,
// its type's keys by the type's factory (actions/action_registry.h).
#include "actions/action_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "actions/action_registry.h"
#include "config/config.h"
#include "config/reader.h"

namespace oceanus::actions {
namespace {

using config::ValidName;

// "15/m", "15/1m", "100/s", "2/30s": at most count per period.
RateLimit ParseRateLimit(const config::Reader& r, const YAML::Node& node) {
  const std::string s = r.Str(node);
  const std::size_t slash = s.find('/');
  RateLimit limit;
  if (slash == std::string::npos || slash == 0 ||
      !std::all_of(s.begin(), s.begin() + static_cast<long>(slash), ::isdigit) || slash > 9)
    r.Fail(node, "rate_limit is COUNT/PERIOD, e.g. 15/m or 100/10s, got '" + s + "'");
  limit.count = static_cast<unsigned>(std::stoul(s.substr(0, slash)));
  std::string period = s.substr(slash + 1);
  if (!period.empty() && !std::isdigit(static_cast<unsigned char>(period[0])))
    period = "1" + period;
  // The duration syntax, with errors reported at the original node.
  auto per = ParseDuration(period);
  if (!per.ok()) r.Fail(node, "rate_limit period: " + per.status().message() + " (e.g. 15/m)");
  limit.per = *per;
  if (limit.count == 0 || limit.per.count() <= 0)
    r.Fail(node, "rate_limit needs a count and a period above zero");
  return limit;
}

// Every key of the action is a common one or one its type declares.
void CheckKeys(const config::Reader& r, const YAML::Node& node, const ActionConfig& a,
               const std::vector<const char*>& allowed) {
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    if (k == "type" || k == "rate_limit" || k == "timeout" || k == "description") continue;
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* key) { return k == key; }) !=
        allowed.end())
      continue;
    std::string list = "type, rate_limit, timeout";
    for (const char* key : allowed) list += ", " + std::string(key);
    r.Fail(kv.first, "unknown key '" + k + "' in action '" + a.name + "' of type " + a.type +
                         " (expected one of: " + list + ")");
  }
}

ActionConfig ParseAction(const config::Reader& r, const YAML::Node& key, const YAML::Node& node) {
  ActionConfig a;
  a.name = key.as<std::string>();
  a.line = r.Line(key);
  if (!ValidName(a.name, true)) r.Fail(key, "action name '" + a.name + "' must match [a-z0-9_]+");
  if (!node.IsMap() || !node["type"]) r.Fail(key, "action '" + a.name + "' needs a type");
  a.type = r.Str(node["type"]);
  const ActionFactory* factory = ActionRegistry::Get().Find(a.type);
  if (factory == nullptr)
    r.Fail(node["type"], "unknown action type '" + a.type +
                             "' (expected one of: " + ActionRegistry::Get().Types() + ")");
  CheckKeys(r, node, a, factory->Keys());
  a.settings = factory->Parse(r, key, node, a);
  if (node["rate_limit"]) a.rate_limit = ParseRateLimit(r, node["rate_limit"]);
  if (node["timeout"]) a.timeout = r.Duration(node["timeout"]);
  if (node["description"] && node["description"].IsScalar())
    a.description = node["description"].Scalar();
  return a;
}

}  // namespace

const ActionConfig* FindAction(const std::vector<ActionConfig>& actions, std::string_view name) {
  for (const auto& a : actions)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<std::string> ParseAddressList(const config::Reader& r, const YAML::Node& to) {
  if (to.IsSequence()) return r.StrList(to);
  std::vector<std::string> out;
  const std::string list = r.Str(to);
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string one = list.substr(start, comma - start);
    one.erase(0, one.find_first_not_of(" \t"));
    one.erase(one.find_last_not_of(" \t") + 1);
    if (!one.empty()) out.push_back(one);
    start = comma + 1;
  }
  return out;
}

std::vector<ActionConfig> ParseActions(const config::Reader& r, const YAML::Node& actions,
                                       const config::Config& shared) {
  std::vector<ActionConfig> out;
  if (!actions) return out;
  if (!actions.IsMap()) r.Fail(actions, "actions is a mapping of name to settings");
  for (const auto& kv : actions) {
    ActionConfig a = ParseAction(r, kv.first, kv.second);
    if (FindAction(out, a.name) != nullptr)
      r.Fail(kv.first, "action '" + a.name + "' is defined twice");
    out.push_back(std::move(a));
  }
  for (ActionConfig& a : out)
    ActionRegistry::Get().Find(a.type)->Link(r, actions[a.name], a, out, shared);
  return out;
}

}  // namespace oceanus::actions
