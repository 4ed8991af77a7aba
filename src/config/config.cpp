// LoadConfig: YAML → config::Config, with every mistake reported as "file:line:col: message".
//
// The loader walks the YAML tree by hand rather than mapping it generically, so that each key
// is checked where it is read: unknown keys are errors (a typo must not silently fall back to
// a default), values are parsed with units ("1s", "64KiB"), and ${ENV} / ${ENV:-default}
// references in scalars are expanded after parsing, so positions still point into the file.
#include "config/config.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "react/template.h"
#include "util/net.h"
#include "util/time.h"

namespace oceanus::config {
namespace {

// Thrown inside this file only, turned into a Status by ParseConfig.
struct ConfigError {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& msg) const {
    const YAML::Mark m = node.Mark();
    if (m.line < 0) throw ConfigError{file_ + ": " + msg};
    throw ConfigError{file_ + ":" + std::to_string(m.line + 1) + ":" +
                      std::to_string(m.column + 1) + ": " + msg};
  }
  int Line(const YAML::Node& node) const { return node.Mark().line + 1; }

  // Checks that `node` is a map whose keys are all in `allowed`.
  void ExpectKeys(const YAML::Node& node, const std::string& what,
                  std::initializer_list<const char*> allowed) const {
    if (!node.IsMap()) Fail(node, what + " must be a mapping");
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      bool known =
          std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
      if (!known) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
      }
    }
  }

  std::string Str(const YAML::Node& node) const {
    if (!node.IsScalar()) Fail(node, "expected a string");
    return Expand(node, node.Scalar());
  }

  bool Bool(const YAML::Node& node) const {
    const std::string s = Str(node);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    Fail(node, "expected true or false, got '" + s + "'");
  }

  std::uint64_t Unsigned(const YAML::Node& node, std::uint64_t max) const {
    const std::string s = Str(node);
    if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit))
      Fail(node, "expected a non-negative integer, got '" + s + "'");
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range || v > max)
      Fail(node, "value " + s + " is larger than " + std::to_string(max));
    return v;
  }

  // An integer of at least `min` (and at most `max`): counts where 0 would mean "nothing
  // ever happens" are refused rather than given a surprising meaning.
  std::uint64_t AtLeast(const YAML::Node& node, std::uint64_t min, std::uint64_t max,
                        const std::string& what) const {
    const std::uint64_t v = Unsigned(node, max);
    if (v < min) Fail(node, what + " must be at least " + std::to_string(min));
    return v;
  }

  // "1024", "64KiB", "1MiB", "2GiB" (also KB/MB/GB as powers of 1000), between `min` and `max`
  // bytes. Checked for overflow: a value that does not fit is refused, never wrapped.
  std::size_t Bytes(const YAML::Node& node, std::uint64_t min, std::uint64_t max,
                    const std::string& what) const {
    const std::string s = Str(node);
    std::size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0) Fail(node, "expected a size such as 1MiB or 65536, got '" + s + "'");
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + i, n);
    const std::string unit = s.substr(i);
    static const std::map<std::string, std::uint64_t> kUnits = {{"", 1},
                                                                {"B", 1},
                                                                {"KiB", 1ull << 10},
                                                                {"MiB", 1ull << 20},
                                                                {"GiB", 1ull << 30},
                                                                {"KB", 1000},
                                                                {"MB", 1000'000},
                                                                {"GB", 1000'000'000}};
    auto it = kUnits.find(unit);
    if (it == kUnits.end()) Fail(node, "unknown size unit '" + unit + "' (use B, KiB, MiB, GiB)");
    if (ec == std::errc::result_out_of_range || n > max / it->second)
      Fail(node, what + " '" + s + "' is larger than the maximum " + SizeText(max));
    const std::uint64_t bytes = n * it->second;
    if (bytes < min) Fail(node, what + " '" + s + "' is below the minimum " + SizeText(min));
    return static_cast<std::size_t>(bytes);
  }

  // "500ms", "1s", "2m", "1h", "1d"; at most `max` (util/time.h: kMaxConfigDuration).
  std::chrono::milliseconds Duration(const YAML::Node& node,
                                     std::chrono::milliseconds max = kMaxConfigDuration) const {
    auto d = ParseDuration(Str(node), max);
    if (!d.ok()) Fail(node, d.status().message());
    return *d;
  }

  // A duration that must be above zero (a timeout of 0 would expire at once).
  std::chrono::milliseconds PositiveDuration(const YAML::Node& node,
                                             const std::string& what) const {
    const std::chrono::milliseconds d = Duration(node);
    if (d.count() <= 0) Fail(node, what + " must be above zero");
    return d;
  }

  // "1MiB", "64KiB", "512B": the largest binary unit that divides it.
  static std::string SizeText(std::uint64_t bytes) {
    static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
        {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
    if (bytes != 0)
      for (const auto& [size, name] : kUnits)
        if (bytes % size == 0) return std::to_string(bytes / size) + name;
    return std::to_string(bytes) + "B";
  }

  std::vector<std::string> StrList(const YAML::Node& node) const {
    if (!node.IsSequence()) Fail(node, "expected a list");
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(Str(item));
    return out;
  }

  // Expands ${NAME} and ${NAME:-default}; an unset variable without default is an error.
  std::string Expand(const YAML::Node& node, const std::string& in) const {
    std::string out;
    for (std::size_t i = 0; i < in.size();) {
      if (in.compare(i, 2, "${") != 0) {
        out += in[i++];
        continue;
      }
      const std::size_t close = in.find('}', i);
      if (close == std::string::npos) Fail(node, "unterminated ${ in '" + in + "'");
      std::string ref = in.substr(i + 2, close - i - 2);
      std::optional<std::string> fallback;
      if (auto d = ref.find(":-"); d != std::string::npos) {
        fallback = ref.substr(d + 2);
        ref = ref.substr(0, d);
      }
      const char* value = std::getenv(ref.c_str());
      if (value != nullptr && *value != '\0') {
        out += value;
      } else if (fallback) {
        out += *fallback;
      } else {
        Fail(node, "environment variable " + ref + " is not set (write ${" + ref +
                       ":-default} to give a default)");
      }
      i = close + 1;
    }
    return out;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

bool ValidName(const std::string& s, bool allow_leading_digit) {
  if (s.empty() || s.size() > 64) return false;
  if (!allow_leading_digit && std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

template <typename E>
E Choose(const Reader& r, const YAML::Node& node, const std::string& what,
         std::initializer_list<std::pair<const char*, E>> choices) {
  const std::string s = r.Str(node);
  std::string list;
  for (const auto& [name, value] : choices) {
    if (s == name) return value;
    list += (list.empty() ? "" : ", ") + std::string(name);
  }
  r.Fail(node, "unknown " + what + " '" + s + "' (expected one of: " + list + ")");
}

// An address to connect to (queue.redis.address): "host:port", "[v6]:port" or ":port"; the
// client resolves host names.
HostPort ParseAddress(const Reader& r, const YAML::Node& node) {
  auto parsed = ParseHostPort(r.Str(node));
  if (!parsed.ok()) r.Fail(node, parsed.status().message());
  if (parsed->host.empty()) parsed->host = "0.0.0.0";
  return *parsed;
}

// An address to listen on (server.listen, admin.listen): an IP address, or none for every
// interface (0.0.0.0). See ParseListenAddress.
HostPort ParseListen(const Reader& r, const YAML::Node& node) {
  auto parsed = ParseListenAddress(r.Str(node));
  if (!parsed.ok()) r.Fail(node, parsed.status().message());
  if (parsed->host.empty()) parsed->host = "0.0.0.0";
  return *parsed;
}

// A list of CIDR networks (server.trusted_proxies, internal_networks), each checked here so
// that a mistake names its line; the collector parses the same texts with the same function.
std::vector<std::string> NetworkList(const Reader& r, const YAML::Node& node,
                                     const std::string& what) {
  if (!node.IsSequence()) r.Fail(node, what + " is a list of networks such as [10.0.0.0/8]");
  std::vector<std::string> out;
  for (const auto& item : node) {
    std::string text = r.Str(item);
    auto network = oceanus::Network::Parse(text);
    if (!network.ok()) r.Fail(item, what + ": " + network.status().message());
    out.push_back(std::move(text));
  }
  return out;
}

// yaml-cpp keeps both entries of a key written twice in one mapping, and node["key"] finds
// only the first: refuse that anywhere in the file. Nodes reached again through an alias
// (same position) are walked once, so `*ref` repeated cannot make this exponential.
void RejectDuplicateKeys(const Reader& r, const YAML::Node& node,
                         std::set<std::tuple<int, int, int>>& walked) {
  if (!node.IsMap() && !node.IsSequence()) return;
  const YAML::Mark m = node.Mark();
  if (!walked.emplace(m.line, m.column, static_cast<int>(node.Type())).second) return;
  if (node.IsSequence()) {
    for (const auto& item : node) RejectDuplicateKeys(r, item, walked);
    return;
  }
  std::map<std::string, int> lines;
  for (const auto& kv : node) {
    if (kv.first.IsScalar()) {
      const auto [it, fresh] = lines.emplace(kv.first.Scalar(), r.Line(kv.first));
      if (!fresh)
        r.Fail(kv.first, "key '" + kv.first.Scalar() +
                             "' is given twice in this mapping (first at line " +
                             std::to_string(it->second) + ")");
    }
    RejectDuplicateKeys(r, kv.second, walked);
  }
}

Field ParseField(const Reader& r, const YAML::Node& node) {
  r.ExpectKeys(
      node, "a field",
      {"name", "from", "param", "header", "of", "type", "required", "max_length", "on_overflow",
       "pattern", "transform", "delete_chars", "json", "ip", "default", "mode", "description"});
  Field f;
  f.line = r.Line(node);
  if (!node["name"]) r.Fail(node, "a field needs a name");
  f.name = r.Str(node["name"]);
  if (!ValidName(f.name, false))
    r.Fail(node["name"], "field name '" + f.name + "' must match [a-z_][a-z0-9_]*");
  if (node["from"]) {
    f.from = Choose<FieldSource>(r, node["from"], "field source",
                                 {{"param", FieldSource::kParam},
                                  {"query", FieldSource::kParam},
                                  {"form", FieldSource::kParam},
                                  {"header", FieldSource::kHeader},
                                  {"client_ip", FieldSource::kClientIp},
                                  {"user_agent", FieldSource::kUserAgent},
                                  {"now", FieldSource::kNow},
                                  {"event_id", FieldSource::kEventId},
                                  {"device", FieldSource::kDevice}});
  }
  switch (f.from) {
    case FieldSource::kParam:
      f.source_name = node["param"] ? r.Str(node["param"]) : f.name;
      break;
    case FieldSource::kHeader:
      if (!node["header"])
        r.Fail(node, "field '" + f.name + "' is from: header but names no header");
      f.source_name = r.Str(node["header"]);
      break;
    case FieldSource::kDevice:
      f.source_name = node["of"] ? r.Str(node["of"]) : "ua";
      break;
    default:
      break;
  }
  if (node["param"] && f.from != FieldSource::kParam)
    r.Fail(node["param"], "'param' applies only to fields from: param");
  if (node["header"] && f.from != FieldSource::kHeader)
    r.Fail(node["header"], "'header' applies only to fields from: header");
  if (node["of"] && f.from != FieldSource::kDevice)
    r.Fail(node["of"], "'of' applies only to fields from: device");
  if (node["type"]) {
    f.type = Choose<FieldType>(r, node["type"], "type",
                               {{"string", FieldType::kString},
                                {"integer", FieldType::kInteger},
                                {"float", FieldType::kFloat},
                                {"boolean", FieldType::kBoolean},
                                {"timestamp", FieldType::kTimestamp}});
  }
  if (node["required"]) f.required = r.Bool(node["required"]);
  if (node["max_length"]) {
    f.max_length = r.Unsigned(node["max_length"], 1 << 24);
    if (f.max_length == 0) r.Fail(node["max_length"], "max_length must be at least 1");
  }
  if (node["on_overflow"]) {
    f.on_overflow =
        Choose<Overflow>(r, node["on_overflow"], "on_overflow",
                         {{"reject", Overflow::kReject}, {"truncate", Overflow::kTruncate}});
    if (!node["max_length"]) r.Fail(node["on_overflow"], "on_overflow needs max_length");
  }
  if (node["pattern"]) {
    f.pattern = r.Str(node["pattern"]);
    RE2 re(f.pattern, RE2::Quiet);
    if (!re.ok()) r.Fail(node["pattern"], "invalid RE2 pattern: " + re.error());
  }
  if (const auto& t = node["transform"]) {
    std::vector<YAML::Node> items;
    if (t.IsSequence()) {
      for (const auto& item : t) items.push_back(item);
    } else {
      items.push_back(t);
    }
    for (const auto& item : items) {
      f.transforms.push_back(Choose<Transform>(r, item, "transform",
                                               {{"lower", Transform::kLower},
                                                {"upper", Transform::kUpper},
                                                {"strip", Transform::kStrip}}));
    }
  }
  if (node["delete_chars"]) f.delete_chars = r.Str(node["delete_chars"]);
  if (node["json"]) f.json = r.Bool(node["json"]);
  if (node["ip"]) f.ip = r.Bool(node["ip"]);
  if (f.json && f.type != FieldType::kString) r.Fail(node["json"], "json: true needs type string");
  if (f.ip && f.type != FieldType::kString) r.Fail(node["ip"], "ip: true needs type string");
  if (node["default"]) f.default_value = r.Str(node["default"]);
  if (node["mode"]) {
    f.mode = Choose<ColumnMode>(
        r, node["mode"], "mode",
        {{"NULLABLE", ColumnMode::kNullable}, {"REQUIRED", ColumnMode::kRequired}});
  } else if (f.required || f.from == FieldSource::kNow || f.from == FieldSource::kEventId) {
    f.mode = ColumnMode::kRequired;
  }
  if (node["description"]) f.description = r.Str(node["description"]);
  const bool generated = f.from == FieldSource::kNow || f.from == FieldSource::kEventId ||
                         f.from == FieldSource::kDevice;
  if (generated && (f.required || f.default_value || !f.pattern.empty() || f.json || f.ip))
    r.Fail(node, "field '" + f.name + "' is generated by the server (from: " + ToString(f.from) +
                     "); validation options do not apply to it");
  return f;
}

Site ParseSite(const Reader& r, const YAML::Node& key, const YAML::Node& node) {
  Site site;
  site.name = key.as<std::string>();
  site.line = r.Line(key);
  if (!ValidName(site.name, true))
    r.Fail(key, "site name '" + site.name + "' must match [a-z0-9_]+");
  r.ExpectKeys(node, "site '" + site.name + "'", {"endpoint", "tables", "schema", "description"});
  if (!node["endpoint"]) r.Fail(key, "site '" + site.name + "' needs an endpoint");
  site.endpoint = Choose<Endpoint>(r, node["endpoint"], "endpoint",
                                   {{"swallow", Endpoint::kSwallow},
                                    {"pirate", Endpoint::kPirate},
                                    {"gaze", Endpoint::kGaze},
                                    {"pierce", Endpoint::kPierce}});
  if (node["tables"]) {
    site.tables =
        Choose<TableLayout>(r, node["tables"], "table layout",
                            {{"daily", TableLayout::kDaily}, {"single", TableLayout::kSingle}});
  }
  const YAML::Node schema = node["schema"];
  if (!schema || !schema.IsSequence() || schema.size() == 0)
    r.Fail(schema ? schema : key, "site '" + site.name + "' needs a schema: a list of fields");
  std::set<std::string> names;
  for (const auto& item : schema) {
    Field f = ParseField(r, item);
    if (!names.insert(f.name).second) r.Fail(item, "field '" + f.name + "' is defined twice");
    site.schema.push_back(std::move(f));
  }
  for (const auto& f : site.schema) {
    if (f.from == FieldSource::kDevice && !names.count(f.source_name))
      r.Fail(schema, "field '" + f.name + "' derives from '" + f.source_name +
                         "', which is not in the schema");
  }
  if (!names.count("eid")) {
    // The event id is the idempotency key of every sink: it is always there.
    Field eid;
    eid.name = "eid";
    eid.from = FieldSource::kEventId;
    eid.mode = ColumnMode::kRequired;
    eid.description = "unique, time-ordered event id (added by oceanus)";
    eid.line = site.line;
    site.schema.push_back(std::move(eid));
  } else {
    auto it = std::find_if(site.schema.begin(), site.schema.end(),
                           [](const Field& f) { return f.name == "eid"; });
    if (it->from != FieldSource::kEventId)
      r.Fail(schema, "field 'eid' is the event id and must be from: event_id");
  }
  return site;
}

// "15/m", "15/1m", "100/s", "2/30s": at most count per period.
RateLimit ParseRateLimit(const Reader& r, const YAML::Node& node) {
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

// A mustache template in the YAML: compiled here (and again, the same way, by RuleSet::Compile)
// so that a broken one is a config error at its position.
std::string TemplateText(const Reader& r, const YAML::Node& node) {
  std::string text = r.Str(node);
  auto compiled = react::Template::Compile(text);
  if (!compiled.ok()) r.Fail(node, "template: " + compiled.status().message());
  return text;
}

TemplateValue ParseTemplateValue(const Reader& r, const YAML::Node& node) {
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

Condition ParseCondition(const Reader& r, const YAML::Node& node, const Site& site);

// The names a rule's `when` and templates can test besides the schema's fields (react/rules.h:
// EventContext adds them to every event).
constexpr const char* kDerivedEventFields[] = {"site", "rule", "dt_local", "date_local"};

// `jsn.price` tests the field `jsn` (then looks into its JSON): the part before the first dot
// must be a field of the site's schema, or one the rules add.
void CheckConditionField(const Reader& r, const YAML::Node& key, const std::string& path,
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
Condition ParseFieldTest(const Reader& r, const std::string& field, const YAML::Node& node) {
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
Condition ParseCondition(const Reader& r, const YAML::Node& node, const Site& site) {
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

RateGuard ParseRateGuard(const Reader& r, const YAML::Node& node, const std::string& what) {
  r.ExpectKeys(node, what, {"max", "window"});
  RateGuard g;
  if (!node["max"]) r.Fail(node, what + " needs max");
  g.max = static_cast<unsigned>(r.Unsigned(node["max"], 1'000'000'000));
  if (g.max == 0) r.Fail(node["max"], "max must be at least 1");
  if (node["window"]) g.window = r.Duration(node["window"]);
  if (g.window.count() <= 0) r.Fail(node["window"], "window must be above zero");
  return g;
}

Rule ParseRule(const Reader& r, const YAML::Node& node, const Config& c) {
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
    if (g["per_ip"]) rule.guard.per_ip = ParseRateGuard(r, g["per_ip"], "guard.per_ip");
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
    if (c.FindAction(step.action) == nullptr)
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

// A file the server reads at start (the collector reads tracker_script; it is served as is):
// it must be a readable, non-empty regular file now.
void CheckReadableFile(const Reader& r, const YAML::Node& node, const std::string& path,
                       const std::string& what) {
  if (path.empty()) return;
  std::error_code ec;
  std::ifstream in(path, std::ios::binary);
  if (!std::filesystem::is_regular_file(path, ec) || !in || in.peek() == EOF)
    r.Fail(node, what + ": " + path + " is missing, unreadable or empty");
}

// A report template file must open and compile now, not at the first report: read and
// compiled by the function the history report uses (relative paths are relative to the
// config file, as there).
void CheckTemplateFile(const Reader& r, const YAML::Node& node, const std::string& path) {
  auto compiled = react::LoadTemplateFile(ResolveConfigRelative(r.file(), path));
  if (!compiled.ok()) r.Fail(node, compiled.status().message());
}

ActionConfig ParseAction(const Reader& r, const YAML::Node& key, const YAML::Node& node) {
  ActionConfig a;
  a.name = key.as<std::string>();
  a.line = r.Line(key);
  if (!ValidName(a.name, true)) r.Fail(key, "action name '" + a.name + "' must match [a-z0-9_]+");
  if (!node.IsMap() || !node["type"]) r.Fail(key, "action '" + a.name + "' needs a type");
  a.type = r.Str(node["type"]);
  static const std::map<std::string, std::vector<const char*>> kKeys = {
      {"webhook", {"url", "headers"}},
      {"slack", {"url"}},
      {"smtp", {"url", "username", "password", "tls", "ca_file", "from", "to"}},
      {"sendgrid", {"endpoint", "api_key", "from", "to"}},
      {"sheets", {"endpoint", "spreadsheet_id", "key_file", "token_uri"}},
      {"history_report", {"mailer", "template", "site", "by", "period", "limit", "to"}},
  };
  auto it = kKeys.find(a.type);
  if (it == kKeys.end())
    r.Fail(node["type"], "unknown action type '" + a.type +
                             "' (expected one of: webhook, slack, smtp, sendgrid, sheets, "
                             "history_report)");
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    if (k == "type" || k == "rate_limit" || k == "timeout" || k == "description") continue;
    if (std::find_if(it->second.begin(), it->second.end(),
                     [&](const char* allowed) { return k == allowed; }) == it->second.end()) {
      std::string list = "type, rate_limit, timeout";
      for (const char* allowed : it->second) list += ", " + std::string(allowed);
      r.Fail(kv.first, "unknown key '" + k + "' in action '" + a.name + "' of type " + a.type +
                           " (expected one of: " + list + ")");
    }
  }
  if (node["url"]) a.url = r.Str(node["url"]);
  if (const auto& h = node["headers"]) {
    if (!h.IsMap()) r.Fail(h, "headers is a mapping of name: value");
    for (const auto& kv : h) a.headers.emplace_back(kv.first.as<std::string>(), r.Str(kv.second));
  }
  if (node["username"]) a.username = r.Str(node["username"]);
  if (node["password"]) a.password = r.Str(node["password"]);
  if (node["tls"]) {
    a.tls = r.Str(node["tls"]);
    if (a.tls != "none" && a.tls != "try" && a.tls != "require")
      r.Fail(node["tls"], "tls is none, try (STARTTLS when offered) or require");
  }
  if (node["ca_file"]) a.ca_file = r.Str(node["ca_file"]);
  if (node["from"]) a.from = r.Str(node["from"]);
  if (const auto& to = node["to"]) {
    if (to.IsSequence()) {
      a.to = r.StrList(to);
    } else {
      // "a@x, b@y" from one environment variable.
      std::string list = r.Str(to);
      std::size_t start = 0;
      while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string one = list.substr(start, comma - start);
        one.erase(0, one.find_first_not_of(" \t"));
        one.erase(one.find_last_not_of(" \t") + 1);
        if (!one.empty()) a.to.push_back(one);
        start = comma + 1;
      }
    }
  }
  if (node["api_key"]) a.api_key = r.Str(node["api_key"]);
  if (node["endpoint"]) a.endpoint = r.Str(node["endpoint"]);
  if (node["spreadsheet_id"]) a.spreadsheet_id = r.Str(node["spreadsheet_id"]);
  if (node["key_file"]) a.key_file = r.Str(node["key_file"]);
  if (node["token_uri"]) a.token_uri = r.Str(node["token_uri"]);
  if (node["mailer"]) a.mailer = r.Str(node["mailer"]);
  if (node["template"]) a.template_path = r.Str(node["template"]);
  if (node["site"]) a.site = r.Str(node["site"]);
  if (node["by"]) {
    a.by = r.Str(node["by"]);
    if (!ValidName(a.by, false)) r.Fail(node["by"], "by must be a field name (sid or uid)");
  }
  if (node["period"]) a.period = r.Duration(node["period"]);
  if (node["limit"]) a.limit = static_cast<unsigned>(r.Unsigned(node["limit"], 100'000));
  if (node["rate_limit"]) a.rate_limit = ParseRateLimit(r, node["rate_limit"]);
  if (node["timeout"]) a.timeout = r.Duration(node["timeout"]);
  if (a.type == "sendgrid" && a.endpoint.empty()) a.endpoint = "https://api.sendgrid.com";
  if (a.type == "sheets" && a.endpoint.empty()) a.endpoint = "https://sheets.googleapis.com";
  // Where the action sends: empty means "not configured here" (reported at start, skipped).
  if (a.type == "webhook" || a.type == "slack" || a.type == "smtp") a.configured = !a.url.empty();
  if (a.type == "sendgrid") a.configured = !a.api_key.empty();
  if (a.type == "sheets") a.configured = !a.spreadsheet_id.empty();
  if ((a.type == "smtp" || a.type == "sendgrid") && a.configured && a.from.empty())
    r.Fail(key, "action '" + a.name + "' needs from: (the sender address)");
  if (a.type == "smtp" && !a.url.empty() && a.url.rfind("smtp://", 0) != 0 &&
      a.url.rfind("smtps://", 0) != 0)
    r.Fail(node["url"], "smtp url is smtp://host:port or smtps://host:port");
  if (a.type == "history_report") {
    if (a.mailer.empty())
      r.Fail(key, "history_report '" + a.name + "' needs mailer: (a mail action)");
    if (a.template_path.empty())
      r.Fail(key, "history_report '" + a.name + "' needs template: (an HTML mustache file)");
    if (a.site.empty())
      r.Fail(key, "history_report '" + a.name + "' needs site: (whose tables to read)");
    if (a.limit == 0) r.Fail(node["limit"], "limit must be at least 1");
  }
  return a;
}

// "amqp://user:password@host:port/vhost" (vhost "%2f" or empty = "/").
void ParseAmqpUrl(const Reader& r, const YAML::Node& node, RabbitMqConfig& out) {
  std::string url = r.Str(node);
  if (url.rfind("amqp://", 0) != 0)
    r.Fail(node, "rabbitmq url is amqp://user:password@host:port/vhost");
  url = url.substr(7);
  const std::size_t slash = url.find('/');
  std::string authority = url.substr(0, slash);
  std::string vhost = slash == std::string::npos ? "" : url.substr(slash + 1);
  if (vhost.empty() || vhost == "%2f" || vhost == "%2F") vhost = "/";
  out.vhost = vhost;
  if (const std::size_t at = authority.rfind('@'); at != std::string::npos) {
    const std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    out.user = userinfo.substr(0, colon);
    out.password = colon == std::string::npos ? "" : userinfo.substr(colon + 1);
  }
  if (authority.find(':') == std::string::npos) authority += ":5672";
  auto hp = ParseHostPort(authority);
  if (!hp.ok() || hp->host.empty()) r.Fail(node, "rabbitmq url: expected host:port after the @");
  out.host = hp->host;
  out.port = hp->port;
}

void ParseTasks(const Reader& r, const YAML::Node& t, TasksConfig& tasks) {
  r.ExpectKeys(t, "tasks",
               {"type", "path", "concurrency", "max_attempts", "backoff", "max_backoff", "lease",
                "rabbitmq"});
  if (t["type"]) {
    tasks.type = r.Str(t["type"]);
    if (tasks.type != "local" && tasks.type != "rabbitmq")
      r.Fail(t["type"], "unknown tasks type '" + tasks.type + "' (expected: local, rabbitmq)");
  }
  if (t["path"]) tasks.path = r.Str(t["path"]);
  if (t["concurrency"])
    tasks.concurrency = static_cast<unsigned>(r.Unsigned(t["concurrency"], 1024));
  if (tasks.concurrency == 0) r.Fail(t["concurrency"], "concurrency must be at least 1");
  if (t["max_attempts"])
    tasks.max_attempts = static_cast<unsigned>(r.Unsigned(t["max_attempts"], 1000));
  if (tasks.max_attempts == 0) r.Fail(t["max_attempts"], "max_attempts must be at least 1");
  if (t["backoff"]) tasks.backoff = r.Duration(t["backoff"]);
  if (t["max_backoff"]) tasks.max_backoff = r.Duration(t["max_backoff"]);
  if (t["lease"]) tasks.lease = r.Duration(t["lease"]);
  if (tasks.lease.count() <= 0) r.Fail(t["lease"], "lease must be above zero");
  if (const auto& q = t["rabbitmq"]) {
    r.ExpectKeys(q, "tasks.rabbitmq", {"url", "queue", "prefetch", "connect_timeout"});
    if (q["url"]) ParseAmqpUrl(r, q["url"], tasks.rabbitmq);
    if (q["queue"]) {
      tasks.rabbitmq.queue = r.Str(q["queue"]);
      if (tasks.rabbitmq.queue.empty()) r.Fail(q["queue"], "tasks.rabbitmq.queue is empty");
    }
    if (q["prefetch"])
      tasks.rabbitmq.prefetch = static_cast<unsigned>(r.Unsigned(q["prefetch"], 65535));
    if (q["connect_timeout"]) tasks.rabbitmq.connect_timeout = r.Duration(q["connect_timeout"]);
  }
}

Config Parse(const Reader& r, const YAML::Node& root, const std::string& file) {
  Config c;
  c.file = file;
  if (!root.IsDefined() || root.IsNull()) r.Fail(root, "the file is empty");
  std::set<std::tuple<int, int, int>> walked;
  RejectDuplicateKeys(r, root, walked);
  r.ExpectKeys(root, "the top level",
               {"data_dir", "time_zone", "log_level", "server", "queue", "load", "sink", "tables",
                "admin", "default_site", "sites", "tasks", "actions", "rules"});
  if (root["data_dir"]) c.data_dir = r.Str(root["data_dir"]);
  if (root["time_zone"]) c.time_zone = r.Str(root["time_zone"]);
  if (root["log_level"]) {
    c.log_level = r.Str(root["log_level"]);
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    if (!kLevels.count(c.log_level))
      r.Fail(root["log_level"], "log_level must be trace, debug, info, warn or error");
  }
  if (const auto& s = root["server"]) {
    r.ExpectKeys(s, "server",
                 {"listen", "threads", "trusted_proxies", "internal_networks", "max_header_bytes",
                  "max_body_bytes", "read_timeout", "idle_timeout", "max_connections",
                  "gaze_delays", "tracker_script"});
    if (s["listen"]) {
      const HostPort listen = ParseListen(r, s["listen"]);
      c.server.listen_host = listen.host;
      c.server.listen_port = listen.port;
    }
    if (s["threads"]) c.server.threads = static_cast<unsigned>(r.Unsigned(s["threads"], 256));
    if (s["trusted_proxies"])
      c.server.trusted_proxies = NetworkList(r, s["trusted_proxies"], "server.trusted_proxies");
    if (s["internal_networks"])
      c.server.internal_networks =
          NetworkList(r, s["internal_networks"], "server.internal_networks");
    if (s["max_header_bytes"])
      c.server.max_header_bytes =
          r.Bytes(s["max_header_bytes"], 256, kMaxHeaderBytesLimit, "max_header_bytes");
    if (s["max_body_bytes"])
      c.server.max_body_bytes = r.Bytes(s["max_body_bytes"], 1, 1ull << 30, "max_body_bytes");
    if (s["read_timeout"])
      c.server.read_timeout = r.PositiveDuration(s["read_timeout"], "read_timeout");
    if (s["idle_timeout"])
      c.server.idle_timeout = r.PositiveDuration(s["idle_timeout"], "idle_timeout");
    if (s["max_connections"])
      c.server.max_connections = r.AtLeast(s["max_connections"], 1, 10'000'000, "max_connections");
    if (const auto& g = s["gaze_delays"]) {
      if (!g.IsSequence() || g.size() != 3)
        r.Fail(g, "gaze_delays is a list of three durations: open→see, see→read, read→done");
      c.server.gaze_open_delay = r.Duration(g[0]);
      c.server.gaze_see_delay = r.Duration(g[1]);
      c.server.gaze_read_delay = r.Duration(g[2]);
    }
    if (s["tracker_script"]) {
      c.server.tracker_script = r.Str(s["tracker_script"]);
      CheckReadableFile(r, s["tracker_script"], c.server.tracker_script, "server.tracker_script");
    }
  }
  if (const auto& q = root["queue"]) {
    r.ExpectKeys(q, "queue", {"type", "durability", "segment_bytes", "groups", "redis"});
    if (q["type"]) {
      c.queue.type = r.Str(q["type"]);
      if (c.queue.type != "spool" && c.queue.type != "redis")
        r.Fail(q["type"], "unknown queue type '" + c.queue.type + "' (expected: spool, redis)");
    }
    if (q["groups"]) {
      c.queue.groups = r.StrList(q["groups"]);
      for (const auto& g : c.queue.groups)
        if (!ValidName(g, false))
          r.Fail(q["groups"], "group name '" + g + "' must match [a-z_][a-z0-9_]*");
      if (std::find(c.queue.groups.begin(), c.queue.groups.end(), "load") == c.queue.groups.end())
        r.Fail(q["groups"], "groups must include 'load'");
    }
    if (const auto& rd = q["redis"]) {
      r.ExpectKeys(rd, "queue.redis",
                   {"address", "password", "db", "prefix", "connect_timeout", "command_timeout",
                    "publish", "claim_idle", "max_deliveries", "trim_every"});
      auto& redis = c.queue.redis;
      if (rd["address"]) {
        const HostPort address = ParseAddress(r, rd["address"]);
        redis.host = address.host;
        redis.port = address.port;
      }
      if (rd["password"]) redis.password = r.Str(rd["password"]);
      if (rd["db"]) redis.db = static_cast<unsigned>(r.Unsigned(rd["db"], 1024));
      if (rd["prefix"]) redis.prefix = r.Str(rd["prefix"]);
      if (rd["connect_timeout"]) redis.connect_timeout = r.Duration(rd["connect_timeout"]);
      if (rd["command_timeout"]) redis.command_timeout = r.Duration(rd["command_timeout"]);
      if (rd["publish"]) redis.publish = r.Bool(rd["publish"]);
      if (rd["claim_idle"]) redis.claim_idle = r.Duration(rd["claim_idle"]);
      if (rd["max_deliveries"])
        redis.max_deliveries = static_cast<unsigned>(r.Unsigned(rd["max_deliveries"], 1000));
      if (rd["trim_every"]) redis.trim_every = r.Duration(rd["trim_every"]);
      if (redis.max_deliveries == 0)
        r.Fail(rd["max_deliveries"], "max_deliveries must be at least 1");
    }
    if (q["durability"])
      c.queue.durability =
          Choose<Durability>(r, q["durability"], "durability",
                             {{"os", Durability::kOs}, {"fsync", Durability::kFsync}});
    if (q["segment_bytes"])
      c.queue.segment_bytes = r.Bytes(q["segment_bytes"], 4096, 1ull << 30, "segment_bytes");
  }
  if (const auto& l = root["load"]) {
    r.ExpectKeys(l, "load", {"batch_rows", "batch_bytes", "max_wait"});
    // 0 would make every batch full before it has a row: nothing would ever be loaded.
    if (l["batch_rows"]) c.load.batch_rows = r.AtLeast(l["batch_rows"], 1, 1'000'000, "batch_rows");
    if (l["batch_bytes"])
      c.load.batch_bytes = r.Bytes(l["batch_bytes"], 1, 1ull << 30, "batch_bytes");
    if (l["max_wait"]) c.load.max_wait = r.Duration(l["max_wait"]);
  }
  if (const auto& s = root["sink"]) {
    r.ExpectKeys(s, "sink", {"type", "path", "table_prefix", "bigquery"});
    if (s["type"]) {
      c.sink.type = r.Str(s["type"]);
      if (c.sink.type != "sqlite" && c.sink.type != "bigquery")
        r.Fail(s["type"], "unknown sink type '" + c.sink.type + "' (expected: sqlite, bigquery)");
    }
    if (const auto& b = s["bigquery"]) {
      r.ExpectKeys(b, "sink.bigquery",
                   {"project", "dataset", "location", "key_file", "endpoint", "token_uri",
                    "metadata_endpoint", "max_rows", "max_request_bytes", "timeout",
                    "partition_single_tables"});
      auto& bq = c.sink.bigquery;
      // Both go into request paths and into SQL as identifiers (the history report's query),
      // where they cannot be parameters: only the characters Google allows pass.
      if (b["project"]) {
        bq.project = r.Str(b["project"]);
        if (!bq.project.empty() && !IsBigQueryProjectId(bq.project))
          r.Fail(b["project"], "bigquery project '" + bq.project +
                                   "' is not a project id (lower-case letters, digits, - . :)");
      }
      if (b["dataset"]) {
        bq.dataset = r.Str(b["dataset"]);
        if (!bq.dataset.empty() &&
            (bq.dataset.size() > 1024 || !RE2::FullMatch(bq.dataset, "[A-Za-z0-9_]+")))
          r.Fail(b["dataset"], "bigquery dataset '" + bq.dataset + "' must match [A-Za-z0-9_]+");
      }
      if (b["location"]) bq.location = r.Str(b["location"]);
      if (b["key_file"]) bq.key_file = r.Str(b["key_file"]);
      if (b["endpoint"]) bq.endpoint = r.Str(b["endpoint"]);
      if (b["token_uri"]) bq.token_uri = r.Str(b["token_uri"]);
      if (b["metadata_endpoint"]) bq.metadata_endpoint = r.Str(b["metadata_endpoint"]);
      if (b["max_rows"]) bq.max_rows = r.Unsigned(b["max_rows"], 50'000);
      if (b["max_request_bytes"])
        bq.max_request_bytes =
            r.Bytes(b["max_request_bytes"], 1024, 10'000'000, "max_request_bytes");
      if (b["timeout"]) bq.timeout = r.Duration(b["timeout"]);
      if (b["partition_single_tables"])
        bq.partition_single_tables = r.Bool(b["partition_single_tables"]);
      if (bq.max_rows == 0) r.Fail(b["max_rows"], "max_rows must be at least 1");
    }
    // An empty project is found at start, as Google's client libraries find it: the
    // service-account key's project_id, else the metadata server's project (main.cpp).
    if (c.sink.type == "bigquery" && c.sink.bigquery.dataset.empty())
      r.Fail(s, "sink type bigquery needs sink.bigquery.dataset");
    if (s["path"]) c.sink.path = r.Str(s["path"]);
    if (s["table_prefix"]) {
      c.sink.table_prefix = r.Str(s["table_prefix"]);
      if (!c.sink.table_prefix.empty() && !ValidName(c.sink.table_prefix, false))
        r.Fail(s["table_prefix"], "table_prefix must match [a-z_][a-z0-9_]*");
    }
  }
  if (const auto& t = root["tables"]) {
    r.ExpectKeys(t, "tables", {"check_every"});
    if (t["check_every"])
      c.tables.check_every = r.PositiveDuration(t["check_every"], "check_every");
  }
  if (const auto& a = root["admin"]) {
    r.ExpectKeys(a, "admin", {"listen", "token"});
    if (a["listen"]) {
      const std::string listen = r.Str(a["listen"]);
      if (listen == "off" || listen.empty()) {
        c.admin.enabled = false;
      } else {
        const HostPort listen = ParseListen(r, a["listen"]);
        c.admin.listen_host = listen.host;
        c.admin.listen_port = listen.port;
      }
    }
    if (a["token"]) c.admin.token = r.Str(a["token"]);
    if (c.admin.enabled && !IsLoopbackHost(c.admin.listen_host) && c.admin.token.empty())
      r.Fail(a,
             "admin.listen is not a loopback address: set admin.token (clients send Authorization: "
             "Bearer <token>)");
  }
  const YAML::Node sites = root["sites"];
  if (!sites || !sites.IsMap() || sites.size() == 0)
    r.Fail(sites ? sites : root, "the config needs sites: a mapping of site name to settings");
  for (const auto& kv : sites) c.sites.push_back(ParseSite(r, kv.first, kv.second));
  if (root["default_site"]) {
    c.default_site = r.Str(root["default_site"]);
    const Site* site = c.FindSite(c.default_site);
    if (site == nullptr)
      r.Fail(root["default_site"], "default_site '" + c.default_site + "' is not a site");
    if (site->endpoint != Endpoint::kSwallow)
      r.Fail(root["default_site"],
             "default_site '" + c.default_site + "' is not served by swallow");
  }
  if (c.sink.path.empty()) c.sink.path = c.data_dir + "/oceanus.db";
  if (root["tasks"]) ParseTasks(r, root["tasks"], c.tasks);
  if (c.tasks.path.empty()) c.tasks.path = c.data_dir + "/tasks.db";
  if (const auto& actions = root["actions"]) {
    if (!actions.IsMap()) r.Fail(actions, "actions is a mapping of name to settings");
    for (const auto& kv : actions) {
      ActionConfig a = ParseAction(r, kv.first, kv.second);
      if (c.FindAction(a.name) != nullptr)
        r.Fail(kv.first, "action '" + a.name + "' is defined twice");
      c.actions.push_back(std::move(a));
    }
    for (ActionConfig& a : c.actions) {
      if (a.type != "history_report") continue;
      const YAML::Node node = actions[a.name];
      const ActionConfig* mailer = c.FindAction(a.mailer);
      if (mailer == nullptr || (mailer->type != "smtp" && mailer->type != "sendgrid"))
        r.Fail(node["mailer"], "history_report '" + a.name + "': mailer '" + a.mailer +
                                   "' is not an smtp or sendgrid action");
      const Site* site = c.FindSite(a.site);
      if (site == nullptr)
        r.Fail(node["site"],
               "history_report '" + a.name + "': site '" + a.site + "' is not configured");
      // The report looks the visitor up by this column (the sinks refuse any other).
      if (std::none_of(site->schema.begin(), site->schema.end(),
                       [&](const Field& f) { return f.name == a.by; }))
        r.Fail(
            node["by"] ? node["by"] : node["site"],
            "history_report '" + a.name + "': site '" + a.site + "' has no field '" + a.by + "'");
      // A report nobody can send is as unconfigured as its mailer (and its template unread,
      // as at run).
      a.configured = mailer->configured;
      if (a.configured) CheckTemplateFile(r, node["template"], a.template_path);
    }
  }
  if (const auto& rules = root["rules"]) {
    if (!rules.IsSequence()) r.Fail(rules, "rules is a list of rules");
    std::set<std::string> names;
    for (const auto& item : rules) {
      Rule rule = ParseRule(r, item, c);
      if (!names.insert(rule.name).second)
        r.Fail(item["name"], "rule '" + rule.name + "' is defined twice");
      c.rules.push_back(std::move(rule));
    }
    // Rules read the stream through their own consumer group; retention waits for it.
    if (!c.rules.empty() &&
        std::find(c.queue.groups.begin(), c.queue.groups.end(), "react") == c.queue.groups.end())
      c.queue.groups.push_back("react");
  }
  return c;
}

}  // namespace

bool IsBigQueryProjectId(std::string_view project) {
  return RE2::FullMatch(project, R"([a-z0-9][a-z0-9.:\-]{0,127})");
}

Result<HostPort> ParseListenAddress(std::string_view text) {
  auto parsed = ParseHostPort(text);
  if (!parsed.ok()) return parsed.status();
  IpAddress ip;
  if (!parsed->host.empty() && !IpAddress::Parse(parsed->host, ip))
    return Status::InvalidArgument(
        "listen address '" + std::string(text) + "': '" + parsed->host +
        "' is not an IP address (host names are not resolved): use an IP address such as "
        "127.0.0.1, or 0.0.0.0 for every interface");
  return parsed;
}

std::string ResolveConfigRelative(const std::string& config_file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative() && !config_file.empty())
    p = std::filesystem::path(config_file).parent_path() / p;
  return p.string();
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, written as a dotted quad.
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  const std::string text(host);
  return std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 &&
         b < 256 && c < 256 && d < 256;
}

Result<HostPort> ParseHostPort(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return Status::InvalidArgument("expected HOST:PORT, got '" + std::string(text) + "'");
  HostPort out;
  out.host = std::string(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return Status::InvalidArgument("invalid port in '" + std::string(text) + "'");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

const Site* Config::FindSite(std::string_view name) const {
  for (const auto& s : sites)
    if (s.name == name) return &s;
  return nullptr;
}

const ActionConfig* Config::FindAction(std::string_view name) const {
  for (const auto& a : actions)
    if (a.name == name) return &a;
  return nullptr;
}

Result<Config> ParseConfig(const std::string& text, const std::string& file) {
  Reader reader(file);
  try {
    const YAML::Node root = YAML::Load(text);
    return Parse(reader, root, file);
  } catch (const ConfigError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's own message repeats the position; give it in our form.
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open the config file");
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

const char* ToString(Endpoint e) {
  switch (e) {
    case Endpoint::kSwallow:
      return "swallow";
    case Endpoint::kPirate:
      return "pirate";
    case Endpoint::kGaze:
      return "gaze";
    case Endpoint::kPierce:
      return "pierce";
  }
  return "?";
}

const char* ToString(FieldSource s) {
  switch (s) {
    case FieldSource::kParam:
      return "param";
    case FieldSource::kHeader:
      return "header";
    case FieldSource::kClientIp:
      return "client_ip";
    case FieldSource::kUserAgent:
      return "user_agent";
    case FieldSource::kNow:
      return "now";
    case FieldSource::kEventId:
      return "event_id";
    case FieldSource::kDevice:
      return "device";
  }
  return "?";
}

const char* ToString(FieldType t) {
  switch (t) {
    case FieldType::kString:
      return "string";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kFloat:
      return "float";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kTimestamp:
      return "timestamp";
  }
  return "?";
}

const char* ToString(TableLayout t) { return t == TableLayout::kDaily ? "daily" : "single"; }

}  // namespace oceanus::config
