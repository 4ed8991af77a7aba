// EventBuilder: extraction, normalisation and validation of one site's fields; see the header
// for the order of the steps and why the record is written the way it is.
#include "event/event_builder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "event/json.h"
#include "util/ascii.h"
#include "util/json.h"
#include "util/net.h"
#include "util/time.h"

namespace oceanus::event {
namespace {

using config::FieldSource;
using config::FieldType;

JsonWithheld JsonWithheldBy(const config::Privacy& privacy) {
  return {.address = privacy.ip != config::IpPrivacy::kKeep,
          .user_agent = privacy.user_agent == config::UserAgentPrivacy::kDeviceOnly};
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void ApplyTransforms(const config::Field& f, std::string& v) {
  for (auto t : f.transforms) {
    switch (t) {
      case config::Transform::kLower:
        for (char& c : v) c = AsciiLower(c);
        break;
      case config::Transform::kUpper:
        for (char& c : v) c = AsciiUpper(c);
        break;
      case config::Transform::kStrip: {
        std::size_t b = 0, e = v.size();
        while (b < e && IsSpace(v[b])) ++b;
        while (e > b && IsSpace(v[e - 1])) --e;
        v.erase(e);
        v.erase(0, b);
        break;
      }
    }
  }
  if (!f.delete_chars.empty()) {
    std::erase_if(v, [&](char c) { return f.delete_chars.find(c) != std::string::npos; });
  }
}

// Normalises a typed value in place to its JSON spelling; false if it is not of the type.
bool NormaliseType(FieldType type, std::string& v, std::string& reason) {
  switch (type) {
    case FieldType::kString:
      return true;
    case FieldType::kInteger: {
      std::int64_t n = 0;
      const char* b = v.data();
      const char* e = v.data() + v.size();
      if (b != e && *b == '+') ++b;
      auto [p, ec] = std::from_chars(b, e, n);
      if (ec != std::errc() || p != e || b == e) {
        reason = "not an integer";
        return false;
      }
      char buf[24];
      v.assign(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
      return true;
    }
    case FieldType::kFloat: {
      double d = 0;
      const char* b = v.data();
      const char* e = v.data() + v.size();
      if (b != e && *b == '+') ++b;
      auto [p, ec] = std::from_chars(b, e, d);
      if (ec != std::errc() || p != e || b == e || !std::isfinite(d)) {
        reason = "not a finite number";
        return false;
      }
      char buf[32];
      v.assign(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
      return true;
    }
    case FieldType::kBoolean:
      if (v == "true" || v == "1" || v == "yes" || v == "on") {
        v = "true";
        return true;
      }
      if (v == "false" || v == "0" || v == "no" || v == "off") {
        v = "false";
        return true;
      }
      reason = "not a boolean (true/false/1/0)";
      return false;
    case FieldType::kTimestamp: {
      if (!IsTimestampText(v)) {
        reason = "not a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff])";
        return false;
      }
      return true;
    }
  }
  return true;
}

}  // namespace

Result<EventBuilder> EventBuilder::Compile(const config::Site& site,
                                           std::shared_ptr<DailySalts> salts,
                                           std::shared_ptr<const SuppressionList> suppressed) {
  EventBuilder b;
  b.site_name_ = site.name;
  b.suppressed_ = std::move(suppressed);
  b.privacy_ = site.privacy;
  for (const auto& f : site.schema) {
    CompiledField cf;
    cf.spec = f;
    if (!f.pattern.empty()) {
      RE2::Options options;
      options.set_log_errors(false);
      cf.pattern = std::make_unique<RE2>(f.pattern, options);
      if (!cf.pattern->ok())
        return Status::InvalidArgument("site " + site.name + ", field " + f.name +
                                       ": invalid pattern: " + cf.pattern->error());
    }
    b.fields_.push_back(std::move(cf));
  }
  for (auto& cf : b.fields_) {
    if (cf.spec.from != FieldSource::kDevice) continue;
    auto src = b.FieldIndex(cf.spec.source_name);
    if (!src) return Status::InvalidArgument("field " + cf.spec.name + " reads a missing field");
    cf.device_source = *src;
  }
  for (std::size_t i = 0; i < b.fields_.size(); ++i) {
    const config::Field& f = b.fields_[i].spec;
    if (f.from == FieldSource::kVisitorHash && !b.salts_)
      b.salts_ = salts ? std::move(salts) : std::make_shared<DailySalts>();
    if (site.privacy.user_agent != config::UserAgentPrivacy::kDeviceOnly) continue;
    const bool read_by_device = std::any_of(b.fields_.begin(), b.fields_.end(), [&](const auto& d) {
      return d.spec.from == FieldSource::kDevice && d.device_source == i;
    });
    if (f.from == FieldSource::kUserAgent || read_by_device) b.withheld_user_agent_.push_back(i);
  }
  if (Status s = b.CompilePrivacy(site); !s.ok()) return s;
  b.output_order_.resize(b.fields_.size());
  for (std::size_t i = 0; i < b.fields_.size(); ++i) b.output_order_[i] = i;
  std::sort(b.output_order_.begin(), b.output_order_.end(), [&](std::size_t x, std::size_t y) {
    return b.fields_[x].spec.name < b.fields_[y].spec.name;
  });
  return b;
}

Status EventBuilder::CompilePrivacy(const config::Site& site) {
  reduced_privacy_ = privacy_;
  if (reduced_privacy_.ip == config::IpPrivacy::kKeep)
    reduced_privacy_.ip = config::IpPrivacy::kTruncate;
  for (const auto& name : privacy_.without_consent)
    if (auto i = FieldIndex(name)) without_consent_.push_back(*i);
  if (privacy_.bot_patterns.empty()) return Status::Ok();
  std::string alternation;
  for (const auto& p : privacy_.bot_patterns)
    alternation += (alternation.empty() ? "(?:" : "|(?:") + p + ")";
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<RE2>(alternation, options);
  if (!re->ok())
    return Status::InvalidArgument("site " + site.name + ": privacy.bot_patterns: " + re->error());
  bot_patterns_ = std::move(re);
  return Status::Ok();
}

bool EventBuilder::Consented(const RequestFacts& request) const {
  const config::Consent& c = privacy_.consent;
  if (c.gpc && request.headers != nullptr && request.headers->Get("Sec-GPC") == "1") return false;
  auto granted = [](std::string_view v) {
    return v == "1" || AsciiIEquals(v, "true") || AsciiIEquals(v, "yes") ||
           AsciiIEquals(v, "granted");
  };
  if (!c.param.empty() && request.params != nullptr)
    if (auto v = request.params->Get(c.param); v && granted(*v)) return true;
  if (!c.header.empty() && request.headers != nullptr && granted(request.headers->Get(c.header)))
    return true;
  return false;
}

bool EventBuilder::Screen(const RequestFacts& request, ThreadState& thread,
                          EventScratch& scratch) const {
  bool bot = false;
  if (privacy_.bots != config::BotPolicy::kKeep) {
    bot = thread.devices.Classify(request.user_agent) == "bot" ||
          (bot_patterns_ && RE2::PartialMatch(request.user_agent, *bot_patterns_));
    if (bot && privacy_.bots == config::BotPolicy::kDrop) {
      scratch.withheld = Withheld::kBot;
      return false;
    }
  }
  if (privacy_.consent.enabled && !Consented(request)) {
    if (privacy_.consent.drop) {
      scratch.withheld = Withheld::kNoConsent;
      return false;
    }
    scratch.without_consent = true;
  }
  return bot;
}

std::string_view WithheldName(Withheld reason) {
  switch (reason) {
    case Withheld::kNone:
      return "none";
    case Withheld::kNoConsent:
      return "no_consent";
    case Withheld::kBot:
      return "bot";
    case Withheld::kSuppressed:
      return "suppressed";
  }
  return "other";
}

std::optional<std::size_t> EventBuilder::FieldIndex(std::string_view name) const {
  for (std::size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i].spec.name == name) return i;
  return std::nullopt;
}

bool EventBuilder::Extract(const config::Field& f, std::size_t i, const RequestFacts& request,
                           ThreadState& thread, EventScratch& scratch,
                           std::string_view& raw) const {
  std::string& v = scratch.values[i];
  switch (f.from) {
    case FieldSource::kParam:
      if (auto p = request.params->Get(f.source_name)) raw = *p;
      return true;
    case FieldSource::kHeader:
      if (request.headers != nullptr) raw = request.headers->Get(f.source_name);
      return true;
    case FieldSource::kClientIp:
      raw = request.client_ip;
      return true;
    case FieldSource::kUserAgent:
      raw = request.user_agent;
      return true;
    case FieldSource::kNow: {
      char buf[32];
      v.assign(buf, FormatUtcMicros(request.now, buf));
      scratch.present[i] = 1;
      return false;
    }
    case FieldSource::kEventId: {
      if (!request.event_id.empty()) {
        v.assign(request.event_id);
      } else {
        char buf[36];
        thread.ids.Next(request.now, buf);
        v.assign(buf, sizeof buf);
      }
      scratch.present[i] = 1;
      return false;
    }
    case FieldSource::kJson:
      scratch.json_canonical = false;
      if (request.json != nullptr &&
          request.json->Get(f.source_name, scratch.json_value, scratch.json_canonical,
                            JsonWithheldBy(scratch.without_consent ? reduced_privacy_ : privacy_)))
        raw = scratch.json_value;
      return true;
    case FieldSource::kDevice:
      return false;  // derived after every other field
    case FieldSource::kVisitorHash: {
      const auto day = std::chrono::floor<std::chrono::days>(request.now).time_since_epoch();
      v.clear();
      AppendVisitorHash(thread.salts.Get(*salts_, day.count()), site_name_, request.client_ip,
                        request.user_agent, v);
      scratch.present[i] = 1;
      return false;
    }
  }
  return true;
}

bool EventBuilder::BuildField(std::size_t i, const RequestFacts& request, ThreadState& thread,
                              EventScratch& scratch) const {
  const CompiledField& cf = fields_[i];
  const config::Field& f = cf.spec;
  std::string& v = scratch.values[i];
  auto fail = [&](FailureKind kind, std::string reason) {
    scratch.errors.push_back({f.name, std::move(reason), kind, i});
    return false;
  };

  std::string_view raw;
  if (!Extract(f, i, request, thread, scratch, raw)) return true;
  if (raw.empty()) {
    if (f.default_value) {
      raw = *f.default_value;
    } else if (f.required) {
      return fail(FailureKind::kRequired, "required");
    } else {
      return true;
    }
  }
  v.assign(raw);
  ApplyTransforms(f, v);
  if (v.empty()) {
    if (f.required) return fail(FailureKind::kRequired, "required (empty after normalisation)");
    return true;
  }
  // A JSON source's text is valid UTF-8 already (JsonSource::Get); deleting bytes can break
  // a character, though.
  const bool utf8_known = f.from == FieldSource::kJson && f.delete_chars.empty();
  if (!utf8_known && !IsValidUtf8(v)) return fail(FailureKind::kNotUtf8, "not valid UTF-8");
  if (f.max_length > 0 && v.size() > f.max_length) {  // bytes >= code points: cheap pre-check
    const std::size_t length = Utf8Length(v);
    if (length > f.max_length) {
      if (f.on_overflow == config::Overflow::kReject)
        return fail(FailureKind::kTooLong, "longer than " + std::to_string(f.max_length) +
                                               " characters (" + std::to_string(length) + ")");
      v.resize(Utf8PrefixBytes(v, f.max_length));
    }
  }
  if (cf.pattern && !RE2::FullMatch(v, *cf.pattern))
    return fail(FailureKind::kPattern, "does not match " + f.pattern);
  // An object or array the JSON source gave in canonical form, and that nothing has changed
  // since (no transform, not truncated), needs no second parse.
  const bool canonical = f.from == FieldSource::kJson && scratch.json_canonical &&
                         f.transforms.empty() && f.delete_chars.empty() &&
                         v.size() == scratch.json_value.size();
  if (f.json && !canonical) {
    Status s = CanonicalJson(v, scratch.tmp);
    if (!s.ok()) return fail(FailureKind::kNotJson, "not valid JSON: " + s.message());
    v.swap(scratch.tmp);
  }
  if (f.ip) {
    IpAddress ip;
    if (!IpAddress::Parse(v, ip)) return fail(FailureKind::kNotIp, "not an IP address");
    char buf[64];
    v.assign(buf, ip.Format(buf));
  }
  // privacy.ip: the address as the site keeps it, or (drop) not at all.
  const config::Privacy& privacy = scratch.without_consent ? reduced_privacy_ : privacy_;
  const bool holds_address = f.from == FieldSource::kClientIp || f.ip;
  if (holds_address && privacy.ip != config::IpPrivacy::kKeep && !ApplyIpPrivacy(privacy, v))
    return true;
  std::string reason;
  if (!NormaliseType(f.type, v, reason)) return fail(FailureKind::kType, reason);
  scratch.present[i] = 1;
  return true;
}

std::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kRequired:
      return "required";
    case FailureKind::kNotUtf8:
      return "not_utf8";
    case FailureKind::kTooLong:
      return "too_long";
    case FailureKind::kPattern:
      return "pattern";
    case FailureKind::kNotJson:
      return "not_json";
    case FailureKind::kNotIp:
      return "not_ip";
    case FailureKind::kType:
      return "type";
  }
  return "other";
}

bool EventBuilder::Build(const RequestFacts& request, ThreadState& thread,
                         EventScratch& scratch) const {
  const std::size_t n = fields_.size();
  scratch.values.resize(n);
  scratch.present.assign(n, 0);
  scratch.errors.clear();
  scratch.record.clear();
  scratch.withheld = Withheld::kNone;
  scratch.without_consent = false;
  const bool flag_bot = Screen(request, thread, scratch);
  if (scratch.withheld != Withheld::kNone) return true;
  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) ok = BuildField(i, request, thread, scratch) && ok;
  for (std::size_t i = 0; i < n; ++i) {
    const CompiledField& cf = fields_[i];
    if (cf.spec.from != FieldSource::kDevice) continue;
    const std::string_view ua =
        scratch.present[cf.device_source] ? std::string_view(scratch.values[cf.device_source]) : "";
    scratch.values[i].assign(flag_bot ? std::string_view("bot") : thread.devices.Classify(ua));
    // An unknown device is stored as "" (as the original did), not as NULL.
    scratch.present[i] = 1;
  }
  for (std::size_t i : withheld_user_agent_) scratch.present[i] = 0;
  if (scratch.without_consent)
    for (std::size_t i : without_consent_) scratch.present[i] = 0;
  if (!ok) return false;
  if (suppressed_ && Suppressed(thread, scratch)) {
    scratch.withheld = Withheld::kSuppressed;
    return true;
  }

