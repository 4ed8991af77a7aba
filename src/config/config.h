// What every stage shares: the sites with their schemas, the server and admin listeners, the
// data dir and the time zone. Plain data, validated once at load.
//
// Each stage's own settings (queue, sink, load, tasks, actions, rules) live next to the stage
// (queue/queue_config.h, sink/sink_config.h, …) and the file as a whole is app::Config
// (app/config.h), so that a stage's options change without recompiling the others. Stages
// compile what they need from here (RE2 patterns, table names) and never see YAML.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/parser_fwd.h"
#include "config/registry.h"
#include "util/cpu.h"
#include "util/keyed_hash.h"
#include "util/status.h"

namespace oceanus::config {

// Where a field's value comes from.
enum class FieldSource {
  kParam,        // query string or form/text body parameter (name: `param`, default the field name)
  kHeader,       // request header (name: `header`)
  kClientIp,     // peer address, or the nearest untrusted address in X-Forwarded-For
  kUserAgent,    // the User-Agent header
  kNow,          // the server clock, UTC, "YYYY-MM-DD HH:MM:SS.ffffff"
  kEventId,      // a fresh time-ordered unique id (UUIDv7 text)
  kDevice,       // pc / mobile / tablet / bot / "" derived from another field (`of`, default ua)
  kJson,         // a value of the request's JSON message (`path`: "properties.revenue"), for the
                 // sources whose bodies are JSON (segment): a string as its text, a number or
                 // boolean as written, an object or array as compact JSON; null counts as absent
  kVisitorHash,  // a cookieless visitor id: a keyed hash of (site, client address, User-Agent)
                 // under a salt that changes every day (event/privacy.h)
};

enum class FieldType { kString, kInteger, kFloat, kBoolean, kTimestamp };
enum class Overflow { kReject, kTruncate };
enum class Transform { kLower, kUpper, kStrip };
enum class ColumnMode { kNullable, kRequired };

struct Field {
  std::string name;
  FieldSource from = FieldSource::kParam;
  // Parameter or header name, for kDevice the field it reads, for kJson the dotted path.
  std::string source_name;
  FieldType type = FieldType::kString;
  bool required = false;
  std::size_t max_length = 0;  // in Unicode code points; 0 = unlimited
  Overflow on_overflow = Overflow::kReject;
  std::string pattern;                // RE2, must match the whole value; empty = none
  std::vector<Transform> transforms;  // applied in order, before validation
  std::string delete_chars;           // characters removed from the value (after transforms)
  bool json = false;                  // must parse as JSON; stored compact with sorted keys
  bool ip = false;                    // must be an IPv4/IPv6 address; stored normalised
  std::optional<std::string> default_value;
  ColumnMode mode = ColumnMode::kNullable;
  std::string description;
  int line = 0;  // where it was defined, for messages
};

// What a site keeps of the client's address and User-Agent (docs/PRIVACY.md). Applied by the
// collector while it builds the event, so nothing else is ever queued.
enum class IpPrivacy {
  kKeep,      // as the client sent it
  kTruncate,  // the network only: IPv4 to ipv4_prefix bits, IPv6 to ipv6_prefix bits
  kHash,      // HMAC-SHA256 under a secret key (hex, 32 characters): same address, same value
  kDrop,      // not stored
};
enum class UserAgentPrivacy {
  kKeep,
  kDeviceOnly,  // the device class (pc, mobile, …) is stored, the User-Agent itself is not
};

// privacy.consent: where the visitor's choice is read, and what an event without it becomes.
struct Consent {
  bool enabled = false;
  std::string param;   // a parameter granting consent with 1, true, yes or granted
  std::string header;  // or a header, with the same values
  bool gpc = true;     // Sec-GPC: 1 (Global Privacy Control) withdraws it, whatever else says
  bool drop = true;    // without consent: drop the event (false: store it reduced)
};

// privacy.bots: what becomes of an event whose User-Agent is a bot's (uap-core's device class
// "bot", or one of bot_patterns).
enum class BotPolicy {
  kKeep,
  kFlag,      // stored, with every device field set to "bot"
  kDrop,      // not stored, counted
  kSeparate,  // as kFlag, and the loader writes rows whose device field is "bot" to the
              // site's bots tables (tables::BotsTableOf), not among the human page views
};

struct Privacy {
  IpPrivacy ip = IpPrivacy::kKeep;
  unsigned ipv4_prefix = 24;
  unsigned ipv6_prefix = 48;
  std::string ip_hash_key_env = "OCEANUS_IP_HASH_KEY";  // names the variable, never printed
  HashKey ip_hash_key{};  // made from its value when the file is read (DeriveHashKey)
  UserAgentPrivacy user_agent = UserAgentPrivacy::kKeep;
  Consent consent;
  // Removed from an event stored without consent (whose address is also truncated).
  std::vector<std::string> without_consent;
  BotPolicy bots = BotPolicy::kKeep;
  std::vector<std::string> bot_patterns;  // RE2, searched in the User-Agent
};

enum class TableLayout {
  kDaily,   // <prefix><site>_YYYYMMDD, date of the event's dt in the configured time zone
  kSingle,  // <prefix><site>
};

struct Site {
  std::string name;  // [a-z0-9_]+
  // The HTTP source that serves the site, by its registered name ("swallow", "pirate", …):
  // one of SiteSources::Names(), checked at load.
  std::string endpoint;
  // That source's own keys of the site's mapping, parsed by the source; null when it has none.
  std::shared_ptr<const ComponentSettings> source;
  TableLayout tables = TableLayout::kDaily;
  std::vector<Field> schema;  // always contains `eid` (added when not listed)
  Privacy privacy;
  int line = 0;
};

struct Network {
  std::string text;  // as written, e.g. "10.0.0.0/8"
};

struct ServerConfig {
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  unsigned threads = 0;                        // 0 = one per core
  std::vector<std::string> trusted_proxies;    // CIDR networks
  std::vector<std::string> internal_networks;  // CIDR networks allowed debug=1
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds gaze_open_delay{2'000};  // open -> see
  std::chrono::milliseconds gaze_see_delay{4'000};   // see -> read
  std::chrono::milliseconds gaze_read_delay{4'000};  // read -> done
  // How loading, rules and tasks give way to the I/O threads on a shared core (util/cpu.h).
  BackgroundPriority background_priority = BackgroundPriority::kNice;
  std::string tracker_script;  // served at /static/js/oceanus.js; empty: the built-in one
};

// The admin listener: /rstatus, /metrics, /tasks and the admin page. Loopback by default;
// a token is required when it listens anywhere else.
struct AdminConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 9090;
  bool enabled = true;
  std::string token;  // "Authorization: Bearer <token>" when set
};

// `rejected:`: what did not become a row (refused requests and messages, rows a warehouse
// refused, dead tasks), kept for the admin page (queue/rejected.h).
struct RejectedConfig {
  std::size_t max_per_site = 10000;  // entries kept per site; the oldest go first (counted)
  std::chrono::milliseconds max_age = std::chrono::hours(24 * 7);
  std::size_t max_payload_bytes = 2048;  // a request's line and headers, or a record, cut here
  // A warn line per site every this long while it refuses requests; 0: none.
  std::chrono::milliseconds log_every = std::chrono::seconds(10);
};

struct Config {
  std::string file;  // the path it was loaded from
  std::string data_dir = "./data";
  std::string time_zone = "UTC";  // IANA name ("Asia/Tokyo") or fixed offset ("+09:00")
  std::string log_level = "info";
  ServerConfig server;
  AdminConfig admin;
  RejectedConfig rejected;
  std::string default_site;  // the site a bare /swallow writes to
  std::vector<Site> sites;

  const Site* FindSite(std::string_view name) const;
};

// The most server.max_header_bytes may be: the HTTP server reads a request's head into a
// buffer of this size at most.
inline constexpr std::size_t kMaxHeaderBytesLimit = 1024 * 1024;

// The HTTP sources as the site parser sees them. Each site's `endpoint:` names a source; the
// sources are registered in collect/ (collect/source.h), above config/, so app/ hands their
// registry to ParseShared through this interface and config/ never includes collect/.
class SiteSources {
 public:
  virtual ~SiteSources() = default;
  // The names an `endpoint:` may give, "a, b, c", for the "expected one of" message.
  virtual std::string Names() const = 0;
  virtual bool Has(std::string_view name) const = 0;
  // The keys of a site's mapping the source `name` (one that Has) reads besides the common
  // ones (endpoint, tables, schema, description).
  virtual std::vector<std::string> SiteKeys(std::string_view name) const = 0;
  // The schema a site of source `name` has before its own `schema:` (segment's columns);
  // empty for most sources. A site of a source with default fields may omit `schema:`; a
  // field it lists replaces the default of the same name or is added after them.
  virtual std::vector<Field> DefaultSchema(std::string_view name) const {
    (void)name;
    return {};
  }
  // Parses and validates those keys of `node` (the site's mapping) for `site`, whose schema
  // is parsed; a mistake fails through `r` at its position. Null when the source has none.
  virtual std::shared_ptr<const ComponentSettings> ParseSite(std::string_view name, const Reader& r,
                                                             const YAML::Node& node,
                                                             const Site& site) const = 0;
  // The source whose bare path (no site named) writes to default_site.
  virtual std::string_view DefaultSiteSource() const = 0;
};

// The shared part of the file's root mapping: data_dir, time_zone, log_level, server, admin,
// sites and default_site (app/config.cpp reads the rest, section by section). Each site's
// endpoint is checked against `sources`, which also parse their own keys of the site.
void ParseShared(const Reader& r, const YAML::Node& root, const SiteSources& sources, Config& c);

const char* ToString(FieldSource s);
const char* ToString(FieldType t);
const char* ToString(Transform t);
const char* ToString(TableLayout t);
const char* ToString(IpPrivacy p);

}  // namespace oceanus::config
