// The hot path without sockets: one beacon request → routed, validated, the JSON record
// written (Collector::Handle), and the spool append of that record with durability os.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>

#include "app/config.h"
#include "collect/collector.h"
#include "event/privacy.h"
#include "queue/spool/spool.h"

namespace oceanus {
namespace {

constexpr const char* kTarget =
    "/swallow/"
    "samplesite?oid=2&sid=0123456789abcdef&evt=pageview&url=https%3A%2F%2Fexample.jp%2Fproducts%"
    "2F42"
    "&tit=Product%2042&ref=https%3A%2F%2Fwww.google.com%2F&scr=1920x1080&vie=1280x720"
    "&jsn=%7B%22b%22%3A1%2C%22a%22%3A%5B1%2C2%5D%7D";
constexpr const char* kUa =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36";

struct Fixture {
  // private_site: samplesite with privacy.ip truncate and a field vid from: visitor_hash (a
  // keyed hash per request). The comparison for it (private_site false) stores the same
  // field from the request's vid parameter, so both write the same record and differ only by
  // what privacy does. The parameter is in both requests.
  explicit Fixture(bool private_site = false, bool with_vid = false) {
    auto c = app::LoadConfig(std::string(OCEANUS_SOURCE_DIR) + "/examples/oceanus.yaml");
    if (!c.ok()) throw std::runtime_error(c.status().ToString());
    config = *c;
    if (with_vid) {
      config::Site& site = *std::find_if(config.sites.begin(), config.sites.end(),
                                         [](const auto& s) { return s.name == "samplesite"; });
      config::Field vid;
      vid.name = "vid";
      vid.source_name = "vid";
      if (private_site) {
        site.privacy.ip = config::IpPrivacy::kTruncate;
        vid.from = config::FieldSource::kVisitorHash;
      }
      site.schema.push_back(vid);
      target = std::string(kTarget) + "&vid=0123456789abcdef0123456789abcdef";
    }
    auto classifier = event::DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    collector = *collect::Collector::Create(config, *classifier);
    thread = std::make_unique<event::ThreadState>(*classifier);
    request.method = collect::Method::kGet;
    request.target = target;
    request.user_agent = kUa;
    IpAddress::Parse("203.0.113.7", request.peer);
  }
  app::Config config;
  std::string target = kTarget;
  std::shared_ptr<const collect::Collector> collector;
  std::unique_ptr<event::ThreadState> thread;
  collect::Request request;
  collect::Scratch scratch;
  collect::Outcome outcome;
};

void BM_CollectBeacon(benchmark::State& state) {
  Fixture f(state.range(0) == 1, state.range(0) != 2);
  for (auto _ : state) {
    f.request.now = std::chrono::system_clock::now();
    f.collector->Handle(f.request, *f.thread, f.scratch, f.outcome);
    if (!f.outcome.append) state.SkipWithError("beacon was not accepted");
    benchmark::DoNotOptimize(f.scratch.event.record.data());
  }
  state.counters["record_bytes"] = static_cast<double>(f.scratch.event.record.size());
}
// Arg 0: privacy keep with a field vid from a parameter; 1: the address truncated and vid a
// visitor hash; 2: the example as it is (for the figures before privacy existed).
BENCHMARK(BM_CollectBeacon)->Arg(0)->Arg(1)->Arg(2);

// The visitor id alone (the keyed hash of site, address and User-Agent), for the part of
// BM_CollectBeacon/1 that privacy adds, which is below that benchmark's run-to-run noise.
void BM_VisitorHash(benchmark::State& state) {
  event::Salt salt{};
  salt[0] = 1;
  std::string out;
  for (auto _ : state) {
    out.clear();
    event::AppendVisitorHash(salt, "samplesite", "203.0.113.7", kUa, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_VisitorHash);

class Ignore : public queue::AppendHandler {
 public:
  void Appended(Status) override {}
};

void BM_CollectAndSpool(benchmark::State& state) {
  Fixture f;
  const auto dir = std::filesystem::temp_directory_path() / "oceanus-bench-spool";
  std::filesystem::remove_all(dir);
  std::vector<std::string> sites;
  for (const auto& s : f.config.sites) sites.push_back(s.name);
  auto spool = std::move(queue::Spool::Open(dir.string(), sites, {"load"}, f.config.queue)).value();
  auto writer = std::move(spool->MakeWriter(0, {})).value();
  auto done = std::make_shared<Ignore>();
  for (auto _ : state) {
    f.request.now = std::chrono::system_clock::now();
    f.collector->Handle(f.request, *f.thread, f.scratch, f.outcome);
    writer->Append(f.outcome.site, f.scratch.event.record, done);
  }
  writer.reset();
  spool.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CollectAndSpool);

}  // namespace
}  // namespace oceanus
