// Fuzzes the segment source's JSON-message-to-event path below the socket: a POST to /v1/…
// with a fuzzed body through collect::Collector::Handle, against a segment site with the
// default columns and promoted fields of every type.
// Input: the first byte picks the path (track, page, screen, identify, group, alias, batch,
// the short paths), the second where the write key goes (Basic auth, the body, a wrong key,
// none) and the encoding; the rest is the body.
// Invariants: the answer is JSON (or the 204 preflight) with one of the documented statuses;
// a 2xx appends at least one record and every record is a JSON object whose keys are schema
// fields in strictly ascending order, with eid, dt, type and timestamp present, type one of
// the API's six and timestamp a parseable time; properties, traits, context and a promoted
// json field are canonical JSON (event/json.h) as the tape wrote them; a record with a message_id
// has the eid derived from (site, message_id); nothing is appended without a 200; handling the same
// request twice with the same buffers gives the same status and body.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "app/config.h"
#include "collect/collector.h"
#include "collect/sources/segment/segment_message.h"
#include "event/device.h"
#include "event/json.h"
#include "fuzz_check.h"
#include "util/base64.h"
#include "util/json.h"

namespace {

using oceanus::collect::Answer;
using oceanus::collect::Collector;
using oceanus::collect::Method;
using oceanus::collect::Outcome;
using oceanus::collect::Request;
using oceanus::collect::Scratch;

constexpr const char* kConfig = R"(
sites:
  app:
    endpoint: segment
    write_keys: [wk1]
    max_message_bytes: 4KiB
    max_batch_bytes: 16KiB
    trusted_senders: [127.0.0.0/8]
    schema:
      - {name: revenue, from: json, path: properties.revenue, type: float}
      - {name: qty, from: json, path: properties.qty, type: integer}
      - {name: vip, from: json, path: traits.vip, type: boolean}
      - {name: plan, from: json, path: context.traits.plan, max_length: 8, pattern: "[a-z]+"}
      - {name: items, from: json, path: properties.items, json: true}
      - {name: when, from: json, path: properties.when, type: timestamp}
)";

constexpr std::string_view kPaths[] = {"/v1/track", "/v1/page",  "/v1/screen", "/v1/identify",
                                       "/v1/group", "/v1/alias", "/v1/batch",  "/v1/import",
                                       "/v1/t",     "/v1/b",     "/v1/nope"};

class Headers : public oceanus::event::HeaderSource {
 public:
  std::string authorization, encoding;
  std::string_view Get(std::string_view name) const override {
    if (name == "Authorization") return authorization;
    if (name == "Content-Encoding") return encoding;
    return {};
  }
};

struct Fixture {
  std::shared_ptr<const Collector> collector;
  std::shared_ptr<const oceanus::event::DeviceClassifier> classifier;
};

const Fixture& GetFixture() {
  static const Fixture fixture = [] {
    SilenceLogsOnce();
    auto config = oceanus::app::ParseConfig(kConfig, "fuzz_segment.yaml");
    FUZZ_CHECK(config.ok(), "%s", config.status().ToString().c_str());
    auto classifier = oceanus::event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    FUZZ_CHECK(classifier.ok(), "%s", classifier.status().ToString().c_str());
    auto collector = Collector::Create(*config, *classifier);
    FUZZ_CHECK(collector.ok(), "%s", collector.status().ToString().c_str());
    return Fixture{*collector, *classifier};
  }();
  return fixture;
}

void CheckRecord(std::string_view record) {
  rapidjson::Document doc;
  doc.Parse(record.data(), record.size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject(), "record is not a JSON object: %.*s",
             static_cast<int>(record.size()), record.data());
  std::string previous;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string name = it->name.GetString();
    FUZZ_CHECK(previous.empty() || previous < name, "keys out of order: %s", name.c_str());
    previous = name;
  }
  for (const char* required : {"eid", "dt", "type", "timestamp"})
    FUZZ_CHECK(doc.HasMember(required) && doc[required].IsString(), "no %s", required);
  const std::string type = doc["type"].GetString();
  FUZZ_CHECK(oceanus::collect::segment::CallOfType(type).has_value(), "type %s", type.c_str());
  FUZZ_CHECK(oceanus::collect::segment::ParseIsoTime(doc["timestamp"].GetString()).has_value(),
             "timestamp %s", doc["timestamp"].GetString());
  for (const char* json : {"properties", "traits", "context", "items"}) {
    if (!doc.HasMember(json)) continue;
    FUZZ_CHECK(doc[json].IsString(), "%s is not a string", json);
    std::string canonical;
    FUZZ_CHECK(oceanus::event::CanonicalJson(doc[json].GetString(), canonical).ok() &&
                   canonical == doc[json].GetString(),
               "%s is not canonical JSON: %s", json, doc[json].GetString());
  }
  if (doc.HasMember("message_id") && doc["message_id"].IsString()) {
    char eid[36];
    oceanus::collect::segment::MessageEventId("app", doc["message_id"].GetString(), eid);
    FUZZ_CHECK(std::string_view(eid, 36) == doc["eid"].GetString(), "eid not derived");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const Fixture& fixture = GetFixture();
  static oceanus::event::ThreadState thread(fixture.classifier);
  static Scratch scratch;
  const std::string_view path = kPaths[data[0] % std::size(kPaths)];
  Headers headers;
  switch (data[1] & 3) {
    case 0:
      headers.authorization = "Basic " + oceanus::EncodeBase64("wk1:");
      break;
    case 1:
      headers.authorization = "Basic " + oceanus::EncodeBase64("wrong:");
      break;
    default:
      break;  // none: the body's writeKey, if any
  }
  if (data[1] & 4) headers.encoding = "gzip";
  const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
  Request r;
  r.method = (data[1] & 8) ? Method::kOptions : Method::kPost;
  r.target = path;
  r.body = body;
  r.content_type = (data[1] & 16) ? "text/plain" : "application/json";
  r.user_agent = "fuzz";
  r.headers = &headers;
  oceanus::IpAddress::Parse("127.0.0.1", r.peer);
  r.now = std::chrono::system_clock::now();

  Outcome out;
  fixture.collector->Handle(r, thread, scratch, out);
  if (out.answer == Answer::kPreflight) {
    FUZZ_CHECK(out.status == 204 && !out.append, "preflight %d", out.status);
    return 0;
  }
  FUZZ_CHECK(out.answer == Answer::kJson, "answer kind %d", static_cast<int>(out.answer));
  const int s = out.status;
  FUZZ_CHECK(s == 200 || s == 400 || s == 401 || s == 404 || s == 413 || s == 415, "status %d", s);
  FUZZ_CHECK(oceanus::IsValidUtf8(out.body), "body not UTF-8");
  rapidjson::Document answer;
  answer.Parse(out.body.data(), out.body.size());
  FUZZ_CHECK(!answer.HasParseError() && answer.IsObject() && answer.HasMember("success"),
             "answer %s", out.body.c_str());
  FUZZ_CHECK(out.append == (s == 200), "append %d with status %d", out.append, s);
  if (out.append) {
    FUZZ_CHECK(out.batch && scratch.batch.size() > 0, "2xx without records");
    for (std::size_t i = 0; i < scratch.batch.size(); ++i) CheckRecord(scratch.batch[i]);
  }
  const int status = out.status;
  const std::string first = out.body;
  fixture.collector->Handle(r, thread, scratch, out);
  FUZZ_CHECK(out.status == status && out.body == first, "second answer differs: %d %s", out.status,
             out.body.c_str());
  return 0;
}
