// EventBuilder: one site's schema, compiled, turning a request into the queued JSON record.
//
// The schema in the YAML is the single list that drives extraction, normalisation,
// validation and (elsewhere) the table's columns. Per field, in schema order:
//   take the value from its source → empty counts as absent → default → required?
//   → transforms (lower/upper/strip) → delete_chars → UTF-8 check → max_length (reject or
//   truncate by code points) → pattern (RE2, whole value) → json (canonical) / ip (normalised)
//   → type (integer, float, boolean, timestamp).
// Device fields are derived last, from the final value of the field they read.
// The record is written once, keys sorted, compact, into the caller's reusable buffer: that
// buffer is what goes to the queue. Builders are immutable and shared by all I/O threads;
// per-thread state (id generator, device cache) and per-connection buffers are passed in.
#pragma once

#include <re2/re2.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "event/device.h"
#include "event/event_id.h"
#include "event/params.h"
#include "event/privacy.h"
#include "event/suppression.h"
#include "util/status.h"

namespace oceanus::event {

// Request headers, as the collector's HTTP layer exposes them.
class HeaderSource {
 public:
  virtual ~HeaderSource() = default;
  virtual std::string_view Get(std::string_view name) const = 0;  // "" when absent
};

// What a JSON value must leave out by the site's privacy block: the message's own copies of
// the client address and of the User-Agent (a Segment context's ip, userAgent), which the
// fields from: client_ip and from: user_agent store only as privacy allows.
struct JsonWithheld {
  bool address = false;     // privacy.ip is not keep (or the event has no consent)
  bool user_agent = false;  // privacy.user_agent is device_only
};

// The JSON message of a request, for fields `from: json` (the segment source's messages).
class JsonSource {
 public:
  virtual ~JsonSource() = default;
  // The value at the dotted `path` ("properties.revenue") into `out`: a string as its text, a
  // number or boolean as written, an object or array as JSON. False when the path is not
  // there or its value is null. `canonical` is set when `out` is an object or array already
  // in the canonical form of event/json.h, so that a `json: true` field need not parse it
  // again; left false otherwise. `out` must be valid UTF-8: the builder does not check a
  // JSON value's text again (the source parsed and checked it once). What `withheld` names is
  // absent, at its own path and inside the objects that hold it.
  virtual bool Get(std::string_view path, std::string& out, bool& canonical,
                   JsonWithheld withheld) const = 0;
};

// What the collector knows of one request besides its headers.
struct RequestFacts {
  const ParamList* params = nullptr;
  const HeaderSource* headers = nullptr;
  const JsonSource* json = nullptr;  // null: fields from: json are absent
  std::string_view user_agent;
  std::string_view client_ip;  // resolved through trusted proxies, normalised
  std::chrono::system_clock::time_point now;
  // When set, the event id (36 characters) that fields from: event_id take instead of a
  // fresh one: a source whose messages carry their own idempotency key derives it.
  std::string_view event_id;
};

// State owned by one I/O thread.
struct ThreadState {
  explicit ThreadState(std::shared_ptr<const DeviceClassifier> classifier)
      : devices(std::move(classifier)) {}
  EventIdGenerator ids;
  CachedDeviceClassifier devices;
  SaltCache salts;  // the visitor hash's salt of the day
  SuppressionList::Snapshot suppressed;
};

// Why a field failed, as a small closed set: the label of
// oceanus_validation_failures_total{site,field,reason}. The free text is for the 400 answer.
enum class FailureKind : std::uint8_t {
  kRequired,
  kNotUtf8,
  kTooLong,
  kPattern,
  kNotJson,
  kNotIp,
  kType,
};
inline constexpr std::size_t kFailureKinds = 7;
// "required", "not_utf8", "too_long", "pattern", "not_json", "not_ip", "type".
std::string_view FailureKindName(FailureKind kind);

struct FieldError {
  std::string field;
  std::string reason;
  FailureKind kind = FailureKind::kRequired;
  std::size_t index = 0;  // of the field in the site's schema
};

// Why a valid event is not stored (the site's privacy block):
// oceanus_events_withheld_total{site,reason}.
enum class Withheld : std::uint8_t { kNone, kNoConsent, kBot, kSuppressed };
inline constexpr std::size_t kWithheldReasons = 4;
// "none", "no_consent", "bot", "suppressed" (an erased person's: event/suppression.h).
std::string_view WithheldName(Withheld reason);

// Buffers reused by every request of one connection.
struct EventScratch {
  std::vector<std::string> values;  // per schema field, final value
  std::vector<char> present;        // per schema field
  std::string record;               // the JSON record, as queued
  std::string tmp;
  std::string json_value;       // the value of a field from: json, before it is normalised
  bool json_canonical = false;  // json_value is canonical JSON (JsonSource::Get)
  std::vector<FieldError> errors;
  Withheld withheld = Withheld::kNone;  // set by Build: then there is no record
  bool without_consent = false;         // stored reduced (privacy.consent without: reduce)
};

class EventBuilder {
 public:
  // `salts` gives the visitor hash its salt of the day; one collector shares one among its
  // sites. Null: the builder makes its own when a field is from: visitor_hash.
  // `suppressed`, when given, is the list of erased people whose events are withheld.
  static Result<EventBuilder> Compile(const config::Site& site,
                                      std::shared_ptr<DailySalts> salts = nullptr,
                                      std::shared_ptr<const SuppressionList> suppressed = nullptr);

