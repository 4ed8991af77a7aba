// A segment site's keys and default columns; see segment_settings.h.
#include "collect/sources/segment/segment_settings.h"

#include <ostream>
#include <set>

namespace oceanus::collect::segment {
namespace {

config::Field JsonField(std::string name, std::string path, std::string description,
                        config::FieldType type = config::FieldType::kString, bool json = false) {
  config::Field f;
  f.name = std::move(name);
  f.from = config::FieldSource::kJson;
  f.source_name = std::move(path);
  f.type = type;
  f.json = json;
  f.description = std::move(description);
  return f;
}

config::Field Generated(std::string name, config::FieldSource from, std::string description) {
  config::Field f;
  f.name = std::move(name);
  f.from = from;
  f.mode = config::ColumnMode::kRequired;
  f.description = std::move(description);
  return f;
}

}  // namespace

void Settings::Describe(std::ostream& out) const {
  // The keys are secrets: only how many there are.
  if (write_keys.empty()) {
    out << "  write_keys: none (every call answers 401)\n";
  } else {
    out << "  write_keys: " << write_keys.size() << " set\n";
  }
  out << "  max_message_bytes: " << config::Reader::SizeText(max_message_bytes) << "\n";
  out << "  max_batch_bytes: " << config::Reader::SizeText(max_batch_bytes) << "\n";
  out << "  trusted_senders: [";
  for (std::size_t i = 0; i < trusted_senders.size(); ++i)
    out << (i ? ", " : "") << trusted_senders[i];
  out << "]\n";
}

Settings Parse(const config::Reader& r, const YAML::Node& node, const config::Site& site) {
  Settings s;
  const YAML::Node keys = node["write_keys"];
  if (!keys)
    r.Fail(node, "site '" + site.name + "' (endpoint: segment) needs write_keys: a list of keys");
  std::set<std::string> seen;
  for (std::string& key : r.StrList(keys)) {
    // An empty entry is a variable left unset (${OCEANUS_SEGMENT_WRITE_KEY:-}): no key.
    if (key.empty()) continue;
    if (!seen.insert(key).second) r.Fail(keys, "write key listed twice");
    s.write_keys.push_back(std::move(key));
  }
  if (node["max_message_bytes"])
    s.max_message_bytes =
        r.Bytes(node["max_message_bytes"], 1024, kMaxBatchBytesLimit, "max_message_bytes");
  if (node["max_batch_bytes"])
    s.max_batch_bytes =
        r.Bytes(node["max_batch_bytes"], 1024, kMaxBatchBytesLimit, "max_batch_bytes");
  if (s.max_message_bytes > s.max_batch_bytes) {
    // The default message limit follows a smaller batch limit; a given one must fit in it.
    if (node["max_message_bytes"])
      r.Fail(node["max_message_bytes"], "max_message_bytes must not be above max_batch_bytes");
    s.max_message_bytes = s.max_batch_bytes;
  }
  if (node["trusted_senders"])
    s.trusted_senders = config::NetworkList(r, node["trusted_senders"], "trusted_senders");
  return s;
}

std::vector<config::Field> DefaultSchema() {
  using config::FieldSource;
  using config::FieldType;
  std::vector<config::Field> fields;
  fields.push_back(Generated("eid", FieldSource::kEventId,
                             "event id: UUIDv5 of the site and messageId, so a retried message "
                             "is one event (a fresh UUIDv7 without messageId)"));
  config::Field dt = Generated("dt", FieldSource::kNow, "received (server clock, UTC)");
  dt.type = FieldType::kTimestamp;
  fields.push_back(std::move(dt));
  fields.push_back(JsonField("message_id", "messageId", "the message's messageId"));
  config::Field type = JsonField("type", "type", "track, page, screen, identify, group or alias");
  type.required = true;
  type.mode = config::ColumnMode::kRequired;
  fields.push_back(std::move(type));
  fields.push_back(JsonField("event", "event", "the track call's event name"));
  fields.push_back(JsonField("name", "name", "the page or screen name"));
  fields.push_back(JsonField("user_id", "userId", "userId"));
  fields.push_back(JsonField("anonymous_id", "anonymousId", "anonymousId"));
  fields.push_back(JsonField("group_id", "groupId", "the group call's groupId"));
  fields.push_back(JsonField("previous_id", "previousId", "the alias call's previousId"));
  config::Field timestamp = JsonField(
      "timestamp", "timestamp",
      "when it happened, corrected for the client's clock: received - (sentAt - client time)",
      FieldType::kTimestamp);
  timestamp.mode = config::ColumnMode::kRequired;
  fields.push_back(std::move(timestamp));
  fields.push_back(JsonField("original_timestamp", "originalTimestamp",
                             "the client's time of the call", FieldType::kTimestamp));
  fields.push_back(JsonField("sent_at", "sentAt", "the client's time of sending (message or batch)",
                             FieldType::kTimestamp));
  fields.push_back(JsonField("properties", "properties", "properties, canonical JSON",
                             FieldType::kString, true));
  fields.push_back(
      JsonField("traits", "traits", "traits, canonical JSON", FieldType::kString, true));
  fields.push_back(JsonField("context", "context",
                             "context (the batch's when the message has "
                             "none), canonical JSON",
                             FieldType::kString, true));
  config::Field rad;
  rad.name = "rad";
  rad.from = FieldSource::kClientIp;
  rad.description = "client address, or context.ip from a trusted sender";
  fields.push_back(std::move(rad));
  config::Field ua;
  ua.name = "ua";
  ua.from = FieldSource::kUserAgent;
  ua.max_length = 512;
  ua.on_overflow = config::Overflow::kTruncate;
  ua.description = "context.userAgent, else the User-Agent header";
  fields.push_back(std::move(ua));
  config::Field dev;
  dev.name = "dev";
  dev.from = FieldSource::kDevice;
  dev.source_name = "ua";
  dev.description = "pc, mobile, tablet, bot or empty";
  fields.push_back(std::move(dev));
  return fields;
}

}  // namespace oceanus::collect::segment
