// RequestParser: framing of whole, split and pipelined requests, the limits, and the request
// smuggling cases it must refuse rather than frame differently from a proxy in front.
#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace oceanus::http {
namespace {

using Result = RequestParser::Result;

constexpr std::size_t kHeaderLimit = 1024;
constexpr std::size_t kBufferLimit = 4096;
constexpr std::size_t kBodyLimit = 100000;

// One request or refusal as the session would see it.
struct Parsed {
  Result result = Result::kNeedMore;
  int status = 0;  // of a refusal
  std::string reason;
  std::string method, target, body;
  unsigned version = 0;
  bool keep_alive = false;
  std::vector<std::pair<std::string, std::string>> fields;
};

// Feeds `bytes` in pieces of `step` bytes (as reads would bring them) and parses every
// request in them, in order, until one is refused or the bytes end.
class Feeder {
 public:
  explicit Feeder(std::size_t buffer_limit = kBufferLimit) : parser_(kHeaderLimit, buffer_limit) {}

  std::vector<Parsed> Feed(std::string_view bytes, std::size_t step = SIZE_MAX) {
    std::vector<Parsed> out;
    while (true) {
      if (!ParseAll(out)) return out;
      if (bytes.empty()) return out;
      auto space = parser_.ReadSpace();
      const std::size_t n = std::min({space.size(), step, bytes.size()});
      std::memcpy(space.data(), bytes.data(), n);
      parser_.Commit(n);
      bytes.remove_prefix(n);
    }
  }

  RequestParser& parser() { return parser_; }

 private:
  // Parses while requests complete; false once one is refused.
  bool ParseAll(std::vector<Parsed>& out) {
    while (true) {
      Result r = parser_.Parse();
      if (r == Result::kHeader) {
        parser_.SetBodyLimit(kBodyLimit);
        r = parser_.Parse();
      }
      if (r == Result::kNeedMore) return true;
      Parsed p;
      p.result = r;
      if (r == Result::kRefused) {
        p.status = parser_.refusal().status;
        p.reason = std::string(parser_.refusal().reason);
        out.push_back(std::move(p));
        return false;
      }
      const auto& h = parser_.head();
      p.method = h.method;
      p.target = h.target;
      p.body = parser_.body();
      p.version = h.version;
      p.keep_alive = h.keep_alive;
      for (const auto& f : h.fields) p.fields.emplace_back(f.name, f.value);
      out.push_back(std::move(p));
      parser_.Next();
    }
  }

  RequestParser parser_;
};

// The refusal that ends `bytes` (status 0 when every request in them completes).
Parsed Refused(std::string_view bytes) {
  Feeder f;
  auto got = f.Feed(bytes);
  if (got.empty() || got.back().result != Result::kRefused) return {};
  return got.back();
}

int RefusalOf(std::string_view bytes) { return Refused(bytes).status; }

TEST(RequestParserTest, AGetIsSplitIntoItsParts) {
  Feeder f;
  auto got = f.Feed(
      "GET /swallow/s?evt=x&u=%E3%81 HTTP/1.1\r\nHost: x\r\nUser-Agent:  Mozilla/5.0 \t\r\n\r\n");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].result, Result::kComplete);
  EXPECT_EQ(got[0].method, "GET");
  EXPECT_EQ(got[0].target, "/swallow/s?evt=x&u=%E3%81");
  EXPECT_EQ(got[0].version, 11u);
  EXPECT_TRUE(got[0].keep_alive);
  ASSERT_EQ(got[0].fields.size(), 2u);
  EXPECT_EQ(got[0].fields[1].first, "User-Agent");
  EXPECT_EQ(got[0].fields[1].second, "Mozilla/5.0");  // optional whitespace trimmed
  EXPECT_EQ(got[0].body, "");
}

TEST(RequestParserTest, EveryWayOfSplittingARequestGivesTheSameRequest) {
  const std::string request =
      "POST /pirate/f HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world";
  for (std::size_t step = 1; step <= request.size(); ++step) {
    Feeder f;
    auto got = f.Feed(request, step);
    ASSERT_EQ(got.size(), 1u) << step;
    EXPECT_EQ(got[0].body, "hello world") << step;
  }
}

TEST(RequestParserTest, PipelinedRequestsComeOutWholeAndInOrder) {
  const std::string bytes =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
      "GET /d HTTP/1.1\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, SIZE_MAX}) {
    Feeder f;
    auto got = f.Feed(bytes, step);
    ASSERT_EQ(got.size(), 4u) << step;
    EXPECT_EQ(got[0].target, "/a");
    EXPECT_EQ(got[1].target, "/b");
    EXPECT_EQ(got[1].body, "abc");
    EXPECT_EQ(got[2].target, "/c");
    EXPECT_EQ(got[2].body, "de");
    EXPECT_EQ(got[3].target, "/d");
    EXPECT_FALSE(f.parser().Buffered());
  }
}

TEST(RequestParserTest, AChunkedBodyIsDecodedWithExtensionsAndTrailersIgnored) {
  Feeder f;
  auto got = f.Feed(
      "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\nA \r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n",
      3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].result, Result::kComplete);
  EXPECT_EQ(got[0].body, "hello, world!!!");
}

TEST(RequestParserTest, ABodyLargerThanTheBufferIsCopiedWhole) {
  const std::string body(20000, 'b');
  const std::string request =
      "POST /p HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  Feeder f;
  auto got = f.Feed(request + "GET /next HTTP/1.1\r\n\r\n", 1000);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, body);
  EXPECT_EQ(got[1].target, "/next");
  EXPECT_GE(f.parser().Retained(), body.size());  // the pool sees the copy's size
}

