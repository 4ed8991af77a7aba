// Parses the shared part of the config file (config/config.h): sites and their schemas, the
// server and admin listeners, the data dir and the time zone. app/config.cpp reads the file
// and hands each stage its own section.
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
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "config/reader.h"
#include "util/net.h"
#include "util/time.h"

namespace oceanus::config {
namespace {

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

// Where the field's value comes from: `from` and the parameter, header or field it names.
void ParseFieldSource(const Reader& r, const YAML::Node& node, Field& f) {
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
                                  {"device", FieldSource::kDevice},
                                  {"json", FieldSource::kJson},
                                  {"visitor_hash", FieldSource::kVisitorHash}});
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
    case FieldSource::kJson:
      f.source_name = node["path"] ? r.Str(node["path"]) : f.name;
      if (f.source_name.empty() || f.source_name.front() == '.' || f.source_name.back() == '.' ||
          f.source_name.find("..") != std::string::npos)
        r.Fail(node["path"] ? node["path"] : node,
               "field '" + f.name + "': path must be dotted keys, e.g. properties.revenue");
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
  if (node["path"] && f.from != FieldSource::kJson)
    r.Fail(node["path"], "'path' applies only to fields from: json");
}

// The field's type and the checks and rewrites applied to its value.
void ParseFieldValue(const Reader& r, const YAML::Node& node, Field& f) {
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
}

// The column: its mode and description; server-generated fields take no validation options.
void ParseFieldColumn(const Reader& r, const YAML::Node& node, Field& f) {
  if (node["mode"]) {
    f.mode = Choose<ColumnMode>(
        r, node["mode"], "mode",
        {{"NULLABLE", ColumnMode::kNullable}, {"REQUIRED", ColumnMode::kRequired}});
  } else if (f.required || f.from == FieldSource::kNow || f.from == FieldSource::kEventId) {
    f.mode = ColumnMode::kRequired;
  }
  if (node["description"]) f.description = r.Str(node["description"]);
  const bool generated = f.from == FieldSource::kNow || f.from == FieldSource::kEventId ||
                         f.from == FieldSource::kDevice || f.from == FieldSource::kVisitorHash;
  if (generated && (f.required || f.default_value || !f.pattern.empty() || f.json || f.ip))
    r.Fail(node, "field '" + f.name + "' is generated by the server (from: " + ToString(f.from) +
                     "); validation options do not apply to it");
}

Field ParseField(const Reader& r, const YAML::Node& node) {
  r.ExpectKeys(node, "a field",
               {"name", "from", "param", "header", "of", "path", "type", "required", "max_length",
                "on_overflow", "pattern", "transform", "delete_chars", "json", "ip", "default",
                "mode", "description"});
  Field f;
  f.line = r.Line(node);
  if (!node["name"]) r.Fail(node, "a field needs a name");
  f.name = r.Str(node["name"]);
  if (!ValidName(f.name, false))
    r.Fail(node["name"], "field name '" + f.name + "' must match [a-z_][a-z0-9_]*");
  ParseFieldSource(r, node, f);
  ParseFieldValue(r, node, f);
  ParseFieldColumn(r, node, f);
  return f;
}

// The fields that hold a client address: the ones privacy.ip rewrites.
bool HoldsAddress(const Field& f) { return f.from == FieldSource::kClientIp || f.ip; }

void ParseIpHashKey(const Reader& r, const YAML::Node& node, Privacy& p) {
  if (node["ip_hash_key_env"]) p.ip_hash_key_env = r.Str(node["ip_hash_key_env"]);
  if (p.ip != IpPrivacy::kHash) return;
  const char* key = std::getenv(p.ip_hash_key_env.c_str());
  if (key == nullptr || std::strlen(key) < 16)
    r.Fail(node["ip"],
           "privacy.ip hash needs a secret of at least 16 characters in the "
           "environment variable " +
               p.ip_hash_key_env);
  p.ip_hash_key = DeriveHashKey(key);
}

