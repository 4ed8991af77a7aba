// Parses the rules section (react/rule_config.h).
#include "react/rule_config.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "config/config.h"
#include "config/reader.h"
#include "mustache/template.h"

namespace oceanus::react {
namespace {

using config::Field;
using config::Site;
using config::ValidName;

// A mustache template in the YAML: compiled here (and again, the same way, by RuleSet::Compile)
// so that a broken one is a config error at its position.
std::string TemplateText(const config::Reader& r, const YAML::Node& node) {
  std::string text = r.Str(node);
  auto compiled = mustache::Template::Compile(text);
  if (!compiled.ok()) r.Fail(node, "template: " + compiled.status().message());
  return text;
}

TemplateValue ParseTemplateValue(const config::Reader& r, const YAML::Node& node) {
  TemplateValue v;
  v.line = r.Line(node);
  if (node.IsMap()) {
    v.kind = TemplateValue::Kind::kMap;
    for (const auto& kv : node)
      v.fields.push_back({kv.first.as<std::string>(), ParseTemplateValue(r, kv.second)});
  } else if (node.IsSequence()) {
    v.kind = TemplateValue::Kind::kList;
    for (const auto& item : node) v.items.push_back(ParseTemplateValue(r, item));
  } else if (node.IsNull()) {
    v.text = "";
  } else {
    v.text = TemplateText(r, node);
  }
  return v;
}

Condition ParseCondition(const config::Reader& r, const YAML::Node& node, const Site& site);

// The names a rule's `when` and templates can test besides the schema's fields (react/rules.h:
// EventContext adds them to every event).
constexpr const char* kDerivedEventFields[] = {"site", "rule", "dt_local", "date_local"};

// `jsn.price` tests the field `jsn` (then looks into its JSON): the part before the first dot
// must be a field of the site's schema, or one the rules add.
void CheckConditionField(const config::Reader& r, const YAML::Node& key, const std::string& path,
                         const Site& site) {
  const std::string head = path.substr(0, path.find('.'));
  if (std::any_of(site.schema.begin(), site.schema.end(),
                  [&](const Field& f) { return f.name == head; }))
    return;
  if (std::any_of(std::begin(kDerivedEventFields), std::end(kDerivedEventFields),
                  [&](const char* name) { return head == name; }))
    return;
  r.Fail(
      key, "'" + path + "': site '" + site.name + "' has no field '" + head +
               "' (its schema has: " +
               [&] {
                 std::string list;
                 for (const auto& f : site.schema) list += (list.empty() ? "" : ", ") + f.name;
                 return list;
               }() +
               "; rules also see site, rule, dt_local, date_local)");
}

// One field's test: `evt: paid` (equals) or `evt: {contains: error}`.
Condition ParseFieldTest(const config::Reader& r, const std::string& field,
                         const YAML::Node& node) {
  Condition c;
  c.field = field;
  c.line = r.Line(node);
  if (!node.IsMap()) {
    if (node.IsSequence()) r.Fail(node, "'" + field + "': a list needs an operator: {in: [...]}");
    c.op = Condition::Op::kEquals;
    c.values.push_back(r.Str(node));
    return c;
  }
  if (node.size() != 1)
    r.Fail(node, "'" + field +
                     "': one operator per test (equals, in, contains, starts_with, matches, "
                     "exists); use all: [...] to combine");
  r.ExpectKeys(node, "the test of '" + field + "'",
               {"equals", "in", "contains", "starts_with", "matches", "exists"});
  const auto kv = *node.begin();
  const std::string op = kv.first.as<std::string>();
  if (op == "in") {
    c.op = Condition::Op::kIn;
    c.values = r.StrList(kv.second);
    if (c.values.empty()) r.Fail(kv.second, "'in' needs at least one value");
  } else if (op == "exists") {
    c.op = Condition::Op::kExists;
    c.exists = r.Bool(kv.second);
  } else {
    c.op = op == "equals"        ? Condition::Op::kEquals
           : op == "contains"    ? Condition::Op::kContains
           : op == "starts_with" ? Condition::Op::kStartsWith
                                 : Condition::Op::kMatches;
    c.values.push_back(r.Str(kv.second));
    if (c.op == Condition::Op::kMatches) {
      RE2 re(c.values[0], RE2::Quiet);
      if (!re.ok()) r.Fail(kv.second, "invalid RE2 pattern: " + re.error());
    }
  }
  return c;
}

// A mapping: all of its entries hold. Keys are field names (or jsn.paths), or all / any /
// not with nested conditions.
Condition ParseCondition(const config::Reader& r, const YAML::Node& node, const Site& site) {
  Condition c;
  c.op = Condition::Op::kAll;
  c.line = r.Line(node);
  if (node.IsNull()) return c;
  if (!node.IsMap())
    r.Fail(node, "a condition is a mapping of field: value (or all: / any: / not:)");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key == "all" || key == "any") {
      if (!kv.second.IsSequence() || kv.second.size() == 0)
        r.Fail(kv.second, "'" + key + "' needs a list of conditions");
      Condition group;
      group.op = key == "all" ? Condition::Op::kAll : Condition::Op::kAny;
      group.line = r.Line(kv.second);
      for (const auto& item : kv.second) group.children.push_back(ParseCondition(r, item, site));
      c.children.push_back(std::move(group));
    } else if (key == "not") {
      Condition group;
      group.op = Condition::Op::kNot;
      group.line = r.Line(kv.second);
      group.children.push_back(ParseCondition(r, kv.second, site));
      c.children.push_back(std::move(group));
    } else {
      const std::string head = key.substr(0, key.find('.'));
      if (!ValidName(head, false))
        r.Fail(kv.first, "'" + key + "' is not a field name (or all / any / not)");
      CheckConditionField(r, kv.first, key, site);
      c.children.push_back(ParseFieldTest(r, key, kv.second));
    }
  }
  return c;
}

