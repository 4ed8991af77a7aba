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
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

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
    std::uint64_t v = 0;
    if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit) || s.size() > 19)
      Fail(node, "expected a non-negative integer, got '" + s + "'");
    v = std::stoull(s);
    if (v > max) Fail(node, "value " + s + " is larger than " + std::to_string(max));
    return v;
  }

  // "1024", "64KiB", "1MiB", "2GiB" (also KB/MB/GB as powers of 1000).
  std::size_t Bytes(const YAML::Node& node) const {
    const std::string s = Str(node);
    std::size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0 || i > 15) Fail(node, "expected a size such as 1MiB or 65536, got '" + s + "'");
    const std::uint64_t n = std::stoull(s.substr(0, i));
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
    return static_cast<std::size_t>(n * it->second);
  }

  // "500ms", "1s", "2m", "1h".
  std::chrono::milliseconds Duration(const YAML::Node& node) const {
    const std::string s = Str(node);
    std::size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0 || i > 12)
      Fail(node, "expected a duration such as 500ms, 1s or 2m, got '" + s + "'");
    const std::int64_t n = std::stoll(s.substr(0, i));
    const std::string unit = s.substr(i);
    if (unit == "ms") return std::chrono::milliseconds(n);
    if (unit == "s") return std::chrono::seconds(n);
    if (unit == "m") return std::chrono::minutes(n);
    if (unit == "h") return std::chrono::hours(n);
    Fail(node, "duration '" + s + "' needs a unit: ms, s, m or h");
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