// privacy.consent, privacy.without_consent (fields of the site's schema).
void ParseConsent(const Reader& r, const YAML::Node& node, const Site& site, Privacy& p) {
  if (const YAML::Node c = node["consent"]) {
    r.ExpectKeys(c, "privacy.consent", {"param", "header", "gpc", "without"});
    p.consent.enabled = true;
    if (c["param"]) p.consent.param = r.Str(c["param"]);
    if (c["header"]) p.consent.header = r.Str(c["header"]);
    if (c["gpc"]) p.consent.gpc = r.Bool(c["gpc"]);
    if (p.consent.param.empty() && p.consent.header.empty() && !p.consent.gpc)
      r.Fail(c, "privacy.consent reads nothing: give a param, a header or gpc: true");
    if (c["without"])
      p.consent.drop = Choose<bool>(r, c["without"], "privacy.consent.without",
                                    {{"drop", true}, {"reduce", false}});
  }
  if (const YAML::Node w = node["without_consent"]) {
    if (!p.consent.enabled) r.Fail(w, "privacy.without_consent needs privacy.consent");
    if (!w.IsSequence()) r.Fail(w, "privacy.without_consent must be a list of field names");
    for (const auto& item : w) {
      const std::string name = r.Str(item);
      const bool known = std::any_of(site.schema.begin(), site.schema.end(),
                                     [&](const Field& f) { return f.name == name; });
      if (!known) r.Fail(item, "privacy.without_consent: no field '" + name + "' in the schema");
      const Field& f = *std::find_if(site.schema.begin(), site.schema.end(),
                                     [&](const Field& g) { return g.name == name; });
      if (f.required || f.mode == ColumnMode::kRequired)
        r.Fail(item, "privacy.without_consent: field '" + name + "' is required");
      p.without_consent.push_back(name);
    }
  }
}

// privacy.bots, privacy.bot_patterns.
void ParseBots(const Reader& r, const YAML::Node& node, const Site& site, Privacy& p) {
  if (node["bots"])
    p.bots = Choose<BotPolicy>(r, node["bots"], "privacy.bots",
                               {{"keep", BotPolicy::kKeep},
                                {"flag", BotPolicy::kFlag},
                                {"drop", BotPolicy::kDrop},
                                {"separate", BotPolicy::kSeparate}});
  if (const YAML::Node list = node["bot_patterns"]) {
    if (!list.IsSequence()) r.Fail(list, "privacy.bot_patterns must be a list of RE2 patterns");
    for (const auto& item : list) {
      std::string pattern = r.Str(item);
      RE2 re(pattern, RE2::Quiet);
      if (!re.ok()) r.Fail(item, "invalid RE2 pattern: " + re.error());
      p.bot_patterns.push_back(std::move(pattern));
    }
    if (p.bots == BotPolicy::kKeep)
      r.Fail(list, "privacy.bot_patterns need bots: flag, drop or separate");
  }
  const bool has_device = std::any_of(site.schema.begin(), site.schema.end(), [](const Field& f) {
    return f.from == FieldSource::kDevice;
  });
  if ((p.bots == BotPolicy::kFlag || p.bots == BotPolicy::kSeparate) && !has_device)
    r.Fail(node["bots"], std::string("privacy.bots ") +
                             (p.bots == BotPolicy::kFlag ? "flag" : "separate") +
                             " marks the device field, and the schema has none "
                             "(add {name: dev, from: device})");
}

