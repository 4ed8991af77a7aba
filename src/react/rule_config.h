// The rules section of the config: which events start which actions, with what guards.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "actions/action_config.h"
#include "config/parser_fwd.h"

namespace oceanus::react {

// A value in a rule step's arguments: a mustache template, a list or a mapping of them.
struct TemplateValue {
  enum class Kind { kString, kList, kMap };
  struct Field;  // a named member of a mapping (std::pair of an incomplete type is not allowed)
  Kind kind = Kind::kString;
  std::string text;
  std::vector<TemplateValue> items;
  std::vector<Field> fields;
  int line = 0;
};
struct TemplateValue::Field {
  std::string name;
  TemplateValue value;
};

// A condition of a rule's `when`: a test of one field, or all/any/not of others.
struct Condition {
  enum class Op { kEquals, kIn, kContains, kStartsWith, kMatches, kExists, kAll, kAny, kNot };
  Op op = Op::kAll;
  std::string field;                // "evt", or a path into a JSON field: "jsn.price"
  std::vector<std::string> values;  // equals/contains/starts_with/matches: one; in: several
  bool exists = true;               // exists: true / false
  std::vector<Condition> children;  // all / any / not
  int line = 0;
};

// At most this many in `window` (per client IP, or in total).
struct RateGuard {
  unsigned max = 0;  // 0 = no limit
  std::chrono::milliseconds window{60'000};
};

struct RuleGuard {
  std::string once_key;  // a template; empty = none
  std::chrono::milliseconds once_window{60'000};
  RateGuard per_ip;  // keyed by the event's client address (field `ip_field`)
  std::string ip_field = "rad";
  RateGuard total;
};

struct RuleStep {
  std::string action;  // a name from `actions:`
  std::chrono::milliseconds delay{0};
  TemplateValue args;  // a mapping
  int line = 0;
};

struct Rule {
  std::string name;  // [a-z0-9_]+, part of task ids and guard keys
  std::string site;
  Condition when;  // kAll with no children = every event of the site
  RuleGuard guard;
  std::vector<RuleStep> steps;
  int line = 0;
};

// The rules section (a list); sites come from `shared`, step actions from `actions`.
std::vector<Rule> ParseRules(const config::Reader& r, const YAML::Node& node,
                             const config::Config& shared,
                             const std::vector<actions::ActionConfig>& actions);

}  // namespace oceanus::react