// Parses "host:port" or "[v6]:port" or ":port".
// An address from the YAML; an empty host means all interfaces.
HostPort ParseAddress(const Reader& r, const YAML::Node& node) {
  auto parsed = ParseHostPort(r.Str(node));
  if (!parsed.ok()) r.Fail(node, parsed.status().message());
  if (parsed->host.empty()) parsed->host = "0.0.0.0";
  return *parsed;
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

Config Parse(const Reader& r, const YAML::Node& root, const std::string& file) {
  Config c;
  c.file = file;
  if (!root.IsDefined() || root.IsNull()) r.Fail(root, "the file is empty");
  r.ExpectKeys(root, "the top level",
               {"data_dir", "time_zone", "log_level", "server", "queue", "load", "sink", "tables",
                "admin", "default_site", "sites"});
  if (root["data_dir"]) c.data_dir = r.Str(root["data_dir"]);
  if (root["time_zone"]) c.time_zone = r.Str(root["time_zone"]);
  if (root["log_level"]) {
    c.log_level = r.Str(root["log_level"]);
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    if (!kLevels.count(c.log_level))
      r.Fail(root["log_level"], "log_level must be trace, debug, info, warn or error");
  }
  if (const auto& s = root["server"]) {
    r.ExpectKeys(
        s, "server",
        {"listen", "threads", "trusted_proxies", "internal_networks", "max_header_bytes",
         "max_body_bytes", "read_timeout", "idle_timeout", "max_connections", "gaze_delays"});
    if (s["listen"]) {
      const HostPort listen = ParseAddress(r, s["listen"]);
      c.server.listen_host = listen.host;
      c.server.listen_port = listen.port;
    }
    if (s["threads"]) c.server.threads = static_cast<unsigned>(r.Unsigned(s["threads"], 256));
    if (s["trusted_proxies"]) c.server.trusted_proxies = r.StrList(s["trusted_proxies"]);
    if (s["internal_networks"]) c.server.internal_networks = r.StrList(s["internal_networks"]);
    if (s["max_header_bytes"]) c.server.max_header_bytes = r.Bytes(s["max_header_bytes"]);
    if (s["max_body_bytes"]) c.server.max_body_bytes = r.Bytes(s["max_body_bytes"]);
    if (s["read_timeout"]) c.server.read_timeout = r.Duration(s["read_timeout"]);
    if (s["idle_timeout"]) c.server.idle_timeout = r.Duration(s["idle_timeout"]);
    if (s["max_connections"])
      c.server.max_connections = r.Unsigned(s["max_connections"], 10'000'000);
    if (const auto& g = s["gaze_delays"]) {
      if (!g.IsSequence() || g.size() != 3)
        r.Fail(g, "gaze_delays is a list of three durations: open→see, see→read, read→done");
      c.server.gaze_open_delay = r.Duration(g[0]);
      c.server.gaze_see_delay = r.Duration(g[1]);
      c.server.gaze_read_delay = r.Duration(g[2]);
    }
    if (c.server.max_header_bytes < 256)
      r.Fail(s["max_header_bytes"], "max_header_bytes is below 256");
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
    if (q["segment_bytes"]) c.queue.segment_bytes = r.Bytes(q["segment_bytes"]);
    if (c.queue.segment_bytes < 4096) r.Fail(q["segment_bytes"], "segment_bytes is below 4KiB");
  }
  if (const auto& l = root["load"]) {
    r.ExpectKeys(l, "load", {"batch_rows", "batch_bytes", "max_wait"});
    if (l["batch_rows"]) c.load.batch_rows = r.Unsigned(l["batch_rows"], 1'000'000);
    if (l["batch_bytes"]) c.load.batch_bytes = r.Bytes(l["batch_bytes"]);
    if (l["max_wait"]) c.load.max_wait = r.Duration(l["max_wait"]);
    if (c.load.batch_rows == 0) r.Fail(l["batch_rows"], "batch_rows must be at least 1");
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
      if (b["project"]) bq.project = r.Str(b["project"]);
      if (b["dataset"]) bq.dataset = r.Str(b["dataset"]);
      if (b["location"]) bq.location = r.Str(b["location"]);
      if (b["key_file"]) bq.key_file = r.Str(b["key_file"]);
      if (b["endpoint"]) bq.endpoint = r.Str(b["endpoint"]);
      if (b["token_uri"]) bq.token_uri = r.Str(b["token_uri"]);
      if (b["metadata_endpoint"]) bq.metadata_endpoint = r.Str(b["metadata_endpoint"]);
      if (b["max_rows"]) bq.max_rows = r.Unsigned(b["max_rows"], 50'000);
      if (b["max_request_bytes"]) bq.max_request_bytes = r.Bytes(b["max_request_bytes"]);
      if (b["timeout"]) bq.timeout = r.Duration(b["timeout"]);
      if (b["partition_single_tables"])
        bq.partition_single_tables = r.Bool(b["partition_single_tables"]);
      if (bq.max_rows == 0) r.Fail(b["max_rows"], "max_rows must be at least 1");
    }
    if (c.sink.type == "bigquery" &&
        (c.sink.bigquery.project.empty() || c.sink.bigquery.dataset.empty()))
      r.Fail(s, "sink type bigquery needs sink.bigquery.project and sink.bigquery.dataset");
    if (s["path"]) c.sink.path = r.Str(s["path"]);
    if (s["table_prefix"]) {
      c.sink.table_prefix = r.Str(s["table_prefix"]);
      if (!c.sink.table_prefix.empty() && !ValidName(c.sink.table_prefix, false))
        r.Fail(s["table_prefix"], "table_prefix must match [a-z_][a-z0-9_]*");
    }
  }
  if (const auto& t = root["tables"]) {
    r.ExpectKeys(t, "tables", {"check_every"});
    if (t["check_every"]) c.tables.check_every = r.Duration(t["check_every"]);
  }
  if (const auto& a = root["admin"]) {
    r.ExpectKeys(a, "admin", {"listen", "token"});
    if (a["listen"]) {
      const std::string listen = r.Str(a["listen"]);
      if (listen == "off" || listen.empty()) {
        c.admin.enabled = false;
      } else {
        const HostPort listen = ParseAddress(r, a["listen"]);
        c.admin.listen_host = listen.host;
        c.admin.listen_port = listen.port;
      }
    }
    if (a["token"]) c.admin.token = r.Str(a["token"]);
    const bool loopback = c.admin.listen_host == "127.0.0.1" || c.admin.listen_host == "::1" ||
                          c.admin.listen_host == "localhost";
    if (c.admin.enabled && !loopback && c.admin.token.empty())
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
  return c;
}

}  // namespace

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
