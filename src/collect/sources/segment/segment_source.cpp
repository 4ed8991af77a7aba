// segment: the Segment HTTP Tracking API, so that the official analytics SDKs (browser, Node,
// mobile, server) send to oceanus by changing their host. docs/segment.md is the user's view.
//
//   POST /v1/track /v1/page /v1/screen /v1/identify /v1/group /v1/alias   one message
//   POST /v1/t /v1/p /v1/s /v1/i /v1/g /v1/a       the same (analytics.js's short paths)
//   POST /v1/batch /v1/b /v1/import                {"batch":[…], "sentAt", "context"}
//   OPTIONS /v1/…                                  CORS preflight allowing Authorization
//
// A request is handled in this order, each step answering JSON when it refuses:
//   the path (404) → the method (405) → the write key of the Authorization header (Basic,
//   the key as user name) when there is one (401) → the media type (415) → the encoding
//   (gzip/deflate, inflated up to max_batch_bytes: 413; broken: 400) → the size limits (413)
//   → the JSON (400) → the body's writeKey when no header gave one (401) → each message.
// Each message is checked (segment_message.h) and built by the site's EventBuilder; the valid
// ones are appended together (Outcome::batch) and the answer, 200 {"success":true} (with the
// counts when some were refused), is sent once the queue holds every one of them: 503 if it
// could not store them. A request none of whose messages is valid is a 400 with the counts.
// Refused messages are counted per reason (oceanus_messages_rejected_total) and kept in the
// live tail of rejections with their text.
#include <algorithm>
#include <string>
#include <unordered_map>

#include "collect/event_intake.h"
#include "collect/source.h"
#include "collect/sources/segment/json_tape.h"
#include "collect/sources/segment/segment_message.h"
#include "collect/sources/segment/segment_settings.h"
#include "util/ascii.h"
#include "util/base64.h"
#include "util/inflate.h"
#include "util/json.h"
#include "util/time.h"

namespace oceanus::collect {
namespace {

using segment::CallType;

constexpr std::size_t kMaxErrorsListed = 20;
constexpr std::string_view kAllowHeaders =
    "Content-Type, Authorization, Content-Encoding, X-Retry-Count";

void AnswerJson(Outcome& out, int status, std::string body) {
  out.answer = Answer::kJson;
  out.status = status;
  out.body = std::move(body);
}

// {"success":false,"message":"…"}
void AnswerError(Outcome& out, int status, std::string_view message) {
  std::string body = R"({"success":false,"message":)";
  AppendJsonString(body, message);
  body += '}';
  AnswerJson(out, status, std::move(body));
}

std::string_view MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// The header's Access-Control-Request-Headers when it is a plain list of header names (it
// is echoed back, so that an SDK's own headers pass); else the fixed list.
std::string_view PreflightHeaders(const Request& request) {
  if (request.headers == nullptr) return kAllowHeaders;
  const std::string_view asked = request.headers->Get("Access-Control-Request-Headers");
  if (asked.empty() || asked.size() > 512) return kAllowHeaders;
  for (const char c : asked) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == ',' || c == ' ';
    if (!ok) return kAllowHeaders;
  }
  return asked;
}

// The write key of "Authorization: Basic base64(key:)"; nullopt when the header is absent
// or not Basic (a Bearer token is not a write key).
std::optional<std::string> BasicUser(const Request& request) {
  if (request.headers == nullptr) return std::nullopt;
  std::string_view value = request.headers->Get("Authorization");
  if (value.size() < 6 || !AsciiIEquals(value.substr(0, 6), "basic ")) return std::nullopt;
  value.remove_prefix(6);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  std::string decoded;
  if (!DecodeBase64(value, decoded)) return std::string();
  return decoded.substr(0, decoded.find(':'));
}

// One segment site as the source serves it.
struct SegmentSite {
  const Site* site;
  const segment::Settings* settings;
  NetworkSet trusted_senders;
};

class SegmentSource : public Source {
 public:
  static Result<std::unique_ptr<Source>> Create(const SourceContext& context) {
    auto source = std::unique_ptr<SegmentSource>(new SegmentSource());
    for (const Site* site : context.sites) {
      const auto* settings = dynamic_cast<const segment::Settings*>(site->settings.get());
      if (settings == nullptr) return Status::Internal("site " + site->name + ": no segment keys");
      auto senders = NetworkSet::Parse(settings->trusted_senders);
      if (!senders.ok())
        return Status::InvalidArgument("site " + site->name +
                                       ": trusted_senders: " + senders.status().message());
      source->max_body_ = std::max(source->max_body_, settings->max_batch_bytes);
      const std::size_t index = source->sites_.size();
      source->sites_.push_back({site, settings, std::move(senders).value()});
      for (const std::string& key : settings->write_keys) {
        const auto [it, fresh] = source->keys_.emplace(key, index);
        if (!fresh)
          return Status::InvalidArgument("write key of site " + site->name +
                                         " is also a write key of site " +
                                         source->sites_[it->second].site->name);
      }
    }
    if (source->max_body_ == 0) source->max_body_ = segment::Settings{}.max_batch_bytes;
    return std::unique_ptr<Source>(std::move(source));
  }

