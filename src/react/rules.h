// Rules compiled from the config: which events of a site match, and what tasks they make.
//
// A rule is compiled once at start (patterns, templates; every mistake is "file:line:
// message"), then applied to each event of its site: `Matches` evaluates the `when`
// condition, and `MakeTasks` renders each step's arguments from the event into a Task whose
// id is "<rule>/<eid>/<step>", so that seeing the same event again makes the same tasks and
// the task queue stores them once. Guards (once per key, per IP, in total) are checked by
// the reactor between the two, because they need a shared store (react/guard.h).
#pragma once

#include <rapidjson/document.h>
#include <re2/re2.h>

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "actions/action_config.h"
#include "config/config.h"
#include "mustache/template.h"
#include "react/rule_config.h"
#include "tasks/task.h"
#include "util/status.h"
#include "util/time.h"

namespace oceanus::react {

// Rule arguments and once-keys are mustache templates (mustache/template.h).
using mustache::JsonCache;
using mustache::Template;
using mustache::ValueText;

// An event as the rules see it: the record's fields plus `site`, `rule`, `dt_local`
// ("YYYY-MM-DD HH:MM:SS" in the configured zone) and `date_local` ("YYYYMMDD").
class EventContext {
 public:
  // Fails (Corruption) when `record` is not a JSON object.
  static Result<EventContext> Parse(std::string_view record, const std::string& site,
                                    const TimeZone& tz);
  const rapidjson::Value& value() const { return doc_; }
  JsonCache& cache() { return *cache_; }
  const std::string& record() const { return record_; }
  // The record's field as text ("" when missing).
  std::string Field(std::string_view name) const;
  void SetRule(const std::string& rule);

 private:
  rapidjson::Document doc_;
  std::unique_ptr<JsonCache> cache_;
  std::string record_;
};

// A step's arguments: the shape of the YAML with a template at each leaf.
struct CompiledValue {
  struct Field;
  react::TemplateValue::Kind kind = react::TemplateValue::Kind::kString;
  Template text;
  std::vector<CompiledValue> items;
  std::vector<Field> fields;
};
struct CompiledValue::Field {
  std::string name;
  CompiledValue value;
};

struct CompiledCondition {
  react::Condition::Op op = react::Condition::Op::kAll;
  std::string path;
  std::vector<std::string> values;
  std::shared_ptr<const RE2> pattern;
  bool exists = true;
  std::vector<CompiledCondition> children;
};

struct CompiledStep {
  const actions::ActionConfig* action = nullptr;
  std::chrono::milliseconds delay{0};
  CompiledValue args;
};

struct CompiledRule {
  const react::Rule* rule = nullptr;
  std::size_t site = 0;  // index in config.sites
  CompiledCondition when;
  std::optional<Template> once_key;
  std::vector<CompiledStep> steps;   // only steps whose action is configured
  std::vector<std::string> skipped;  // actions named by the rule but not configured here
};

class RuleSet {
 public:
  static Result<RuleSet> Compile(const config::Config& config, const std::vector<Rule>& rules,
                                 const std::vector<actions::ActionConfig>& actions);

  // The rules of a site, in config order.
  const std::vector<const CompiledRule*>& RulesFor(std::size_t site) const;
  bool Matches(const CompiledRule& rule, EventContext& event) const;
  // The rendered once-key of a rule with a `once` guard.
  std::string OnceKey(const CompiledRule& rule, EventContext& event) const;
  // One task per configured step, due at now + its delay.
  std::vector<tasks::Task> MakeTasks(const CompiledRule& rule, EventContext& event,
                                     tasks::Clock::time_point now) const;

  // "rule 'x': action 'slack' has no address configured; its steps are skipped", once each.
  std::vector<std::string> Warnings() const;
  // What `oceanus check` prints.
  void Describe(std::ostream& out) const;
  bool empty() const { return rules_.empty(); }

 private:
  const config::Config* config_ = nullptr;
  const std::vector<actions::ActionConfig>* actions_ = nullptr;
  std::vector<std::unique_ptr<CompiledRule>> rules_;
  std::vector<std::vector<const CompiledRule*>> by_site_;
};

// Renders a compiled value to JSON (strings at the leaves; no HTML escaping).
std::string RenderArgs(const CompiledValue& value, const rapidjson::Value& context);

}  // namespace oceanus::react
