// Compiling and applying rules (see rules.h).
#include "react/rules.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "actions/action_registry.h"

namespace oceanus::react {

using react::Condition;
using react::TemplateValue;

Result<EventContext> EventContext::Parse(std::string_view record, const std::string& site,
                                         const TimeZone& tz) {
  EventContext e;
  e.record_ = std::string(record);
  e.cache_ = std::make_unique<JsonCache>();
  e.doc_.Parse(e.record_.data(), e.record_.size());
  if (e.doc_.HasParseError() || !e.doc_.IsObject())
    return Status::Corruption("record is not a JSON object");
  auto& alloc = e.doc_.GetAllocator();
  std::string dt_local, date_local;
  if (auto it = e.doc_.FindMember("dt"); it != e.doc_.MemberEnd() && it->value.IsString()) {
    auto t = ParseUtcMicros(std::string_view(it->value.GetString(), it->value.GetStringLength()));
    if (t.ok()) {
      dt_local = FormatLocal(*t, tz);
      date_local = LocalDateCompact(*t, tz);
    }
  }
  // Added once, here: later changes only rewrite values in place, so pointers that the JSON
  // cache holds into the document stay valid.
  e.doc_.AddMember("site", rapidjson::Value(site.c_str(), alloc), alloc);
  e.doc_.AddMember("rule", rapidjson::Value("", alloc), alloc);
  e.doc_.AddMember("dt_local", rapidjson::Value(dt_local.c_str(), alloc), alloc);
  e.doc_.AddMember("date_local", rapidjson::Value(date_local.c_str(), alloc), alloc);
  return e;
}

std::string EventContext::Field(std::string_view name) const {
  auto it = doc_.FindMember(rapidjson::Value(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))));
  return it == doc_.MemberEnd() ? std::string() : ValueText(it->value);
}

void EventContext::SetRule(const std::string& rule) {
  doc_["rule"].SetString(rule.c_str(), static_cast<rapidjson::SizeType>(rule.size()),
                         doc_.GetAllocator());
}

