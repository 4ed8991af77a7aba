// One Segment message (a track, page, screen, identify, group or alias call) as the segment
// source checks it and hands it to the site's EventBuilder.
//
// The builder reads fields `from: json` through MessageView, which answers paths of the
// message as Segment delivers it to its destinations: the message's own keys, except that
//   type               is the call's type (from the path for /v1/track…, else the message's)
//   timestamp          is corrected for the client's clock (below)
//   originalTimestamp  is the client's time: its originalTimestamp, else its timestamp
//   sentAt             is the message's sentAt, else the batch's
//   receivedAt         is the server's clock
//   context            is the message's context, else the batch's
// all times as "YYYY-MM-DD HH:MM:SS.ffffff" UTC, like dt.
//
// The clock-skew rule (Segment's): when the client says both when the call happened and when
// it was sent, timestamp = receivedAt − (sentAt − originalTimestamp), so that a phone whose
// clock is an hour off still gets the time of the call on the server's clock; with no sentAt
// the client's time is taken as it is; with no client time, receivedAt.
//
// The event id is derived from the message id (MessageEventId), so a retried message is the
// same event on every sink.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "collect/collector_metrics.h"
#include "collect/sources/segment/json_tape.h"
#include "event/event_builder.h"

namespace oceanus::collect::segment {

// The call types of the API, and the type of a path ("/track", "/t"); kBatch for "/batch",
// "/b", "/import".
enum class CallType { kTrack, kPage, kScreen, kIdentify, kGroup, kAlias, kBatch };
std::optional<CallType> CallOfPath(std::string_view rest);
std::optional<CallType> CallOfType(std::string_view type);
std::string_view TypeName(CallType call);

// "2026-12-01T17:42:15.883Z", "2026-12-01T18:42:15+01:00", up to nanoseconds (truncated to
// microseconds), or the "YYYY-MM-DD HH:MM:SS.ffffff" of dt; nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> ParseIsoTime(std::string_view text);

// What a batch gives every message that lacks it.
struct BatchDefaults {
  std::optional<std::size_t> sent_at;  // the batch's sentAt (a string value in the tape)
  std::optional<std::size_t> context;  // the batch's context object
};

// The message at `index` of `tape`, checked and with its derived values.
class MessageView : public event::JsonSource {
 public:
  // `call`: the path's type, or kBatch when the message names its own.
  MessageView(const JsonTape& tape, std::size_t index, CallType call, const BatchDefaults& defaults,
              std::chrono::system_clock::time_point received);

  // Why the message cannot be stored, or nullopt: a JSON object of a known type with
  // userId or anonymousId, track with event, group with groupId, alias with previousId.
  std::optional<MessageReject> Check() const;
  // A human reason for `reject` ("a message needs userId or anonymousId").
  static std::string_view Explain(MessageReject reject);

  // The event id (36 characters, UUIDv5 of site and messageId) into `out`; false when the
  // message has no messageId (the builder then draws a fresh one).
  bool EventId(std::string_view site, char* out) const;
  // context.userAgent and context.ip, when they are strings.
  std::optional<std::string_view> ContextString(std::string_view name) const;
  // The message's context is the batch's with the message's own members replacing those of
  // the same name (a shallow merge: a message's `page` replaces the batch's whole).

  // Objects and arrays come canonical (JsonTape::AppendCanonical).
  bool Get(std::string_view path, std::string& out, bool& canonical,
           event::JsonWithheld withheld) const override;

 private:
  // The value at `path` in the merged context: the message's when its context has the first
  // name of `path`, else the batch's.
  std::optional<std::size_t> ContextValue(std::string_view path) const;
  // Get for the times ("timestamp", "originalTimestamp", "sentAt", "receivedAt") and for
  // "context" or "context.…".
  bool GetTime(std::string_view path, std::string& out) const;
  bool GetContext(std::string_view path, std::string& out, bool& canonical,
                  event::JsonWithheld withheld) const;

  const JsonTape& tape_;
  std::size_t index_;
  std::optional<CallType> type_;
  std::optional<std::size_t> context_;        // the message's own, when an object
  std::optional<std::size_t> batch_context_;  // the batch's, when an object
  std::optional<std::chrono::system_clock::time_point> original_;
  std::optional<std::chrono::system_clock::time_point> sent_;
  std::chrono::system_clock::time_point received_;
  std::chrono::system_clock::time_point timestamp_;
};

// The namespace of MessageEventId's UUIDv5 (RFC 9562 §5.5): 6f636561-6e75-5300-8000-
// 7365676d656e ("oceanus" "segment" in ASCII, with the version and variant bits set).
// The name hashed is "<site>\n<messageId>".
void MessageEventId(std::string_view site, std::string_view message_id, char* out);

}  // namespace oceanus::collect::segment
