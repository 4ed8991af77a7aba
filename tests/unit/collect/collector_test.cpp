// The collector as a pure function: paths, methods, answers, and the exact queued record.
#include "collect/collector.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "app/config.h"
#include "http/responses.h"

namespace oceanus::collect {
namespace {

constexpr const char* kConfig = R"(
server:
  trusted_proxies: [10.0.0.0/8]
  internal_networks: [192.168.0.0/16]
  gaze_delays: [2s, 4s, 4s]
default_site: page
sites:
  page:
    endpoint: swallow
    schema:
      - {name: dt, from: now}
      - {name: eid, from: event_id}
      - {name: sid, required: true, transform: lower, pattern: "[0-9a-f]{1,32}"}
      - {name: evt, required: true, transform: [strip, lower], max_length: 16}
      - {name: tit, max_length: 5, on_overflow: truncate}
      - {name: n, type: integer}
      - {name: ok, type: boolean}
      - {name: jsn, json: true}
      - {name: rad, from: client_ip}
      - {name: ua, from: user_agent}
      - {name: dev, from: device, of: ua}
      - {name: lang, from: header, header: Accept-Language}
      - {name: ver, default: "1"}
  form:
    endpoint: pirate
    tables: single
    schema:
      - {name: email, required: true}
  mail:
    endpoint: gaze
    schema:
      - {name: evt, required: true}
  server:
    endpoint: pierce
    schema:
      - {name: rad, ip: true, required: true}
)";

class FakeHeaders : public event::HeaderSource {
 public:
  std::string_view Get(std::string_view name) const override {
    return name == "Accept-Language" ? "ja-JP" : "";
  }
};

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = app::ParseConfig(kConfig, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
    auto c = Collector::Create(*config, *classifier);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    collector_ = *c;
    thread_ = std::make_unique<event::ThreadState>(*classifier);
  }

  Outcome Do(Method method, std::string_view target, std::string_view body = "",
             std::string_view content_type = "", const char* peer = "203.0.113.5",
             std::string_view xff = "") {
    Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = content_type;
    r.user_agent =
        "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.0 Mobile/15E148 Safari/604.1";
    r.x_forwarded_for = xff;
    r.headers = &headers_;
    EXPECT_TRUE(IpAddress::Parse(peer, r.peer));
    r.now = std::chrono::system_clock::time_point(std::chrono::microseconds(1764000000123456));
    Outcome out;
    collector_->Handle(r, *thread_, scratch_, out);
    return out;
  }
  std::string Record() const { return scratch_.event.record; }

  std::shared_ptr<const Collector> collector_;
  std::unique_ptr<event::ThreadState> thread_;
  Scratch scratch_;
  FakeHeaders headers_;
};

TEST_F(CollectorTest, BeaconBuildsTheSortedRecord) {
  Outcome o = Do(Method::kGet,
                 "/swallow/"
                 "page?sid=ABC&evt=%20Click%20&tit=abcdefgh&n=%2B42&ok=yes&jsn=%7B%22b%22%3A1%2C%"
                 "22a%22%3A2%7D");
  ASSERT_TRUE(o.append) << o.body;
  EXPECT_EQ(o.answer, Answer::kGif);
  EXPECT_EQ(o.status, 200);
  const std::string r = Record();
  // Keys sorted; eid is random so check around it.
  const std::string head = R"({"dev":"tablet","dt":"2025-11-24 16:00:00.123456","eid":")";
  ASSERT_EQ(r.substr(0, head.size()), head) << r;
  const std::string tail =
      R"(","evt":"click","jsn":"{\"a\":2,\"b\":1}","lang":"ja-JP","n":42,"ok":true,"rad":"203.0.113.5","sid":"abc","tit":"abcde","ua":"Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1","ver":"1"})";
  ASSERT_GE(r.size(), head.size() + 36 + tail.size());
  EXPECT_EQ(r.substr(head.size() + 36), tail) << r;
  // The answer names the stored event's id (X-Oceanus-Eid).
  EXPECT_EQ(o.event_id, r.substr(head.size(), 36));
}