// privacy: {ip, ipv4_prefix, ipv6_prefix, ip_hash_key_env, user_agent, consent,
// without_consent, bots, bot_patterns}.
void ParsePrivacy(const Reader& r, const YAML::Node& node, Site& site) {
  r.ExpectKeys(node, "privacy",
               {"ip", "ipv4_prefix", "ipv6_prefix", "ip_hash_key_env", "user_agent", "consent",
                "without_consent", "bots", "bot_patterns"});
  Privacy& p = site.privacy;
  ParseConsent(r, node, site, p);
  ParseBots(r, node, site, p);
  if (node["ip"])
    p.ip = Choose<IpPrivacy>(r, node["ip"], "privacy.ip",
                             {{"keep", IpPrivacy::kKeep},
                              {"truncate", IpPrivacy::kTruncate},
                              {"hash", IpPrivacy::kHash},
                              {"drop", IpPrivacy::kDrop}});
  if (node["ipv4_prefix"]) p.ipv4_prefix = r.Unsigned(node["ipv4_prefix"], 32);
  if (node["ipv6_prefix"]) p.ipv6_prefix = r.Unsigned(node["ipv6_prefix"], 128);
  if ((node["ipv4_prefix"] || node["ipv6_prefix"]) && p.ip != IpPrivacy::kTruncate)
    r.Fail(node["ipv4_prefix"] ? node["ipv4_prefix"] : node["ipv6_prefix"],
           "ipv4_prefix and ipv6_prefix apply to privacy.ip truncate");
  ParseIpHashKey(r, node, p);
  if (node["user_agent"])
    p.user_agent = Choose<UserAgentPrivacy>(
        r, node["user_agent"], "privacy.user_agent",
        {{"keep", UserAgentPrivacy::kKeep}, {"device_only", UserAgentPrivacy::kDeviceOnly}});
  for (const auto& f : site.schema) {
    const bool required = f.required || f.mode == ColumnMode::kRequired;
    if (p.user_agent == UserAgentPrivacy::kDeviceOnly && f.from == FieldSource::kUserAgent &&
        required)
      r.Fail(node["user_agent"], "privacy.user_agent device_only: field '" + f.name +
                                     "' holds the User-Agent and is required");
    if (p.ip == IpPrivacy::kDrop && HoldsAddress(f) && required)
      r.Fail(node["ip"], "privacy.ip drop: field '" + f.name +
                             "' holds the client address and "
                             "is required");
    if (p.ip == IpPrivacy::kHash && HoldsAddress(f) && f.max_length > 0 && f.max_length < 32)
      r.Fail(node["ip"], "privacy.ip hash: field '" + f.name + "' takes at most " +
                             std::to_string(f.max_length) + " characters; a hash has 32");
  }
}

