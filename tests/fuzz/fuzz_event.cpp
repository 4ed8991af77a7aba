// Fuzzes the collector end to end below the socket: collect::Collector::Handle with a fuzzed
// method, target, headers and body, against the example sites plus one with every field type.
// That covers routing, query/form/text-body decoding, client IP resolution, field extraction,
// transforms, validation, the device class and the JSON record the queue would store.
// Input: an HTTP-like request — "METHOD target" on the first line, then "Name: value" header
// lines (Content-Type, User-Agent, X-Forwarded-For, any other header a field reads, and the
// pseudo-header Peer: for the connection's address), an empty line, and the body.
// Invariants: an accepted event's record is valid UTF-8 JSON, an object whose keys are schema
// fields in strictly ascending order, with no raw control character in it; every value has its
// field's type and passes its field's checks again (max_length, pattern, ip, canonical json);
// required fields and the eid are there and the answer names that eid; a /gaze redirect's
// query moves evt to the next step; a request handled twice with the same buffers (as on a
// keep-alive connection) gets the same answer.
#include <rapidjson/document.h>
#include <re2/re2.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/config.h"
#include "collect/collector.h"
#include "event/device.h"
#include "event/json.h"
#include "event/params.h"
#include "fuzz_check.h"
#include "util/ascii.h"
#include "util/json.h"
#include "util/net.h"

namespace {

using oceanus::IpAddress;
using oceanus::collect::Answer;
using oceanus::collect::Collector;
using oceanus::collect::Method;
using oceanus::collect::Outcome;
using oceanus::collect::Request;
using oceanus::collect::Scratch;
using oceanus::config::FieldSource;
using oceanus::config::FieldType;

// The example's four sites (examples/oceanus.yaml), a /gaze site whose evt is another
// parameter with a default, and one site with every type and option.
constexpr const char* kConfig = R"(
server:
  trusted_proxies: [10.0.0.0/8, "::1/128"]
  internal_networks: [192.168.0.0/16]
  gaze_delays: [2s, 4s, 4s]
default_site: samplesite
sites:
  samplesite:
    endpoint: swallow
    schema:
      - {name: dt, from: now, type: timestamp}
      - {name: eid, from: event_id}
      - {name: oid, required: true, max_length: 16}
      - {name: sid, required: true, transform: lower, pattern: "[0-9a-f]{1,32}"}
      - {name: uid, max_length: 64}
      - {name: rad, from: client_ip}
      - {name: evt, required: true, transform: lower, max_length: 16}
      - {name: tit, max_length: 1024, on_overflow: truncate}
      - {name: url, required: true, max_length: 1024, on_overflow: truncate}
      - {name: ref, max_length: 1024, on_overflow: truncate}
      - {name: jsn, json: true, max_length: 4096}
      - {name: ua, from: user_agent, max_length: 512, on_overflow: truncate}
      - {name: dev, from: device, of: ua}
      - {name: enc, transform: upper, delete_chars: "/", max_length: 16,
         pattern: "[0-9a-zA-Z\\-()_\\s]+"}
      - {name: scr, max_length: 16}
      - {name: vie, max_length: 16}
  sampleform:
    endpoint: pirate
    tables: single
    schema:
      - {name: dt, from: now, type: timestamp}
      - {name: eid, from: event_id}
      - {name: sid, required: true, transform: lower, pattern: "[0-9a-f]{1,32}"}
      - {name: rad, from: client_ip}
      - {name: name, max_length: 1024}
      - {name: email, max_length: 1024}
      - {name: jsn, json: true, max_length: 10000}
      - {name: ua, from: user_agent, max_length: 512, on_overflow: truncate}
      - {name: dev, from: device, of: ua}
  samplemail:
    endpoint: gaze
    schema:
      - {name: dt, from: now, type: timestamp}
      - {name: eid, from: event_id}
      - {name: uid, max_length: 64}
      - {name: evt, required: true, transform: lower, pattern: "open|see|read|done"}
      - {name: ua, from: user_agent, max_length: 512, on_overflow: truncate}
      - {name: dev, from: device, of: ua}
  shortmail:
    endpoint: gaze
    schema:
      - {name: evt, param: e, default: open}
      - {name: uid, param: u}
  sampleserver:
    endpoint: pierce
    schema:
      - {name: dt, from: now, type: timestamp}
      - {name: eid, from: event_id}
      - {name: sid, required: true, transform: lower, pattern: "[0-9a-f]{1,32}"}
      - {name: rad, ip: true, required: true}
      - {name: evt, required: true, transform: lower, max_length: 16}
      - {name: ua, max_length: 512, on_overflow: truncate}
      - {name: dev, from: device, of: ua}
  typed:
    endpoint: swallow
    schema:
      - {name: dt, from: now, type: timestamp}
      - {name: n, type: integer}
      - {name: f, type: float}
      - {name: ok, type: boolean}
      - {name: ts, type: timestamp, max_length: 40}
      - {name: lang, from: header, header: Accept-Language, max_length: 8, on_overflow: truncate}
      - {name: referer, from: header, header: Referer}
      - {name: up, transform: [strip, upper], delete_chars: "-_", max_length: 4}
      - {name: addr, ip: true}
      - {name: jsn, json: true}
      - {name: tag, param: t, pattern: "[a-z]+(,[a-z]+)*"}
      - {name: ver, default: "1"}
      - {name: ua, from: user_agent}
      - {name: dev, from: device, of: ua}
)";