TEST_F(CollectorTest, InvalidFieldsAreAllReported) {
  Outcome o = Do(Method::kGet, "/swallow/page?sid=zz&n=4x&ok=maybe&jsn=%7B");
  EXPECT_TRUE(o.event_id.empty());
  EXPECT_FALSE(o.append);
  EXPECT_EQ(o.status, 400);
  EXPECT_NE(o.body.find("sid: does not match"), std::string::npos) << o.body;
  EXPECT_NE(o.body.find("evt: required"), std::string::npos);
  EXPECT_NE(o.body.find("n: not an integer"), std::string::npos);
  EXPECT_NE(o.body.find("ok: not a boolean"), std::string::npos);
  EXPECT_NE(o.body.find("jsn: not valid JSON"), std::string::npos);
  EXPECT_EQ(o.body.find("evt = "), std::string::npos) << "no debug dump for outsiders";
}

TEST_F(CollectorTest, DebugOnlyForInternalNetworks) {
  Outcome o = Do(Method::kGet, "/swallow/page?sid=a&evt=x&debug=1", "", "", "192.168.1.9");
  EXPECT_TRUE(o.append);
  EXPECT_EQ(o.answer, Answer::kText);
  EXPECT_NE(o.body.find("evt = \"x\""), std::string::npos) << o.body;
  o = Do(Method::kGet, "/swallow/page?sid=a&evt=x&debug=1", "", "", "203.0.113.5");
  EXPECT_EQ(o.answer, Answer::kGif);
}

TEST_F(CollectorTest, DebugIsGatedOnTheClientBehindAProxyNotOnTheProxy) {
  // 10.0.0.0/8 is a trusted proxy (and internal to no one): what counts is the client it names.
  const char* path = "/swallow/page?sid=a&evt=x&debug=1";
  Outcome o = Do(Method::kGet, path, "", "", "10.1.2.3", "203.0.113.77");
  EXPECT_EQ(o.answer, Answer::kGif) << "an outside visitor behind the proxy sees no debug detail";
  EXPECT_EQ(o.body.find("stored:"), std::string::npos) << o.body;
  o = Do(Method::kGet, path, "", "", "10.1.2.3", "192.168.7.7");
  EXPECT_EQ(o.answer, Answer::kText);
  EXPECT_NE(o.body.find("evt = \"x\""), std::string::npos) << o.body;
  // An internal peer that is no trusted proxy cannot lend its status to a forged header.
  o = Do(Method::kGet, path, "", "", "203.0.113.5", "192.168.7.7");
  EXPECT_EQ(o.answer, Answer::kGif);
}

TEST_F(CollectorTest, HeadAnswersAsGetWithoutABodyOnEveryPath) {
  struct Case {
    const char* target;
    int status;
  } cases[] = {{"/swallow/page?sid=a&evt=x", 200},
               {"/swallow/page", 400},
               {"/swallow/nope", 404},
               {"/pirate/form", 405},
               {"/nothing/here", 404},
               {"/lb", 200},
               {"/robots.txt", 200},
               {"/favicon.ico", 204},
               {"/gaze/mail?evt=open", 302},
               {"/pierce/server?rad=1.2.3.4", 200}};
  for (const auto& c : cases) {
    Outcome get = Do(Method::kGet, c.target);
    Outcome head = Do(Method::kHead, c.target);
    EXPECT_EQ(head.status, c.status) << c.target;
    EXPECT_EQ(head.status, get.status) << c.target;
    EXPECT_EQ(head.answer, get.answer) << c.target;
    EXPECT_TRUE(head.omit_body) << c.target;
    EXPECT_FALSE(head.append) << c.target << ": HEAD is safe, it stores nothing";
    EXPECT_TRUE(head.event_id.empty()) << c.target;
    // The bytes: GET's headers, Content-Length of GET's body included, and nothing after them.
    std::string get_bytes, head_bytes;
    get.event_id = {};
    http::AppendResponse(get_bytes, get, true, "Tue, 25 Nov 2025 00:00:00 GMT");
    http::AppendResponse(head_bytes, head, true, "Tue, 25 Nov 2025 00:00:00 GMT");
    const auto end = get_bytes.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(head_bytes, get_bytes.substr(0, end + 4)) << c.target;
  }
}