Site ParseSite(const Reader& r, const SiteSources& sources, const YAML::Node& key,
               const YAML::Node& node) {
  Site site;
  site.name = key.as<std::string>();
  site.line = r.Line(key);
  if (!ValidName(site.name, true))
    r.Fail(key, "site name '" + site.name + "' must match [a-z0-9_]+");
  // The keys a site takes: the common ones and those of its source (when it names a known one).
  std::vector<std::string> keys = {"endpoint", "tables", "schema", "description", "privacy"};
  const YAML::Node endpoint = node.IsMap() ? node["endpoint"] : YAML::Node();
  if (endpoint && endpoint.IsScalar() && sources.Has(r.Str(endpoint))) {
    for (auto& k : sources.SiteKeys(r.Str(endpoint))) keys.push_back(std::move(k));
  }
  r.ExpectKeys(node, "site '" + site.name + "'", keys);
  if (!node["endpoint"]) r.Fail(key, "site '" + site.name + "' needs an endpoint");
  site.endpoint = r.Str(node["endpoint"]);
  if (!sources.Has(site.endpoint))
    r.Fail(node["endpoint"],
           "unknown endpoint '" + site.endpoint + "' (expected one of: " + sources.Names() + ")");
  if (node["tables"]) {
    site.tables =
        Choose<TableLayout>(r, node["tables"], "table layout",
                            {{"daily", TableLayout::kDaily}, {"single", TableLayout::kSingle}});
  }
  const YAML::Node schema = node["schema"];
  site.schema = sources.DefaultSchema(site.endpoint);
  for (auto& f : site.schema) f.line = site.line;
  const bool has_defaults = !site.schema.empty();
  if (schema ? !schema.IsSequence() || (schema.size() == 0 && !has_defaults) : !has_defaults)
    r.Fail(schema ? schema : key, "site '" + site.name + "' needs a schema: a list of fields");
  std::set<std::string> listed;
  for (const auto& item : schema) {
    Field f = ParseField(r, item);
    if (!listed.insert(f.name).second) r.Fail(item, "field '" + f.name + "' is defined twice");
    auto same = std::find_if(site.schema.begin(), site.schema.end(),
                             [&](const Field& d) { return d.name == f.name; });
    if (same != site.schema.end()) {
      *same = std::move(f);
    } else {
      site.schema.push_back(std::move(f));
    }
  }
  std::set<std::string> names;
  for (const auto& f : site.schema) names.insert(f.name);
  for (const auto& f : site.schema) {
    if (f.from == FieldSource::kDevice && !names.count(f.source_name))
      r.Fail(schema ? schema : key, "field '" + f.name + "' derives from '" + f.source_name +
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
      r.Fail(schema ? schema : key, "field 'eid' is the event id and must be from: event_id");
  }
  if (node["privacy"]) ParsePrivacy(r, node["privacy"], site);
  site.source = sources.ParseSite(site.endpoint, r, node, site);
  return site;
}

ServerConfig ParseServer(const Reader& r, const YAML::Node& s) {
  ServerConfig server;
  r.ExpectKeys(s, "server",
               {"listen", "threads", "trusted_proxies", "internal_networks", "max_header_bytes",
                "max_body_bytes", "read_timeout", "idle_timeout", "max_connections", "gaze_delays",
                "tracker_script", "background_priority"});
  if (s["listen"]) {
    const HostPort listen = ParseListen(r, s["listen"]);
    server.listen_host = listen.host;
    server.listen_port = listen.port;
  }
  if (s["threads"]) server.threads = static_cast<unsigned>(r.Unsigned(s["threads"], 256));
  if (s["trusted_proxies"])
    server.trusted_proxies = NetworkList(r, s["trusted_proxies"], "server.trusted_proxies");
  if (s["internal_networks"])
    server.internal_networks = NetworkList(r, s["internal_networks"], "server.internal_networks");
  if (s["max_header_bytes"])
    server.max_header_bytes =
        r.Bytes(s["max_header_bytes"], 256, kMaxHeaderBytesLimit, "max_header_bytes");
  if (s["max_body_bytes"])
    server.max_body_bytes = r.Bytes(s["max_body_bytes"], 1, 1ull << 30, "max_body_bytes");
  if (s["read_timeout"])
    server.read_timeout = r.PositiveDuration(s["read_timeout"], "read_timeout");
  if (s["idle_timeout"])
    server.idle_timeout = r.PositiveDuration(s["idle_timeout"], "idle_timeout");
  if (s["max_connections"])
    server.max_connections = r.AtLeast(s["max_connections"], 1, 10'000'000, "max_connections");
  if (s["background_priority"])
    server.background_priority = Choose<BackgroundPriority>(
        r, s["background_priority"], "background_priority",
        {{"nice", BackgroundPriority::kNice}, {"idle", BackgroundPriority::kIdle}});
  if (const auto& g = s["gaze_delays"]) {
    if (!g.IsSequence() || g.size() != 3)
      r.Fail(g, "gaze_delays is a list of three durations: open→see, see→read, read→done");
    server.gaze_open_delay = r.Duration(g[0]);
    server.gaze_see_delay = r.Duration(g[1]);
    server.gaze_read_delay = r.Duration(g[2]);
  }
  if (s["tracker_script"]) {
    server.tracker_script = r.Str(s["tracker_script"]);
    CheckReadableFile(r, s["tracker_script"], server.tracker_script, "server.tracker_script");
  }

  return server;
}

AdminConfig ParseAdmin(const Reader& r, const YAML::Node& a) {
  AdminConfig admin;
  r.ExpectKeys(a, "admin", {"listen", "token"});
  if (a["listen"]) {
    const std::string listen = r.Str(a["listen"]);
    if (listen == "off" || listen.empty()) {
      admin.enabled = false;
    } else {
      const HostPort listen = ParseListen(r, a["listen"]);
      admin.listen_host = listen.host;
      admin.listen_port = listen.port;
    }
  }
  if (a["token"]) admin.token = r.Str(a["token"]);
  if (admin.enabled && !IsLoopbackHost(admin.listen_host) && admin.token.empty())
    r.Fail(a,
           "admin.listen is not a loopback address: set admin.token (clients send Authorization: "
           "Bearer <token>)");

  return admin;
}

RejectedConfig ParseRejected(const Reader& r, const YAML::Node& n) {
  RejectedConfig rejected;
  r.ExpectKeys(n, "rejected", {"max_per_site", "max_age", "max_payload_bytes", "log_every"});
  if (n["max_per_site"])
    rejected.max_per_site = r.AtLeast(n["max_per_site"], 1, 10'000'000, "rejected.max_per_site");
  if (n["max_age"]) rejected.max_age = r.PositiveDuration(n["max_age"], "rejected.max_age");
  if (n["max_payload_bytes"])
    rejected.max_payload_bytes =
        r.Bytes(n["max_payload_bytes"], 256, 1024 * 1024, "rejected.max_payload_bytes");
  if (n["log_every"]) rejected.log_every = r.Duration(n["log_every"]);
  return rejected;
}

// Nodes reached again through an alias (same position) are walked once, so `*ref` repeated
// cannot make this exponential.
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

}  // namespace