TEST(RequestParserTest, ConnectionPersistenceFollowsTheVersionAndConnectionField) {
  auto keep = [](std::string_view request) {
    Feeder f;
    auto got = f.Feed(request);
    return !got.empty() && got[0].result == Result::kComplete && got[0].keep_alive;
  };
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.2\r\n\r\n"));  // a later 1.x is read as 1.1
}

TEST(RequestParserTest, EmptyLinesBeforeTheRequestLineAreSkipped) {
  Feeder f;
  auto got = f.Feed("\r\n\r\nGET /a HTTP/1.1\r\n\r\n");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/a");
}

TEST(RequestParserTest, TheHeaderIsReportedBeforeItsBodyIsRead) {
  RequestParser p(kHeaderLimit, kBufferLimit);
  const std::string_view head =
      "POST /p HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
  auto space = p.ReadSpace();
  std::memcpy(space.data(), head.data(), head.size());
  p.Commit(head.size());
  ASSERT_EQ(p.Parse(), Result::kHeader);
  EXPECT_EQ(p.head().Find("expect"), "100-continue");
  EXPECT_EQ(p.head().Find("CONTENT-LENGTH"), "5");  // names are case-insensitive
  EXPECT_EQ(p.head().Find("referer"), "");
  p.SetBodyLimit(kBodyLimit);
  EXPECT_EQ(p.Parse(), Result::kNeedMore);
  space = p.ReadSpace();
  std::memcpy(space.data(), "12345", 5);
  p.Commit(5);
  EXPECT_EQ(p.Parse(), Result::kComplete);
  EXPECT_EQ(p.body(), "12345");
}

TEST(RequestParserTest, LimitsGive431And413) {
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n"), 431);
  // A header that ends just past the limit, all in one read.
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\nX: " + std::string(kHeaderLimit - 22, 'a') + "\r\n\r\n"),
            431);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nContent-Length: 100001\r\n\r\n"), 413);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 413);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n186a1\r\n"), 413);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "ffffffffffffffffffff\r\n"),
            413);
  // Chunks that each fit but together do not.
  std::string chunks = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 30; ++i) chunks += "1000\r\n" + std::string(4096, 'c') + "\r\n";
  EXPECT_EQ(RefusalOf(chunks), 413);
  // Trailers count against the header limit.
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
                      std::string(2000, 't') + "\r\n\r\n"),
            431);
}

TEST(RequestParserTest, MalformedRequestsGet400) {
  for (std::string_view bad : {
           "THIS IS NOT HTTP\r\n\r\n",
           "GET /\x01 HTTP/1.1\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "GET / HTTP/2.0\r\n\r\n",
           "GET / HTTP/1.1 \r\n\r\n",
           "G(T / HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
           "GET / HTTP/1.1\r\nX : y\r\n\r\n",
           "GET / HTTP/1.1\r\n: y\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\n",
       }) {
    EXPECT_EQ(RefusalOf(bad), 400) << bad;
  }
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
}

// The cases where two parsers that disagree let a request hide inside another's body.
TEST(RequestParserTest, SmugglingContentLengthWithTransferEncodingIsRefused) {
  const Parsed r = Refused(
      "POST / HTTP/1.1\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /hidden HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason, "Content-Length with Transfer-Encoding\n");
  // And in the other order, and with the coding on a second line.
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n"),
            400);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 6\r\n"
                      "\r\n"),
            501);
}

TEST(RequestParserTest, SmugglingTwoContentLengthsAreRefused) {
  const Parsed r =
      Refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason, "more than one Content-Length\n");
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nabcde"),
            400);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nabcde"), 400);
}

TEST(RequestParserTest, SmugglingObsoleteLineFoldingIsRefused) {
  const Parsed r = Refused("GET / HTTP/1.1\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason, "obsolete line folding in a header field\n");
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n"), 400);
}

TEST(RequestParserTest, SmugglingBareLineFeedsAreRefusedAtOnce) {
  // Refused as soon as the LF is read, not left waiting for a CRLF CRLF that never comes.
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\nHost: x\n\n"), 400);
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\nHost: x\n\r\n"), 400);
  EXPECT_EQ(RefusalOf("GET / HTTP/1.1\r\nHost: x\r\n\n"), 400);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n"),
            400);
  EXPECT_EQ(RefusalOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n"), 400);
}

TEST(RequestParserTest, SmugglingPipelinedRequestsAfterABodyAreFramedByItsLength) {
  // The body's bytes that look like a request are body; the request after it is the next.
  Feeder f;
  auto got = f.Feed(
      "POST /a HTTP/1.1\r\nContent-Length: 24\r\n\r\nGET /inside HTTP/1.1\r\n\r\n"
      "GET /after HTTP/1.1\r\n\r\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, "GET /inside HTTP/1.1\r\n\r\n");
  EXPECT_EQ(got[1].target, "/after");
}

TEST(RequestParserTest, ViewsSurviveTheBufferGrowing) {
  // The header is read in a small buffer that grows for the body: the views move with it.
  Feeder f(64 * 1024);
  const std::string body(10000, 'z');
  auto got =
      f.Feed("POST /grow HTTP/1.1\r\nX-Name: value\r\nContent-Length: 10000\r\n\r\n" + body, 100);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/grow");
  EXPECT_EQ(got[0].fields[0].second, "value");
  EXPECT_EQ(got[0].body, body);
}

}  // namespace
}  // namespace oceanus::http