TEST_F(CollectorTest, AbsoluteFormTargetsRouteByTheirPath) {
  Outcome o = Do(Method::kGet, "http://collector.example:8080/swallow/page?sid=a&evt=x");
  EXPECT_EQ(o.status, 200) << o.body;
  EXPECT_TRUE(o.append);
  EXPECT_NE(Record().find(R"("sid":"a")"), std::string::npos) << Record();
  EXPECT_EQ(Do(Method::kGet, "HTTPS://collector.example/hc").body, "ok\n");
  EXPECT_EQ(Do(Method::kGet, "http://collector.example").status, 404);  // the path is "/"
  // The /gaze redirect names the path, not the absolute form.
  o = Do(Method::kGet, "http://h/gaze/mail?evt=open");
  EXPECT_EQ(o.location, "/gaze/mail?evt=see");
}

TEST_F(CollectorTest, ClientIpComesThroughTrustedProxiesOnly) {
  Do(Method::kGet, "/swallow/page?sid=a&evt=x", "", "", "10.1.2.3", "1.1.1.1, 198.51.100.2");
  EXPECT_NE(Record().find(R"("rad":"198.51.100.2")"), std::string::npos) << Record();
  Do(Method::kGet, "/swallow/page?sid=a&evt=x", "", "", "203.0.113.5", "198.51.100.2");
  EXPECT_NE(Record().find(R"("rad":"203.0.113.5")"), std::string::npos) << Record();
}

TEST_F(CollectorTest, RoutesAndMethods) {
  EXPECT_EQ(Do(Method::kGet, "/swallow?sid=a&evt=x").status, 200);  // default site
  EXPECT_EQ(Do(Method::kGet, "/swallow/?sid=a&evt=x").status, 200);
  EXPECT_EQ(Do(Method::kGet, "/swallow/form?email=x").status, 404);  // other endpoint's site
  EXPECT_EQ(Do(Method::kGet, "/swallow/nope").status, 404);
  EXPECT_EQ(Do(Method::kGet, "/swallowx").status, 404);
  EXPECT_EQ(Do(Method::kGet, "/swallow/page/extra").status, 404);
  EXPECT_EQ(Do(Method::kGet, "/pirate/form?email=x").status, 405);
  EXPECT_EQ(Do(Method::kGet, "/pirate/form?email=x").allow, "POST, OPTIONS");
  EXPECT_EQ(Do(Method::kPost, "/pierce/server").status, 405);
  EXPECT_EQ(Do(Method::kPost, "/pierce/server").allow, "GET, HEAD, OPTIONS");
  EXPECT_EQ(Do(Method::kOther, "/swallow/page?sid=a&evt=x").allow, "GET, HEAD, POST, OPTIONS");
  EXPECT_EQ(Do(Method::kPost, "/hc").allow, "GET, HEAD, OPTIONS");
  EXPECT_TRUE(Do(Method::kHead, "/hc").omit_body);
  EXPECT_FALSE(Do(Method::kGet, "/hc").omit_body);
  EXPECT_EQ(Do(Method::kOptions, "/pirate/form").answer, Answer::kPreflight);
  EXPECT_EQ(Do(Method::kGet, "/hc").body, "ok\n");
  EXPECT_EQ(Do(Method::kGet, "/lb").status, 200);
  EXPECT_EQ(Do(Method::kGet, "/favicon.ico").status, 204);
  EXPECT_EQ(Do(Method::kGet, "/robots.txt").status, 200);
}