namespace {

std::string Where(const config::Config& c, int line) {
  return c.file + ":" + std::to_string(line) + ": ";
}

Result<CompiledValue> CompileValue(const config::Config& c, const TemplateValue& v) {
  CompiledValue out;
  out.kind = v.kind;
  switch (v.kind) {
    case TemplateValue::Kind::kString: {
      auto t = Template::Compile(v.text);
      if (!t.ok()) return Status::InvalidArgument(Where(c, v.line) + t.status().message());
      out.text = std::move(t).value();
      break;
    }
    case TemplateValue::Kind::kList:
      for (const auto& item : v.items) {
        auto compiled = CompileValue(c, item);
        if (!compiled.ok()) return compiled.status();
        out.items.push_back(std::move(compiled).value());
      }
      break;
    case TemplateValue::Kind::kMap:
      for (const auto& [name, item] : v.fields) {
        auto compiled = CompileValue(c, item);
        if (!compiled.ok()) return compiled.status();
        out.fields.push_back({name, std::move(compiled).value()});
      }
      break;
  }
  return out;
}

Result<CompiledCondition> CompileCondition(const config::Config& c, const Condition& in) {
  CompiledCondition out;
  out.op = in.op;
  out.path = in.field;
  out.values = in.values;
  out.exists = in.exists;
  if (in.op == Condition::Op::kMatches) {
    auto re = std::make_shared<RE2>(in.values.at(0), RE2::Quiet);
    if (!re->ok())
      return Status::InvalidArgument(Where(c, in.line) + "invalid RE2 pattern: " + re->error());
    out.pattern = std::move(re);
  }
  for (const auto& child : in.children) {
    auto compiled = CompileCondition(c, child);
    if (!compiled.ok()) return compiled.status();
    out.children.push_back(std::move(compiled).value());
  }
  return out;
}

bool Evaluate(const CompiledCondition& c, EventContext& e) {
  using Op = Condition::Op;
  switch (c.op) {
    case Op::kAll:
      return std::all_of(c.children.begin(), c.children.end(),
                         [&](const CompiledCondition& x) { return Evaluate(x, e); });
    case Op::kAny:
      return std::any_of(c.children.begin(), c.children.end(),
                         [&](const CompiledCondition& x) { return Evaluate(x, e); });
    case Op::kNot:
      return !Evaluate(c.children.at(0), e);
    default:
      break;
  }
  const rapidjson::Value* v = LookupPath(e.value(), c.path, e.cache());
  const bool present =
      v != nullptr && !v->IsNull() && !(v->IsString() && v->GetStringLength() == 0);
  if (c.op == Op::kExists) return present == c.exists;
  if (!present) return false;
  const std::string text = ValueText(*v);
  switch (c.op) {
    case Op::kEquals:
      return text == c.values[0];
    case Op::kIn:
      return std::find(c.values.begin(), c.values.end(), text) != c.values.end();
    case Op::kContains:
      return text.find(c.values[0]) != std::string::npos;
    case Op::kStartsWith:
      return text.rfind(c.values[0], 0) == 0;
    case Op::kMatches:
      return RE2::PartialMatch(text, *c.pattern);
    default:
      return false;
  }
}

void RenderInto(const CompiledValue& v, const rapidjson::Value& context,
                rapidjson::Writer<rapidjson::StringBuffer>& w) {
  switch (v.kind) {
    case TemplateValue::Kind::kString: {
      const std::string s = v.text.Render(context, /*escape_html=*/false);
      w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
      break;
    }
    case TemplateValue::Kind::kList:
      w.StartArray();
      for (const auto& item : v.items) RenderInto(item, context, w);
      w.EndArray();
      break;
    case TemplateValue::Kind::kMap:
      w.StartObject();
      for (const auto& [name, item] : v.fields) {
        w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
        RenderInto(item, context, w);
      }
      w.EndObject();
      break;
  }
}

const char* OpName(Condition::Op op) {
  switch (op) {
    case Condition::Op::kEquals:
      return "equals";
    case Condition::Op::kIn:
      return "in";
    case Condition::Op::kContains:
      return "contains";
    case Condition::Op::kStartsWith:
      return "starts_with";
    case Condition::Op::kMatches:
      return "matches";
    case Condition::Op::kExists:
      return "exists";
    case Condition::Op::kAll:
      return "all";
    case Condition::Op::kAny:
      return "any";
    case Condition::Op::kNot:
      return "not";
  }
  return "?";
}

std::string DescribeCondition(const CompiledCondition& c) {
  using Op = Condition::Op;
  if (c.op == Op::kAll || c.op == Op::kAny || c.op == Op::kNot) {
    if (c.children.empty()) return "every event";
    if (c.op == Op::kNot) return "not (" + DescribeCondition(c.children[0]) + ")";
    std::string out;
    for (const auto& child : c.children) {
      if (!out.empty()) out += c.op == Op::kAll ? " and " : " or ";
      const bool group = child.op == Op::kAll || child.op == Op::kAny;
      out += group && child.children.size() > 1 ? "(" + DescribeCondition(child) + ")"
                                                : DescribeCondition(child);
    }
    return out;
  }
  if (c.op == Op::kExists) return c.path + (c.exists ? " exists" : " does not exist");
  std::string values;
  for (const auto& v : c.values) values += (values.empty() ? "'" : ", '") + v + "'";
  return c.path + " " + OpName(c.op) + " " + values;
}

}  // namespace