  std::string& out = scratch.record;
  out.clear();
  out += '{';
  bool first = true;
  for (std::size_t i : output_order_) {
    if (!scratch.present[i]) continue;
    if (!first) out += ',';
    first = false;
    const config::Field& f = fields_[i].spec;
    out += '"';
    out += f.name;  // names are [a-z0-9_]: no escaping needed
    out += "\":";
    if (f.type == FieldType::kString || f.type == FieldType::kTimestamp) {
      AppendJsonString(out, scratch.values[i]);
    } else {
      out += scratch.values[i];
    }
  }
  out += '}';
  return true;
}

bool EventBuilder::Suppressed(ThreadState& thread, const EventScratch& scratch) const {
  const SuppressionList::Entries& entries = suppressed_->Current(thread.suppressed);
  for (const auto& [site, field] : entries.fields) {
    if (site != site_name_) continue;
    const auto i = FieldIndex(field);
    if (i && scratch.present[*i] &&
        SuppressionList::Contains(entries, site_name_, field, scratch.values[*i]))
      return true;
  }
  return false;
}

std::string EventBuilder::Describe(const EventScratch& scratch) const {
  std::string out;
  for (std::size_t i = 0; i < fields_.size() && i < scratch.values.size(); ++i) {
    out += fields_[i].spec.name;
    out += " = ";
    if (i < scratch.present.size() && scratch.present[i]) {
      AppendJsonString(out, scratch.values[i]);
    } else {
      out += "(absent)";
    }
    out += '\n';
  }
  for (const auto& e : scratch.errors) out += "error: " + e.field + ": " + e.reason + "\n";
  return out;
}

}  // namespace oceanus::event