TEST_F(CollectorTest, PostBodies) {
  Outcome o = Do(Method::kPost, "/pirate/form", "email=a%40b.jp",
                 "application/x-www-form-urlencoded; charset=UTF-8");
  EXPECT_TRUE(o.append);
  EXPECT_EQ(o.answer, Answer::kText);
  EXPECT_EQ(o.body, "");
  EXPECT_NE(Record().find(R"("email":"a@b.jp")"), std::string::npos);
  // sendBeacon: text/plain body on /swallow.
  o = Do(Method::kPost, "/swallow/page", "sid=b&evt=unload", "text/plain;charset=UTF-8");
  EXPECT_TRUE(o.append);
  EXPECT_EQ(o.answer, Answer::kGif);
  // Body wins over the query string for a repeated parameter.
  Do(Method::kPost, "/swallow/page?evt=fromquery", "sid=b&evt=frombody", "text/plain");
  EXPECT_NE(Record().find(R"("evt":"frombody")"), std::string::npos);
  EXPECT_EQ(Do(Method::kPost, "/pirate/form", "email=x", "text/plain").status, 415);
  EXPECT_EQ(Do(Method::kPost, "/pirate/form", "{}", "application/json").status, 415);
  o = Do(Method::kPost, "/pirate/form", "email=%E3%81", "application/x-www-form-urlencoded");
  EXPECT_EQ(o.status, 400);
  EXPECT_EQ(o.body, "email: not valid UTF-8\n");
  o = Do(Method::kPost, "/pirate/form", "email=%G0", "application/x-www-form-urlencoded");
  EXPECT_EQ(o.status, 400);
  EXPECT_EQ(o.body, "malformed percent-encoding in parameter 'email'\n");
}

TEST_F(CollectorTest, GazeChainsWithDelays) {
  Outcome o = Do(Method::kGet, "/gaze/mail?uid=7&evt=open&x=%41");
  EXPECT_TRUE(o.append);
  EXPECT_EQ(o.answer, Answer::kRedirect);
  EXPECT_EQ(o.status, 302);
  EXPECT_EQ(o.location, "/gaze/mail?uid=7&evt=see&x=%41");
  EXPECT_EQ(o.delay, std::chrono::seconds(2));
  o = Do(Method::kGet, "/gaze/mail?evt=see");
  EXPECT_EQ(o.location, "/gaze/mail?evt=read");
  EXPECT_EQ(o.delay, std::chrono::seconds(4));
  o = Do(Method::kGet, "/gaze/mail?evt=read");
  EXPECT_EQ(o.location, "/gaze/mail?evt=done");
  EXPECT_EQ(o.delay, std::chrono::seconds(4));
  o = Do(Method::kGet, "/gaze/mail?evt=done");
  EXPECT_EQ(o.answer, Answer::kGif);
  EXPECT_EQ(o.delay, std::chrono::milliseconds(0));
}

TEST_F(CollectorTest, PierceNormalisesTheGivenAddress) {
  Outcome o = Do(Method::kGet, "/pierce/server?rad=2001:DB8:0::1");
  EXPECT_TRUE(o.append);
  EXPECT_EQ(o.body, "ok\n");
  EXPECT_EQ(Record(), R"({"eid":")" + Record().substr(8, 36) + R"(","rad":"2001:db8::1"})");
  EXPECT_EQ(Do(Method::kGet, "/pierce/server?rad=999.1.1.1").body, "rad: not an IP address\n");
}