struct Fixture {
  oceanus::config::Config config;
  std::shared_ptr<const Collector> collector;
  std::unique_ptr<oceanus::event::ThreadState> thread;
};

const Fixture& GetFixture() {
  static const Fixture fixture = [] {
    SilenceLogsOnce();
    Fixture f;
    auto config = oceanus::app::ParseConfig(kConfig, "fuzz_event.yaml");
    FUZZ_CHECK(config.ok(), "%s", config.status().ToString().c_str());
    auto classifier = oceanus::event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    FUZZ_CHECK(classifier.ok(), "%s", classifier.status().ToString().c_str());
    auto collector = Collector::Create(*config, *classifier);
    FUZZ_CHECK(collector.ok(), "%s", collector.status().ToString().c_str());
    f.config = *config;
    f.collector = *collector;
    f.thread = std::make_unique<oceanus::event::ThreadState>(*classifier);
    return f;
  }();
  return fixture;
}

class Headers : public oceanus::event::HeaderSource {
 public:
  std::string_view Get(std::string_view name) const override {
    for (const auto& [n, v] : headers_)
      if (oceanus::AsciiIEquals(n, name)) return v;
    return {};
  }
  void Add(std::string_view name, std::string_view value) {
    if (Get(name).empty()) headers_.emplace_back(name, value);
  }

 private:
  std::vector<std::pair<std::string_view, std::string_view>> headers_;
};

struct Parsed {
  Request request;
  Headers headers;
};