void RejectDuplicateKeys(const Reader& r, const YAML::Node& root) {
  std::set<std::tuple<int, int, int>> walked;
  RejectDuplicateKeys(r, root, walked);
}

void ParseShared(const Reader& r, const YAML::Node& root, const SiteSources& sources, Config& c) {
  if (root["data_dir"]) c.data_dir = r.Str(root["data_dir"]);
  if (root["time_zone"]) c.time_zone = r.Str(root["time_zone"]);
  if (root["log_level"]) {
    c.log_level = r.Str(root["log_level"]);
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    if (!kLevels.count(c.log_level))
      r.Fail(root["log_level"], "log_level must be trace, debug, info, warn or error");
  }
  if (root["server"]) c.server = ParseServer(r, root["server"]);
  if (root["admin"]) c.admin = ParseAdmin(r, root["admin"]);
  if (root["rejected"]) c.rejected = ParseRejected(r, root["rejected"]);
  const YAML::Node sites = root["sites"];
  if (!sites || !sites.IsMap() || sites.size() == 0)
    r.Fail(sites ? sites : root, "the config needs sites: a mapping of site name to settings");
  for (const auto& kv : sites) c.sites.push_back(ParseSite(r, sources, kv.first, kv.second));
  // privacy.bots separate writes <site>_bots tables, which another site must not own.
  for (const auto& kv : sites) {
    const Site* site = c.FindSite(r.Str(kv.first));
    if (site && site->privacy.bots == BotPolicy::kSeparate && c.FindSite(site->name + "_bots"))
      r.Fail(kv.first, "site '" + site->name + "' has privacy.bots separate, whose tables are " +
                           site->name + "_bots…, and a site of that name exists");
  }
  if (root["default_site"]) {
    c.default_site = r.Str(root["default_site"]);
    const Site* site = c.FindSite(c.default_site);
    if (site == nullptr)
      r.Fail(root["default_site"], "default_site '" + c.default_site + "' is not a site");
    if (site->endpoint != sources.DefaultSiteSource())
      r.Fail(root["default_site"], "default_site '" + c.default_site + "' is not served by " +
                                       std::string(sources.DefaultSiteSource()));
  }
}

const Site* Config::FindSite(std::string_view name) const {
  for (const auto& s : sites)
    if (s.name == name) return &s;
  return nullptr;
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
    case FieldSource::kJson:
      return "json";
    case FieldSource::kVisitorHash:
      return "visitor_hash";
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

const char* ToString(Transform t) {
  switch (t) {
    case Transform::kLower:
      return "lower";
    case Transform::kUpper:
      return "upper";
    case Transform::kStrip:
      return "strip";
  }
  return "?";
}

const char* ToString(TableLayout t) { return t == TableLayout::kDaily ? "daily" : "single"; }

const char* ToString(IpPrivacy p) {
  switch (p) {
    case IpPrivacy::kKeep:
      return "keep";
    case IpPrivacy::kTruncate:
      return "truncate";
    case IpPrivacy::kHash:
      return "hash";
    case IpPrivacy::kDrop:
      return "drop";
  }
  return "?";
}

}  // namespace oceanus::config