// The /gaze chain moves evt on through the parameter the field reads (tests/fuzz/fuzz_event
// checks it too): adding "evt=see" whatever the field read would, with `param: e`, redirect
// back to "open" forever. An evt from a header cannot be moved on and is not redirected.
TEST(CollectorGazeTest, RedirectUsesTheParameterTheEvtFieldReads) {
  auto config = app::ParseConfig(R"(
sites:
  short:
    endpoint: gaze
    schema:
      - {name: evt, param: e, default: open}
  fromheader:
    endpoint: gaze
    schema:
      - {name: evt, from: header, header: X-Evt}
)",
                                 "gaze.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
  ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
  auto collector = Collector::Create(*config, *classifier);
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  event::ThreadState thread(*classifier);
  Scratch scratch;
  FakeHeaders headers;
  Request r;
  r.headers = &headers;
  ASSERT_TRUE(IpAddress::Parse("203.0.113.5", r.peer));
  Outcome o;
  r.target = "/gaze/short?u=7";
  (*collector)->Handle(r, thread, scratch, o);
  EXPECT_EQ(o.location, "/gaze/short?u=7&e=see");
  r.target = "/gaze/short?u=7&e=see";
  (*collector)->Handle(r, thread, scratch, o);
  EXPECT_EQ(o.location, "/gaze/short?u=7&e=read");

  class EvtHeader : public event::HeaderSource {
   public:
    std::string_view Get(std::string_view name) const override {
      return name == "X-Evt" ? "open" : "";
    }
  } evt_header;
  r.headers = &evt_header;
  r.target = "/gaze/fromheader";
  (*collector)->Handle(r, thread, scratch, o);
  EXPECT_TRUE(o.append);
  EXPECT_EQ(o.answer, Answer::kGif);
}

// The tracker script (web/oceanus.js) at /static/js/oceanus.js: built in, held in memory,
// cacheable with an ETag; every other /static/ path is 404.
class CollectorTrackerScriptTest : public ::testing::Test {
 protected:
  class Headers : public event::HeaderSource {
   public:
    std::string if_none_match;
    std::string_view Get(std::string_view name) const override {
      return name == "If-None-Match" ? std::string_view(if_none_match) : std::string_view();
    }
  };

  void SetUp() override {
    auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
    classifier_ = *classifier;
    thread_ = std::make_unique<event::ThreadState>(classifier_);
  }

  Result<std::shared_ptr<const Collector>> Make(const std::string& server_yaml) {
    auto config = app::ParseConfig(server_yaml + R"(
sites:
  page:
    endpoint: swallow
    schema:
      - {name: evt}
)",
                                   "static.yaml");
    if (!config.ok()) return config.status();
    return Collector::Create(*config, classifier_);
  }

  Outcome Do(const Collector& collector, Method method, std::string_view target) {
    Request r;
    r.method = method;
    r.target = target;
    r.headers = &headers_;
    EXPECT_TRUE(IpAddress::Parse("203.0.113.5", r.peer));
    Outcome out;
    collector.Handle(r, *thread_, scratch_, out);
    return out;
  }

  static std::string Bytes(const Outcome& o) {
    std::string out;
    http::AppendResponse(out, o, true, "Tue, 25 Nov 2025 00:00:00 GMT");
    return out;
  }

  std::shared_ptr<const event::DeviceClassifier> classifier_;
  std::unique_ptr<event::ThreadState> thread_;
  Headers headers_;
  Scratch scratch_;
};