void ParseRequest(std::string_view in, Parsed& p) {
  Request& r = p.request;
  auto next_line = [&in]() {
    const std::size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  std::string_view first = next_line();
  const std::size_t space = first.find(' ');
  const std::string_view method = space == std::string_view::npos ? "GET" : first.substr(0, space);
  r.target = space == std::string_view::npos ? first : first.substr(space + 1);
  r.method = method == "GET"       ? Method::kGet
             : method == "POST"    ? Method::kPost
             : method == "HEAD"    ? Method::kHead
             : method == "OPTIONS" ? Method::kOptions
                                   : Method::kOther;
  FUZZ_CHECK(IpAddress::Parse("203.0.113.5", r.peer), "fixed peer must parse");
  while (!in.empty()) {
    const std::string_view line = next_line();
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (oceanus::AsciiIEquals(name, "Peer")) {
      IpAddress peer;
      if (IpAddress::Parse(value, peer)) r.peer = peer;
    } else if (oceanus::AsciiIEquals(name, "Content-Type")) {
      r.content_type = value;
    } else if (oceanus::AsciiIEquals(name, "User-Agent")) {
      r.user_agent = value;
    } else if (oceanus::AsciiIEquals(name, "X-Forwarded-For")) {
      r.x_forwarded_for = value;
    }
    p.headers.Add(name, value);
  }
  r.body = in;
  r.headers = &p.headers;
  r.now = std::chrono::system_clock::time_point(std::chrono::microseconds(1764000000123456));
}

std::string Quote(std::string_view s) { return std::string(s.substr(0, 300)); }

// The record of an accepted event, checked field by field against the site's schema.
void CheckRecord(const oceanus::config::Site& site, const std::string& record,
                 std::string_view event_id) {
  for (char c : record)
    FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20, "raw control character in %s",
               record.c_str());
  FUZZ_CHECK(oceanus::IsValidUtf8(record), "record is not UTF-8");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag>(
      record.data(), record.size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject(), "record is not a JSON object: %s",
             record.c_str());
  std::string previous;
  bool first = true;
  // By index: rapidjson's iterator comparisons are ambiguous to clang in C++20.
  for (rapidjson::SizeType i = 0; i < doc.MemberCount(); ++i) {
    const auto& m = *(doc.MemberBegin() + i);
    const std::string key(m.name.GetString(), m.name.GetStringLength());
    FUZZ_CHECK(first || previous < key, "keys not in ascending order: %s", record.c_str());
    first = false;
    previous = key;
    const oceanus::config::Field* field = nullptr;
    for (const auto& f : site.schema)
      if (f.name == key) field = &f;
    FUZZ_CHECK(field != nullptr, "key %s is not in the schema", key.c_str());
    const rapidjson::Value& v = m.value;
    switch (field->type) {
      case FieldType::kInteger:
        FUZZ_CHECK(v.IsInt64(), "%s is not an integer in %s", key.c_str(), record.c_str());
        continue;
      case FieldType::kFloat:
        FUZZ_CHECK(v.IsNumber(), "%s is not a number in %s", key.c_str(), record.c_str());
        continue;
      case FieldType::kBoolean:
        FUZZ_CHECK(v.IsBool(), "%s is not a boolean in %s", key.c_str(), record.c_str());
        continue;
      case FieldType::kString:
      case FieldType::kTimestamp:
        FUZZ_CHECK(v.IsString(), "%s is not a string in %s", key.c_str(), record.c_str());
        break;
    }
    const std::string value(v.GetString(), v.GetStringLength());
    if (field->from != FieldSource::kParam && field->from != FieldSource::kHeader &&
        field->from != FieldSource::kUserAgent && field->from != FieldSource::kClientIp)
      continue;  // generated by the server: no validation options apply
    if (field->max_length > 0)
      FUZZ_CHECK(oceanus::Utf8Length(value) <= field->max_length, "%s is too long", key.c_str());
    if (!field->pattern.empty())
      FUZZ_CHECK(RE2::FullMatch(value, RE2(field->pattern, RE2::Quiet)), "%s = '%s' does not match",
                 key.c_str(), Quote(value).c_str());
    if (field->ip || field->from == FieldSource::kClientIp) {
      IpAddress ip;
      FUZZ_CHECK(IpAddress::Parse(value, ip) && ip.ToString() == value,
                 "%s = '%s' is not a normalised address", key.c_str(), Quote(value).c_str());
    }
    if (field->json) {
      std::string canonical;
      FUZZ_CHECK(oceanus::event::CanonicalJson(value, canonical).ok() && canonical == value,
                 "%s = '%s' is not canonical JSON", key.c_str(), Quote(value).c_str());
    }
  }
  for (const auto& f : site.schema)
    if (f.required || f.from == FieldSource::kEventId || f.from == FieldSource::kNow)
      FUZZ_CHECK(doc.HasMember(f.name.c_str()), "required %s missing", f.name.c_str());
  FUZZ_CHECK(doc.HasMember("eid") && doc["eid"].IsString() && doc["eid"].GetStringLength() == 36 &&
                 event_id == std::string_view(doc["eid"].GetString(), 36),
             "the answer does not name the stored eid");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& fixture = GetFixture();
  Parsed parsed;
  ParseRequest(std::string_view(reinterpret_cast<const char*>(data), size), parsed);

  Scratch scratch;
  Outcome out;
  fixture.collector->Handle(parsed.request, *fixture.thread, scratch, out);
  const std::string record = out.append ? scratch.event.record : std::string();
  const std::string event_id(out.event_id);
  static const bool verbose = std::getenv("OCEANUS_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "-> %d %s%s\n", out.status, out.body.c_str(), record.c_str());

  switch (out.status) {
    case 200:
    case 204:
    case 302:
    case 400:
    case 404:
    case 405:
    case 415:
      break;
    default:
      FUZZ_CHECK(false, "unexpected status %d", out.status);
  }
  if (out.append) {
    FUZZ_CHECK(out.status == 200 || out.status == 302, "event kept but answered %d", out.status);
    const auto& site = fixture.config.sites.at(out.site);
    CheckRecord(site, record, event_id);
    if (out.answer == Answer::kRedirect) {
      FUZZ_CHECK(site.endpoint == "gaze", "redirect off /gaze");
      const std::size_t q = out.location.find('?');
      FUZZ_CHECK(q != std::string::npos, "redirect without a query");
      oceanus::event::ParamList params;
      FUZZ_CHECK(params.AddEncoded(std::string_view(out.location).substr(q + 1), nullptr),
                 "redirect query does not decode: %s", out.location.c_str());
      // The parameter the evt field reads (`param: e` on shortmail) names the next step.
      std::string evt_param = "evt";
      for (const auto& f : site.schema)
        if (f.name == "evt") evt_param = f.source_name;
      const auto evt = params.Get(evt_param);
      FUZZ_CHECK(evt && (*evt == "see" || *evt == "read" || *evt == "done"),
                 "redirect does not move evt on: %s", out.location.c_str());
      FUZZ_CHECK(out.delay.count() > 0, "redirect without a delay");
    }
  } else {
    FUZZ_CHECK(out.event_id.empty(), "an eid for an event that was not kept");
    // HEAD answers what GET would (the /gaze step's 302 included) and stores nothing.
    FUZZ_CHECK(out.status != 302 || parsed.request.method == Method::kHead,
               "redirect without an event");
  }

  // The same request again on the same buffers (a keep-alive connection) answers the same.
  Outcome again;
  fixture.collector->Handle(parsed.request, *fixture.thread, scratch, again);
  FUZZ_CHECK(again.status == out.status && again.answer == out.answer &&
                 again.append == out.append && again.site == out.site &&
                 again.location == out.location && again.delay == out.delay,
             "a repeated request was answered differently");
  if (out.append) {
    FUZZ_CHECK(scratch.event.record.size() == record.size(), "a repeated request stored %s",
               scratch.event.record.c_str());
  } else {
    // (A debug=1 answer shows the generated eid, which differs; it has a fixed length.)
    FUZZ_CHECK(
        again.body.size() == out.body.size() &&
            again.body.substr(0, again.body.find('\n')) == out.body.substr(0, out.body.find('\n')),
        "a repeated request failed differently:\n%s\n--\n%s", out.body.c_str(), again.body.c_str());
  }
  return 0;
}
