// The request parser of the beacon path (http::RequestParser) against Beast's
// request_parser<string_body>, which the server used before: one typical browser beacon (a GET
// with the headers Chrome sends, ~700 bytes) parsed per iteration, each parser used the way the
// server uses it (RequestParser reused per connection; a new Beast parser per request, as
// Beast requires), and a small form POST.
#include <benchmark/benchmark.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <string_view>

#include "http/request_parser.h"

namespace {

constexpr std::string_view kBeacon =
    "GET /swallow/samplesite?oid=2&sid=9c1185a5c5e9fc54612808977ee8f548b2258d31&evt=pageview"
    "&url=https%3A%2F%2Fshop.example%2Fitems%2F42&ref=https%3A%2F%2Fwww.google.com%2F&tit=Item"
    "%2042&uid=u-1 HTTP/1.1\r\n"
    "Host: collect.example\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"156\", \"Not=A?Brand\";v=\"24\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Accept: image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8\r\n"
    "Sec-Fetch-Site: cross-site\r\n"
    "Sec-Fetch-Mode: no-cors\r\n"
    "Sec-Fetch-Dest: image\r\n"
    "Referer: https://shop.example/\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: ja,en-US;q=0.9,en;q=0.8\r\n"
    "\r\n";

constexpr std::string_view kFormPost =
    "POST /pirate/sampleform HTTP/1.1\r\nHost: collect.example\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 44\r\n\r\n"
    "oid=2&sid=ab&evt=signup&url=u&uid=u-1&x=1234";

void ParseWithRequestParser(benchmark::State& state, std::string_view request) {
  oceanus::http::RequestParser parser(8192, 8192 + 16384);
  for (auto _ : state) {
    auto space = parser.ReadSpace();
    std::memcpy(space.data(), request.data(), request.size());
    parser.Commit(request.size());
    auto r = parser.Parse();
    parser.SetBodyLimit(65536);
    if (r == oceanus::http::RequestParser::Result::kHeader) r = parser.Parse();
    if (r != oceanus::http::RequestParser::Result::kComplete) state.SkipWithError("not complete");
    benchmark::DoNotOptimize(parser.head().Find("user-agent"));
    benchmark::DoNotOptimize(parser.body());
    parser.Next();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
}

void ParseWithBeast(benchmark::State& state, std::string_view request) {
  namespace http = boost::beast::http;
  for (auto _ : state) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8192);
    parser.body_limit(65536);
    parser.eager(true);  // the body too, when it is in the same buffer
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(request.data(), request.size()), ec);
    if (ec || !parser.is_done()) state.SkipWithError("not complete");
    benchmark::DoNotOptimize(parser.get()[http::field::user_agent]);
    benchmark::DoNotOptimize(parser.get().body());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * request.size()));
}

void BM_RequestParserBeacon(benchmark::State& state) { ParseWithRequestParser(state, kBeacon); }
void BM_BeastParserBeacon(benchmark::State& state) { ParseWithBeast(state, kBeacon); }
void BM_RequestParserFormPost(benchmark::State& state) { ParseWithRequestParser(state, kFormPost); }
void BM_BeastParserFormPost(benchmark::State& state) { ParseWithBeast(state, kFormPost); }

BENCHMARK(BM_RequestParserBeacon);
BENCHMARK(BM_BeastParserBeacon);
BENCHMARK(BM_RequestParserFormPost);
BENCHMARK(BM_BeastParserFormPost);

}  // namespace