RateGuard ParseRateGuard(const config::Reader& r, const YAML::Node& node, const std::string& what) {
  r.ExpectKeys(node, what, {"max", "window"});
  RateGuard g;
  if (!node["max"]) r.Fail(node, what + " needs max");
  g.max = static_cast<unsigned>(r.Unsigned(node["max"], 1'000'000'000));
  if (g.max == 0) r.Fail(node["max"], "max must be at least 1");
  if (node["window"]) g.window = r.Duration(node["window"]);
  if (g.window.count() <= 0) r.Fail(node["window"], "window must be above zero");
  return g;
}

Rule ParseRule(const config::Reader& r, const YAML::Node& node, const config::Config& c,
               const std::vector<actions::ActionConfig>& actions) {
  r.ExpectKeys(node, "a rule", {"name", "site", "when", "guard", "do", "description"});
  Rule rule;
  rule.line = r.Line(node);
  if (!node["name"]) r.Fail(node, "a rule needs a name");
  rule.name = r.Str(node["name"]);
  if (!ValidName(rule.name, true))
    r.Fail(node["name"], "rule name '" + rule.name + "' must match [a-z0-9_]+");
  if (!node["site"]) r.Fail(node, "rule '" + rule.name + "' needs a site");
  rule.site = r.Str(node["site"]);
  if (c.FindSite(rule.site) == nullptr)
    r.Fail(node["site"], "rule '" + rule.name + "': site '" + rule.site + "' is not configured");
  if (node["when"]) rule.when = ParseCondition(r, node["when"], *c.FindSite(rule.site));
  if (const auto& g = node["guard"]) {
    r.ExpectKeys(g, "guard", {"once", "per_ip", "total"});
    if (const auto& once = g["once"]) {
      r.ExpectKeys(once, "guard.once", {"key", "window"});
      if (!once["key"]) r.Fail(once, "guard.once needs a key (a template, e.g. docreq_{{sid}})");
      rule.guard.once_key = TemplateText(r, once["key"]);
      if (once["window"]) rule.guard.once_window = r.Duration(once["window"]);
    }
    if (g["per_ip"]) {
      if (c.FindSite(rule.site)->privacy.ip == config::IpPrivacy::kDrop)
        r.Fail(g["per_ip"], "rule '" + rule.name + "': guard.per_ip counts by client address, " +
                                "which site '" + rule.site +
                                "' does not store (privacy.ip: drop); use once or total");
      rule.guard.per_ip = ParseRateGuard(r, g["per_ip"], "guard.per_ip");
    }
    if (g["total"]) rule.guard.total = ParseRateGuard(r, g["total"], "guard.total");
  }
  const YAML::Node steps = node["do"];
  if (!steps || !steps.IsSequence() || steps.size() == 0)
    r.Fail(steps ? steps : node, "rule '" + rule.name + "' needs do: a list of actions");
  for (const auto& item : steps) {
    r.ExpectKeys(item, "a step of rule '" + rule.name + "'", {"action", "delay", "args"});
    RuleStep step;
    step.line = r.Line(item);
    if (!item["action"]) r.Fail(item, "a step needs an action (a name from actions:)");
    step.action = r.Str(item["action"]);
    if (actions::FindAction(actions, step.action) == nullptr)
      r.Fail(item["action"], "rule '" + rule.name + "': action '" + step.action +
                                 "' is not defined under actions:");
    if (item["delay"]) step.delay = r.Duration(item["delay"]);  // at most 365 days
    if (item["args"]) {
      if (!item["args"].IsMap()) r.Fail(item["args"], "args is a mapping of name: template");
      step.args = ParseTemplateValue(r, item["args"]);
    } else {
      step.args.kind = TemplateValue::Kind::kMap;
    }
    rule.steps.push_back(std::move(step));
  }
  return rule;
}

}  // namespace

std::vector<Rule> ParseRules(const config::Reader& r, const YAML::Node& rules,
                             const config::Config& shared,
                             const std::vector<actions::ActionConfig>& actions) {
  std::vector<Rule> out;
  if (!rules) return out;
  if (!rules.IsSequence()) r.Fail(rules, "rules is a list of rules");
  std::set<std::string> names;
  for (const auto& item : rules) {
    Rule rule = ParseRule(r, item, shared, actions);
    if (!names.insert(rule.name).second)
      r.Fail(item["name"], "rule '" + rule.name + "' is defined twice");
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace oceanus::react
