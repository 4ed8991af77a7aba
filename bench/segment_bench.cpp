// The segment source's hot path without sockets: one POST /v1/batch of 100 track messages
// of about 300 bytes each → parsed, checked, each message built into its record
// (Collector::Handle), then the batch's records appended to the spool together (durability
// os: one write), against a baseline that only parses the same body with RapidJSON (a DOM, as a
// JSON-first server would), in the same run. Items are messages: items_per_second is events/s.
#include <benchmark/benchmark.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <string>

#include "app/config.h"
#include "collect/collector.h"
#include "queue/spool/spool.h"
#include "util/base64.h"

namespace oceanus {
namespace {

constexpr int kMessages = 100;

// {"batch":[…100 track messages…],"sentAt":…}; each message about 300 bytes, its own id.
std::string BatchBody(int round) {
  std::string body = R"({"batch":[)";
  for (int i = 0; i < kMessages; ++i) {
    if (i > 0) body += ',';
    body += R"({"type":"track","event":"Product Viewed","userId":"user-)" + std::to_string(i) +
            R"(","messageId":"bench-)" + std::to_string(round) + "-" + std::to_string(i) +
            R"(","timestamp":"2026-12-01T10:00:00.000Z","properties":{"product_id":"p-42",)"
            R"("price":19.99,"currency":"JPY","category":"books"},"context":{"library":)"
            R"({"name":"analytics-node","version":"3.1.0"},"page":{"url":)"
            R"("https://shop.example/p/42"}}})";
  }
  body += R"(],"sentAt":"2026-12-01T10:00:01.000Z"})";
  return body;
}

class Headers : public event::HeaderSource {
 public:
  std::string authorization = "Basic " + EncodeBase64("bench-key:");
  std::string_view Get(std::string_view name) const override {
    return name == "Authorization" ? std::string_view(authorization) : std::string_view();
  }
};

struct Fixture {
  Fixture() {
    setenv("OCEANUS_SEGMENT_WRITE_KEY", "bench-key", 1);
    auto c = app::LoadConfig(std::string(OCEANUS_SOURCE_DIR) + "/examples/oceanus.yaml");
    if (!c.ok()) throw std::runtime_error(c.status().ToString());
    config = *c;
    auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    collector = *collect::Collector::Create(config, *classifier);
    thread = std::make_unique<event::ThreadState>(*classifier);
    body = BatchBody(0);
    request.method = collect::Method::kPost;
    request.target = "/v1/batch";
    request.content_type = "application/json";
    request.user_agent = "analytics-node-next/latest";
    request.body = body;
    request.headers = &headers;
    IpAddress::Parse("203.0.113.7", request.peer);
  }
  app::Config config;
  std::shared_ptr<const collect::Collector> collector;
  std::unique_ptr<event::ThreadState> thread;
  std::string body;
  Headers headers;
  collect::Request request;
  collect::Scratch scratch;
  collect::Outcome outcome;
};

class Ignore : public queue::AppendHandler {
 public:
  void Appended(Status) override {}
};

void BM_SegmentBatchParseOnly(benchmark::State& state) {
  const std::string body = BatchBody(0);
  for (auto _ : state) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError()) state.SkipWithError("not JSON");
    benchmark::DoNotOptimize(doc["batch"].Size());
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_SegmentBatchParseOnly);

void BM_SegmentBatch(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    f.request.now = std::chrono::system_clock::now();
    f.collector->Handle(f.request, *f.thread, f.scratch, f.outcome);
    if (!f.outcome.append || f.scratch.batch.size() != kMessages)
      state.SkipWithError("batch was not accepted whole");
    benchmark::DoNotOptimize(f.scratch.batch.arena.data());
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(f.body.size()));
  state.counters["record_bytes"] =
      static_cast<double>(f.scratch.batch.arena.size()) / static_cast<double>(kMessages);
}
BENCHMARK(BM_SegmentBatch);

void BM_SegmentBatchAndSpool(benchmark::State& state) {
  Fixture f;
  const auto dir = std::filesystem::temp_directory_path() / "oceanus-bench-segment-spool";
  std::filesystem::remove_all(dir);
  std::vector<std::string> sites;
  for (const auto& s : f.config.sites) sites.push_back(s.name);
  auto spool = std::move(queue::Spool::Open(dir.string(), sites, {"load"}, f.config.queue)).value();
  auto writer = std::move(spool->MakeWriter(0, {})).value();
  auto done = std::make_shared<Ignore>();
  for (auto _ : state) {
    f.request.now = std::chrono::system_clock::now();
    f.collector->Handle(f.request, *f.thread, f.scratch, f.outcome);
    writer->AppendAll(f.outcome.site, f.scratch.batch.arena, f.scratch.batch.ends, done);
  }
  state.SetItemsProcessed(state.iterations() * kMessages);
  writer.reset();
  spool.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SegmentBatchAndSpool);

}  // namespace
}  // namespace oceanus