  bool AnswersPreflight() const override { return true; }
  std::size_t MaxBodyBytes() const override { return max_body_; }
  void AnswerTooLarge(Outcome& out) const override {
    out.endpoint = EndpointLabel::kSegment;
    AnswerError(out, 413,
                "request body larger than max_batch_bytes (" + std::to_string(max_body_) + ")");
  }

  // The site is known from the write key only, which a refused request may not have had read.
  void Attribute(std::string_view, Outcome& out) const override {
    out.endpoint = EndpointLabel::kSegment;
  }

  void Handle(const collect::Call& call, Outcome& out) const override;

 private:
  SegmentSource() = default;

  // The site of write key `key`; null with the 401 in `out`.
  const SegmentSite* FindKey(std::string_view key, Outcome& out) const {
    const auto it = keys_.find(std::string(key));
    if (it == keys_.end()) {
      AnswerError(
          out, 401,
          key.empty() ? "no write key: send it as the Basic auth user name" : "unknown write key");
      return nullptr;
    }
    const SegmentSite* site = &sites_[it->second];
    out.metrics_site = static_cast<int>(site->site->id);
    return site;
  }

  // The body as JSON text in `text` (inflated into scratch.body when encoded); false with
  // the answer. `site` may be null (no key yet): then the largest site limit applies.
  bool ReadBody(const collect::Call& call, const SegmentSite* site, std::string_view& text,
                Outcome& out) const;
  // Rejects a request as a whole: counted for `site` when it is known.
  static void Refuse(const collect::Call& call, const SegmentSite* site, RejectReason reason,
                     int status, std::string_view message, Outcome& out);
  // Takes every message of the parsed request into call.scratch.batch and answers.
  void TakeMessages(const collect::Call& call, const SegmentSite& site, segment::CallType path,
                    Outcome& out) const;
  // Builds message `index` into call.scratch.event; the reason when it is refused.
  std::optional<MessageReject> Build(const collect::Call& call, const SegmentSite& site,
                                     const IpAddress& client, std::size_t index,
                                     segment::CallType path,
                                     const segment::BatchDefaults& defaults) const;

