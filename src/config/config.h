// The resolved configuration: plain data, validated once at load.
//
// `LoadConfig` reads the YAML file, expands ${ENV} references, applies defaults and checks
// every key; a mistake comes back as "file:line:col: what is wrong" before anything starts
// (Envoy's habit: a bad config fails at load, never at the first request). Later stages
// compile what they need from here (RE2 patterns, table names) and never see YAML.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace oceanus::config {

// Where a field's value comes from.
enum class FieldSource {
  kParam,      // query string or form/text body parameter (name: `param`, default the field name)
  kHeader,     // request header (name: `header`)
  kClientIp,   // peer address, or the nearest untrusted address in X-Forwarded-For
  kUserAgent,  // the User-Agent header
  kNow,        // the server clock, UTC, "YYYY-MM-DD HH:MM:SS.ffffff"
  kEventId,    // a fresh time-ordered unique id (UUIDv7 text)
  kDevice,     // pc / mobile / tablet / bot / "" derived from another field (`of`, default ua)
};

enum class FieldType { kString, kInteger, kFloat, kBoolean, kTimestamp };
enum class Overflow { kReject, kTruncate };
enum class Transform { kLower, kUpper, kStrip };
enum class ColumnMode { kNullable, kRequired };

struct Field {
  std::string name;
  FieldSource from = FieldSource::kParam;
  std::string source_name;  // parameter or header name, or for kDevice the field it reads
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

// Which public path serves a site.
enum class Endpoint { kSwallow, kPirate, kGaze, kPierce };

enum class TableLayout {
  kDaily,   // <prefix><site>_YYYYMMDD, date of the event's dt in the configured time zone
  kSingle,  // <prefix><site>
};

struct Site {
  std::string name;  // [a-z0-9_]+
  Endpoint endpoint = Endpoint::kSwallow;
  TableLayout tables = TableLayout::kDaily;
  std::vector<Field> schema;  // always contains `eid` (added when not listed)
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
  std::string tracker_script;  // served at /static/js/oceanus.js; empty: the built-in one
};

enum class Durability {
  kOs,     // answered once write() returned: survives a crash of oceanus, not of the machine
  kFsync,  // answered after fdatasync (group commit): survives power loss
};

// Redis Streams (queue type `redis`).
struct RedisConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;
  unsigned db = 0;
  std::string prefix;  // stream key = <prefix><site>; dead-letter = <prefix><site>:dead
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds command_timeout{1'000};
  bool publish = false;  // also PUBLISH each record on channel <site>, as the original did
  std::chrono::milliseconds claim_idle{30'000};  // pending this long in a consumer: claim it
  unsigned max_deliveries = 5;                   // then it goes to the dead-letter stream
  std::chrono::milliseconds trim_every{5'000};
};

struct QueueConfig {
  std::string type = "spool";  // spool | redis
  Durability durability = Durability::kOs;
  std::size_t segment_bytes = 64 * 1024 * 1024;
  // Consumer groups that read every stream; retention waits for all of them.
  std::vector<std::string> groups = {"load"};
  RedisConfig redis;
};

struct LoadConfig {
  std::size_t batch_rows = 500;
  std::size_t batch_bytes = 1024 * 1024;
  std::chrono::milliseconds max_wait{1'000};
};

// BigQuery (sink type `bigquery`).
struct BigQueryConfig {
  std::string project;
  std::string dataset;
  std::string location;  // for jobs.query; empty = the dataset's
  std::string key_file;  // service-account JSON; empty = GOOGLE_APPLICATION_CREDENTIALS, else
                         // metadata server
  std::string endpoint = "https://bigquery.googleapis.com";
  std::string token_uri;  // overrides the key's token_uri (tests, proxies)
  std::string metadata_endpoint =
      "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token";
  std::size_t max_rows = 500;                       // per insertAll request
  std::size_t max_request_bytes = 9 * 1024 * 1024;  // under BigQuery's 10 MB request limit
  std::chrono::milliseconds timeout{30'000};
  bool partition_single_tables = true;  // single-table sites: DAY partitioning on dt
};

struct SinkConfig {
  std::string type = "sqlite";  // sqlite | bigquery
  std::string path;             // sqlite: default <data_dir>/oceanus.db
  std::string table_prefix;
  BigQueryConfig bigquery;
};

// The admin listener: /rstatus (and later /metrics, the admin page). Loopback by default;
// a token is required when it listens anywhere else.
struct AdminConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 9090;
  bool enabled = true;
  std::string token;  // "Authorization: Bearer <token>" when set
};

struct TablesConfig {
  std::chrono::milliseconds check_every{30'000};
};

// RabbitMQ (tasks type `rabbitmq`), from `url: amqp://user:password@host:port/vhost`.
struct RabbitMqConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  // The work queue; delays wait in "<queue>.delay.<ms>" queues (per-message TTL, dead-lettered
  // into the work queue) and buried tasks in "<queue>.dead".
  std::string queue = "oceanus.tasks";
  unsigned prefetch = 0;  // unacknowledged deliveries per worker; 0 = tasks.concurrency
  std::chrono::milliseconds connect_timeout{5'000};
};

struct TasksConfig {
  std::string type = "local";  // local | rabbitmq
  std::string path;            // local: default <data_dir>/tasks.db
  unsigned concurrency = 4;    // actions running at once in one worker
  unsigned max_attempts = 4;   // the first run and three retries, as the original's Celery
  std::chrono::milliseconds backoff{30'000};       // before the first retry; doubled each time
  std::chrono::milliseconds max_backoff{600'000};  // the doubling stops here
  // local: a task taken by a worker that neither settles it nor is alive is taken again
  // after this long (a worker that is alive on this host is asked directly, see local/).
  std::chrono::milliseconds lease{600'000};
  RabbitMqConfig rabbitmq;
};

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

// Per action, as in Celery's rate_limit="15/m".
struct RateLimit {
  unsigned count = 0;  // 0 = unlimited
  std::chrono::milliseconds per{60'000};
};

// A named action: how to reach a service. Rules refer to it by name and give the
// per-event arguments. An action whose address is empty is `configured = false`: reported
// once at start, and its steps are skipped.
struct ActionConfig {
  std::string name;
  std::string type;  // webhook | slack | smtp | sendgrid | sheets | history_report
  bool configured = true;
  std::string url;  // webhook/slack: the URL; smtp: smtp://host:port or smtps://
  std::vector<std::pair<std::string, std::string>> headers;  // webhook
  std::string username;                                      // smtp
  std::string password;                                      // smtp
  std::string tls = "try";      // smtp: none | try (STARTTLS if offered) | require
  std::string ca_file;          // smtp: CA bundle for the server's certificate (default: system)
  std::string from;             // smtp/sendgrid
  std::vector<std::string> to;  // smtp/sendgrid/history_report: default recipients
  std::string api_key;          // sendgrid
  std::string
      endpoint;  // sendgrid: https://api.sendgrid.com; sheets: https://sheets.googleapis.com
  std::string spreadsheet_id;  // sheets
  std::string key_file;   // sheets: service-account key; empty = GOOGLE_APPLICATION_CREDENTIALS
  std::string token_uri;  // sheets: overrides the key's token_uri
  // history_report: whose events (`by` = sid or uid), where (`site`), how far back, how many,
  // the HTML template, and which mail action sends it.
  std::string by = "sid";
  std::string site;
  std::chrono::milliseconds period{86'400'000};
  unsigned limit = 150;
  std::string template_path;
  std::string mailer;
  RateLimit rate_limit;
  std::chrono::milliseconds timeout{30'000};
  int line = 0;
};

struct Config {
  std::string file;  // the path it was loaded from
  std::string data_dir = "./data";
  std::string time_zone = "UTC";  // IANA name ("Asia/Tokyo") or fixed offset ("+09:00")
  std::string log_level = "info";
  ServerConfig server;
  QueueConfig queue;
  LoadConfig load;
  SinkConfig sink;
  TablesConfig tables;
  AdminConfig admin;
  TasksConfig tasks;
  std::vector<ActionConfig> actions;
  std::vector<Rule> rules;
  std::string default_site;  // the site a bare /swallow writes to
  std::vector<Site> sites;

  const Site* FindSite(std::string_view name) const;
  const ActionConfig* FindAction(std::string_view name) const;
};

// "host:port", "[v6]:port" or ":port" (host left empty). The one parser for every address:
// server.listen, queue.redis.address, admin.listen and the --listen flags.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
Result<HostPort> ParseHostPort(std::string_view text);
// An address to listen on: ParseHostPort, and the host (when given) must be an IP address.
// Host names are refused rather than resolved ("localhost" can be 127.0.0.1 or ::1, a name
// several addresses): server.listen, admin.listen, --listen and --admin-listen all use this.
Result<HostPort> ParseListenAddress(std::string_view text);

// The most server.max_header_bytes may be: the HTTP server reads a request's head into a
// buffer of this size at most.
inline constexpr std::size_t kMaxHeaderBytesLimit = 1024 * 1024;

// A Google Cloud project id as BigQuery paths and SQL take it: [a-z0-9][a-z0-9.:-]{0,127}.
bool IsBigQueryProjectId(std::string_view project);

// `path` as a file named in the config: relative paths are relative to the config file's
// directory (templates of history reports).
std::string ResolveConfigRelative(const std::string& config_file, const std::string& path);

// True for 127.0.0.0/8, ::1 and "localhost": the admin listener needs no token there.
bool IsLoopbackHost(std::string_view host);

// Reads and validates a config file. Errors are "file:line:col: message".
Result<Config> LoadConfig(const std::string& path);
// Same, from text (tests); `file` is used in messages.
Result<Config> ParseConfig(const std::string& text, const std::string& file);

const char* ToString(Endpoint e);
const char* ToString(FieldSource s);
const char* ToString(FieldType t);
const char* ToString(TableLayout t);

}  // namespace oceanus::config