  // Builds the record into scratch.record. False when the event is invalid; scratch.errors
  // then names every failing field and why. True with scratch.withheld set when the site's
  // privacy block says the event is not to be stored (a bot, no consent, an erased person's):
  // no record then.
  bool Build(const RequestFacts& request, ThreadState& thread, EventScratch& scratch) const;

  std::optional<std::size_t> FieldIndex(std::string_view name) const;
  // The schema's fields, in schema order (the order of EventScratch::values).
  std::size_t field_count() const { return fields_.size(); }
  const config::Field& field(std::size_t i) const { return fields_[i].spec; }
  // "name = value" lines and the errors, for debug=1 answers.
  std::string Describe(const EventScratch& scratch) const;

 private:
  struct CompiledField {
    config::Field spec;
    std::unique_ptr<RE2> pattern;
    std::size_t device_source = 0;  // for device fields: index of the field it reads
  };
  // The field's value as the request gives it into `raw`; false when the field is complete
  // already (generated by the server, or derived later).
  bool Extract(const config::Field& f, std::size_t i, const RequestFacts& request,
               ThreadState& thread, EventScratch& scratch, std::string_view& raw) const;
  bool BuildField(std::size_t i, const RequestFacts& request, ThreadState& thread,
                  EventScratch& scratch) const;
  // Bots and consent, before any field: sets scratch.withheld or scratch.without_consent;
  // true when the event is a bot's to be flagged.
  bool Screen(const RequestFacts& request, ThreadState& thread, EventScratch& scratch) const;
  bool Consented(const RequestFacts& request) const;
  // Whether a field's value of the built event is on the suppression list.
  bool Suppressed(ThreadState& thread, const EventScratch& scratch) const;
  Status CompilePrivacy(const config::Site& site);

  std::vector<CompiledField> fields_;
  std::vector<std::size_t> output_order_;  // field indices sorted by name
  std::string site_name_;
  config::Privacy privacy_;
  std::shared_ptr<DailySalts> salts_;  // set when a field is from: visitor_hash
  std::shared_ptr<const SuppressionList> suppressed_;
  // privacy.user_agent device_only: the fields not stored (from: user_agent, and those device
  // fields derive from), read by the device fields first.
  std::vector<std::size_t> withheld_user_agent_;
  config::Privacy reduced_privacy_;           // privacy_ for an event without consent
  std::vector<std::size_t> without_consent_;  // fields removed from it
  std::shared_ptr<const RE2> bot_patterns_;   // privacy.bot_patterns as one alternation
};

}  // namespace oceanus::event