TEST_F(CollectorTrackerScriptTest, ServedFromMemoryAsCacheableJavaScript) {
  auto collector = Make("");
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  const std::string_view script = EmbeddedTrackerScript();
  ASSERT_NE(script.find("sendBeacon"), std::string_view::npos);
  Outcome o = Do(**collector, Method::kGet, "/static/js/oceanus.js?v=3");
  EXPECT_EQ(o.answer, Answer::kScript);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.endpoint, EndpointLabel::kStatic);
  EXPECT_FALSE(o.append);
  EXPECT_EQ(o.content, script);
  EXPECT_EQ(o.content.data(), Do(**collector, Method::kGet, "/static/js/oceanus.js").content.data())
      << "the same bytes every time, not a copy per request";
  ASSERT_EQ(o.etag.size(), 18u);
  EXPECT_EQ(o.etag.front(), '"');
  EXPECT_EQ(o.etag.back(), '"');

  const std::string bytes = Bytes(o);
  EXPECT_EQ(bytes.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_NE(bytes.find("\r\nContent-Type: application/javascript; charset=utf-8\r\n"),
            std::string::npos)
      << bytes;
  EXPECT_NE(bytes.find("\r\nCache-Control: public, max-age=3600\r\n"), std::string::npos);
  EXPECT_EQ(bytes.find("no-cache"), std::string::npos);
  EXPECT_NE(bytes.find("\r\nETag: " + std::string(o.etag) + "\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("\r\nContent-Length: " + std::to_string(script.size()) + "\r\n"),
            std::string::npos);
  ASSERT_GE(bytes.size(), script.size());
  EXPECT_EQ(bytes.substr(bytes.size() - script.size()), script);
}

TEST_F(CollectorTrackerScriptTest, HeadAndIfNoneMatchSendNoBody) {
  auto collector = Make("");
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  const std::string length = "Content-Length: " + std::to_string(EmbeddedTrackerScript().size());

  Outcome head = Do(**collector, Method::kHead, "/static/js/oceanus.js");
  EXPECT_EQ(head.status, 200);
  std::string bytes = Bytes(head);
  EXPECT_NE(bytes.find(length), std::string::npos) << bytes;
  EXPECT_EQ(bytes.substr(bytes.size() - 4), "\r\n\r\n") << "no body after the headers";

  headers_.if_none_match = std::string(head.etag);
  Outcome cached = Do(**collector, Method::kGet, "/static/js/oceanus.js");
  EXPECT_EQ(cached.status, 304);
  bytes = Bytes(cached);
  EXPECT_EQ(bytes.substr(0, 25), "HTTP/1.1 304 Not Modified");
  EXPECT_NE(bytes.find("ETag: " + std::string(head.etag)), std::string::npos);
  EXPECT_EQ(bytes.substr(bytes.size() - 4), "\r\n\r\n");

  headers_.if_none_match = "\"other\", W/" + std::string(head.etag);
  EXPECT_EQ(Do(**collector, Method::kGet, "/static/js/oceanus.js").status, 304);
  headers_.if_none_match = "*";
  EXPECT_EQ(Do(**collector, Method::kGet, "/static/js/oceanus.js").status, 304);
  headers_.if_none_match = "\"0123456789abcdef\"";
  EXPECT_EQ(Do(**collector, Method::kGet, "/static/js/oceanus.js").status, 200);
}

TEST_F(CollectorTrackerScriptTest, OtherStaticPathsAreNotFound) {
  auto collector = Make("");
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  for (const char* path : {"/static/", "/static/js/", "/static/js/other.js",
                           "/static/js/oceanus.js/x", "/static/oceanus.js", "/static/../hc"}) {
    Outcome o = Do(**collector, Method::kGet, path);
    EXPECT_EQ(o.status, 404) << path;
    EXPECT_EQ(o.answer, Answer::kText) << path;
    EXPECT_EQ(o.endpoint, EndpointLabel::kStatic) << path;
  }
  EXPECT_EQ(Do(**collector, Method::kPost, "/static/js/oceanus.js").status, 405);
  EXPECT_EQ(Do(**collector, Method::kGet, "/staticx/js/oceanus.js").status, 404);
}

TEST_F(CollectorTrackerScriptTest, ConfigNamesAnotherFile) {
  const std::string file = ::testing::TempDir() + "/oceanus_tracker_test.js";
  {
    std::ofstream out(file, std::ios::binary);
    out << "console.log('custom');\n";
  }
  auto collector = Make("server:\n  tracker_script: " + file + "\n");
  ASSERT_TRUE(collector.ok()) << collector.status().ToString();
  Outcome o = Do(**collector, Method::kGet, "/static/js/oceanus.js");
  EXPECT_EQ(o.content, "console.log('custom');\n");
  auto built_in = Make("");
  ASSERT_TRUE(built_in.ok());
  EXPECT_NE(o.etag, Do(**built_in, Method::kGet, "/static/js/oceanus.js").etag);
  std::remove(file.c_str());

  auto missing = Make("server:\n  tracker_script: " + file + "\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("server.tracker_script: " + file), std::string::npos)
      << missing.status().ToString();
}

}  // namespace
}  // namespace oceanus::collect