std::string RenderArgs(const CompiledValue& value, const rapidjson::Value& context) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  RenderInto(value, context, w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<RuleSet> RuleSet::Compile(const config::Config& config, const std::vector<Rule>& rules,
                                 const std::vector<actions::ActionConfig>& actions) {
  RuleSet set;
  set.config_ = &config;
  set.actions_ = &actions;
  set.by_site_.resize(config.sites.size());
  for (const auto& rule : rules) {
    auto compiled = std::make_unique<CompiledRule>();
    compiled->rule = &rule;
    for (std::size_t i = 0; i < config.sites.size(); ++i)
      if (config.sites[i].name == rule.site) compiled->site = i;
    auto when = CompileCondition(config, rule.when);
    if (!when.ok()) return when.status();
    compiled->when = std::move(when).value();
    if (!rule.guard.once_key.empty()) {
      auto key = Template::Compile(rule.guard.once_key);
      if (!key.ok())
        return Status::InvalidArgument(Where(config, rule.line) +
                                       "guard.once.key: " + key.status().message());
      compiled->once_key = std::move(key).value();
    }
    for (const auto& step : rule.steps) {
      // The config loader bounds delays; a Config built otherwise is checked here, so that
      // now + delay can never leave the clock's range and wrap into the past.
      if (step.delay.count() < 0 || step.delay > kMaxConfigDuration)
        return Status::InvalidArgument(Where(config, step.line) + "delay must be between 0 and " +
                                       FormatDuration(kMaxConfigDuration));
      const actions::ActionConfig* action = actions::FindAction(actions, step.action);
      auto args = CompileValue(config, step.args);
      if (!args.ok()) return args.status();
      if (!action->configured) {
        compiled->skipped.push_back(step.action);
        continue;
      }
      CompiledStep s;
      s.action = action;
      s.delay = step.delay;
      s.args = std::move(args).value();
      compiled->steps.push_back(std::move(s));
    }
    set.by_site_[compiled->site].push_back(compiled.get());
    set.rules_.push_back(std::move(compiled));
  }
  return set;
}

const std::vector<const CompiledRule*>& RuleSet::RulesFor(std::size_t site) const {
  static const std::vector<const CompiledRule*> kNone;
  return site < by_site_.size() ? by_site_[site] : kNone;
}

bool RuleSet::Matches(const CompiledRule& rule, EventContext& event) const {
  return Evaluate(rule.when, event);
}

std::string RuleSet::OnceKey(const CompiledRule& rule, EventContext& event) const {
  if (!rule.once_key) return "";
  event.SetRule(rule.rule->name);
  return rule.once_key->Render(event.value(), false);
}

// The longest delay, in the task clock's unit, leaves centuries of headroom.
static_assert(std::chrono::duration_cast<tasks::Clock::duration>(kMaxConfigDuration).count() <
              tasks::Clock::duration::max().count() / 64);

std::vector<tasks::Task> RuleSet::MakeTasks(const CompiledRule& rule, EventContext& event,
                                            tasks::Clock::time_point now) const {
  event.SetRule(rule.rule->name);
  const std::string eid = event.Field("eid");
  std::vector<tasks::Task> out;
  // Step numbers count every step of the rule, configured or not, so that configuring an
  // action later does not change the ids of the others.
  std::size_t index = 0, compiled = 0;
  for (const auto& step : rule.rule->steps) {
    ++index;
    const actions::ActionConfig* action = actions::FindAction(*actions_, step.action);
    if (!action->configured) continue;
    const CompiledStep& s = rule.steps[compiled++];
    tasks::Task t;
    t.id = rule.rule->name + "/" + eid + "/" + std::to_string(index);
    t.action = s.action->name;
    t.args = RenderArgs(s.args, event.value());
    t.event = event.record();
    t.site = config_->sites[rule.site].name;
    t.not_before = now + s.delay;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> RuleSet::Warnings() const {
  std::vector<std::string> out;
  for (const auto& r : rules_) {
    for (const auto& name : r->skipped) {
      const actions::ActionConfig* a = actions::FindAction(*actions_, name);
      const std::string missing = a->settings->MissingAddress();
      out.push_back(Where(*config_, r->rule->line) + "rule '" + r->rule->name + "': action '" +
                    name + "' (" + a->type + ") has no address configured (" + missing +
                    "); its steps are skipped");
    }
  }
  return out;
}

void RuleSet::Describe(std::ostream& out) const {
  for (const auto& r : rules_) {
    const react::Rule& rule = *r->rule;
    out << "\nrule " << rule.name << " (site " << rule.site << ")\n"
        << "  when: " << DescribeCondition(r->when) << "\n";
    const auto& g = rule.guard;
    if (!g.once_key.empty())
      out << "  guard: once per '" << g.once_key << "' per " << g.once_window.count() << " ms\n";
    if (g.per_ip.max)
      out << "  guard: at most " << g.per_ip.max << " per client IP per " << g.per_ip.window.count()
          << " ms\n";
    if (g.total.max)
      out << "  guard: at most " << g.total.max << " in total per " << g.total.window.count()
          << " ms\n";
    for (const auto& step : rule.steps) {
      const actions::ActionConfig* a = actions::FindAction(*actions_, step.action);
      out << "  do: " << step.action << " (" << a->type << ")";
      if (step.delay.count()) out << " after " << step.delay.count() << " ms";
      if (!a->configured) out << " — SKIPPED: no address configured";
      out << "\n";
    }
  }
}

}  // namespace oceanus::react