  std::vector<SegmentSite> sites_;
  std::unordered_map<std::string, std::size_t> keys_;
  std::size_t max_body_ = 0;  // the largest max_batch_bytes of its sites
  // The parsed body of the request being handled: sources are shared by the I/O threads,
  // so each thread has its own.
  static thread_local JsonTape tape_;
};

thread_local JsonTape SegmentSource::tape_;

// Message `index` of a request, refused while the others may be stored: into the live tail and
// the rejected-events store.
void RecordMessage(const Request& request, const Site& site, std::size_t index,
                   const std::string& reason, const std::string& detail, std::string_view raw) {
  if (request.recent) {
    const std::string line =
        "segment message " + std::to_string(index) + ": " + reason + ": " + detail + "\n";
    request.recent->rejections.Add(request.now, site.id, line, raw.substr(0, 2048));
  }
  if (request.rejected == nullptr) return;
  request.rejected->Add([&](queue::Rejection& r) {
    r.at_micros = MicrosSinceEpoch(request.now);
    r.site.assign(site.name);
    r.kind.assign("message");
    r.reason.assign(reason);
    r.status = 0;  // the request's answer: 200 when others were stored, else 400
    r.detail.assign("message " + std::to_string(index) + ": " + detail);
    r.payload.clear();
    queue::AppendBounded(r.payload, raw, request.max_payload_bytes);
  });
}

void SegmentSource::Refuse(const collect::Call& call, const SegmentSite* site, RejectReason reason,
                           int status, std::string_view message, Outcome& out) {
  if (site != nullptr && call.request.counters != nullptr) {
    call.request.counters->Received(site->site->id);
    call.request.counters->Rejected(site->site->id, reason);
  }
  AnswerError(out, status, message);
  out.Reject(reason);
}

bool SegmentSource::ReadBody(const collect::Call& call, const SegmentSite* site,
                             std::string_view& text, Outcome& out) const {
  const Request& request = call.request;
  const std::string_view type = MediaType(request.content_type);
  if (!type.empty() && !AsciiIEquals(type, "application/json") &&
      !AsciiIEquals(type, "text/plain")) {
    Refuse(call, site, RejectReason::kMediaType, 415,
           "body must be application/json (or text/plain, as analytics.js sends it)", out);
    return false;
  }
  const std::size_t limit = site != nullptr ? site->settings->max_batch_bytes : max_body_;
  const std::string_view encoding =
      request.headers != nullptr ? request.headers->Get("Content-Encoding") : std::string_view();
  text = request.body;
  if (encoding.empty() || AsciiIEquals(encoding, "identity")) return true;
  const bool gzip = AsciiIEquals(encoding, "gzip") || AsciiIEquals(encoding, "x-gzip");
  if (!gzip && !AsciiIEquals(encoding, "deflate")) {
    Refuse(call, site, RejectReason::kMediaType, 415,
           "Content-Encoding must be gzip, deflate or identity", out);
    return false;
  }
  switch (Inflate(request.body, limit, call.scratch.body, !gzip)) {
    case InflateResult::kOk:
      text = call.scratch.body;
      return true;
    case InflateResult::kTooLarge:
      Refuse(call, site, RejectReason::kMalformed, 413,
             "body inflates to more than max_batch_bytes (" + std::to_string(limit) + ")", out);
      return false;
    case InflateResult::kCorrupt:
      break;
  }
  Refuse(call, site, RejectReason::kMalformed, 400,
         "body is not a valid " + std::string(gzip ? "gzip" : "deflate") + " stream", out);
  return false;
}

void SegmentSource::Handle(const collect::Call& call, Outcome& out) const {
  out.endpoint = EndpointLabel::kSegment;
  const Request& request = call.request;
  const auto path = segment::CallOfPath(call.rest);
  if (request.method == Method::kOptions) {
    out.answer = Answer::kPreflight;
    out.status = 204;
    out.preflight_headers = PreflightHeaders(request);
    return;
  }
  if (!path) return AnswerError(out, 404, "no such endpoint of the Segment API");
  if (request.method != Method::kPost) {
    out.allow = "POST, OPTIONS";
    return AnswerError(out, 405, "method not allowed: use POST");
  }
  const SegmentSite* site = nullptr;
  if (const auto user = BasicUser(request)) {
    site = FindKey(*user, out);
    if (site == nullptr) return;
  }
  std::string_view text;
  if (!ReadBody(call, site, text, out)) return;
  const std::size_t limit = *path == CallType::kBatch
                                ? (site ? site->settings->max_batch_bytes : max_body_)
                                : (site ? site->settings->max_message_bytes : max_body_);
  if (text.size() > limit)
    return Refuse(
        call, site, RejectReason::kMalformed, 413,
        std::string(*path == CallType::kBatch ? "batch larger than max_batch_bytes ("
                                              : "message larger than max_message_bytes (") +
            std::to_string(limit) + ")",
        out);
  if (Status parsed = tape_.Parse(text); !parsed.ok())
    return Refuse(call, site, RejectReason::kMalformed, 400,
                  "body is not valid JSON: " + parsed.message(), out);
  if (tape_.kind(0) != JsonTape::Kind::kObject)
    return Refuse(call, site, RejectReason::kMalformed, 400, "body must be a JSON object", out);
  if (site == nullptr) {
    site = FindKey(tape_.String(0, "writeKey").value_or(""), out);
    if (site == nullptr) return;
    const std::size_t own = *path == CallType::kBatch ? site->settings->max_batch_bytes
                                                      : site->settings->max_message_bytes;
    if (text.size() > own)
      return Refuse(call, site, RejectReason::kMalformed, 413,
                    "body larger than the site's limit (" + std::to_string(own) + ")", out);
  }
  TakeMessages(call, *site, *path, out);
}

std::optional<MessageReject> SegmentSource::Build(const collect::Call& call,
                                                  const SegmentSite& site, const IpAddress& client,
                                                  std::size_t index, segment::CallType path,
                                                  const segment::BatchDefaults& defaults) const {
  const Request& request = call.request;
  if (path == CallType::kBatch && tape_.kind(index) == JsonTape::Kind::kObject &&
      tape_.raw(index).size() > site.settings->max_message_bytes)
    return MessageReject::kTooLarge;
  const segment::MessageView message(tape_, index, path, defaults, request.now);
  if (auto reject = message.Check()) return reject;

  char ip_text[64];
  std::size_t ip_length = client.Format(ip_text);
  if (!site.trusted_senders.empty() && site.trusted_senders.Contains(client)) {
    IpAddress given;
    if (const auto ip = message.ContextString("ip"); ip && IpAddress::Parse(*ip, given))
      ip_length = given.Format(ip_text);
  }
  char eid[36];
  event::RequestFacts facts;
  facts.json = &message;
  facts.headers = request.headers;
  facts.user_agent = message.ContextString("userAgent").value_or(request.user_agent);
  if (facts.user_agent.empty()) facts.user_agent = request.user_agent;
  facts.client_ip = std::string_view(ip_text, ip_length);
  facts.now = request.now;
  if (message.EventId(site.site->name, eid)) facts.event_id = std::string_view(eid, sizeof eid);
  event::ParamList no_params;
  facts.params = &no_params;
  if (!site.site->builder.Build(facts, call.thread, call.scratch.event))
    return MessageReject::kInvalidFields;
  return std::nullopt;
}

void SegmentSource::TakeMessages(const collect::Call& call, const SegmentSite& site,
                                 segment::CallType path, Outcome& out) const {
  const Request& request = call.request;
  CollectorCounters* counters = request.counters;
  const std::size_t site_id = site.site->id;
  segment::BatchDefaults defaults;
  std::vector<std::size_t> messages;
  if (path == CallType::kBatch) {
    const auto batch = tape_.Member(0, "batch");
    if (!batch || tape_.kind(*batch) != JsonTape::Kind::kArray || tape_.next(*batch) == *batch + 1)
      return Refuse(call, &site, RejectReason::kMalformed, 400,
                    "batch must be a non-empty array of messages", out);
    for (std::size_t m = tape_.first_child(*batch); m < tape_.next(*batch); m = tape_.next(m))
      messages.push_back(m);
    defaults.sent_at = tape_.Member(0, "sentAt");
    defaults.context = tape_.Member(0, "context");
    if (defaults.context && tape_.kind(*defaults.context) != JsonTape::Kind::kObject)
      defaults.context.reset();
  } else {
    messages.push_back(0);
  }
  if (counters) counters->Received(site_id, messages.size());

  const IpAddress client = call.intake.ClientIp(request);
  RecordBatch& batch = call.scratch.batch;
  batch.clear();
  std::string errors;
  std::size_t rejected = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto reject = Build(call, site, client, messages[i], path, defaults);
    if (!reject && call.scratch.event.withheld != event::Withheld::kNone) {
      if (counters) counters->Withheld(site_id, call.scratch.event.withheld);
      continue;
    }
    if (!reject) {
      batch.Add(call.scratch.event.record);
      continue;
    }
    ++rejected;
    std::string reason(MessageRejectName(*reject));
    std::string detail(segment::MessageView::Explain(*reject));
    if (*reject == MessageReject::kInvalidFields) {
      detail.clear();
      for (const auto& e : call.scratch.event.errors) {
        detail += (detail.empty() ? "" : "; ") + e.field + ": " + e.reason;
        if (counters) counters->FieldFailed(site_id, e);
      }
    }
    if (counters) {
      counters->Rejected(site_id, RejectReason::kInvalid);
      counters->MessageRejected(site_id, *reject);
    }
    RecordMessage(request, *site.site, i, reason, detail, tape_.raw(messages[i]));
    out.messages_recorded = request.rejected != nullptr;
    if (rejected <= kMaxErrorsListed) {
      errors += errors.empty() ? "" : ",";
      errors += R"({"index":)" + std::to_string(i) + R"(,"reason":")" + reason + R"(","message":)";
      AppendJsonString(errors, detail);
      errors += '}';
    }
  }
  const std::size_t stored = batch.size();
  if (stored > 0) {
    out.append = true;
    out.batch = true;
    out.site = site_id;
    if (messages.size() == 1 && site.site->eid_field)
      out.event_id = call.scratch.event.values[*site.site->eid_field];
  }
  if (rejected == 0) return AnswerJson(out, 200, R"({"success":true})");
  std::string body = stored > 0 ? R"({"success":true)" : R"({"success":false)";
  body += R"(,"stored":)" + std::to_string(stored) + R"(,"rejected":)" + std::to_string(rejected) +
          R"(,"errors":[)" + errors + "]}";
  AnswerJson(out, stored > 0 ? 200 : 400, std::move(body));
}

class SegmentFactory final : public SourceFactory {
 public:
  std::vector<std::string> Prefixes() const override { return {"/v1"}; }
  std::vector<std::string> SiteKeys() const override { return segment::SiteKeys(); }
  std::vector<config::Field> DefaultSchema() const override { return segment::DefaultSchema(); }
  std::shared_ptr<const config::ComponentSettings> ParseSite(
      const config::Reader& r, const YAML::Node& node, const config::Site& site) const override {
    return std::make_shared<segment::Settings>(segment::Parse(r, node, site));
  }
  std::string Describe(const config::Site&, bool) const override {
    return "/v1/{track,page,screen,identify,group,alias,batch} (segment API, by write key)";
  }
  Result<std::unique_ptr<Source>> Create(const SourceContext& context) const override {
    return SegmentSource::Create(context);
  }
};

}  // namespace

OCEANUS_REGISTER(SourceFactory, SegmentFactory, "segment");

}  // namespace oceanus::collect
