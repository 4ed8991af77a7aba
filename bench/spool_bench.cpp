// The local spool on its own: what one I/O thread pays to append a typical event (~400 bytes of
// compact JSON) with durability os and with fsync group commit, and how fast the loader's
// reader gets records back out. Files go to a fresh directory under the system temp dir, which
// should be the same kind of disk the data dir is on for the numbers to mean anything.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "app/config.h"
#include "queue/spool/spool.h"
#include "util/thread_pool.h"

namespace oceanus {
namespace {

namespace fs = std::filesystem;

// A pageview beacon as the collector writes it: compact JSON, keys sorted, ~400 bytes.
std::string Record() {
  std::string r =
      "{\"dev\":\"pc\",\"dt\":\"2024-05-01 12:34:56.789012\","
      "\"eid\":\"018f3a5c-7b2e-7c41-9d3e-5a6b7c8d9e0f\",\"evt\":\"pageview\","
      "\"jsn\":\"{\\\"a\\\":[1,2],\\\"b\\\":1}\",\"oid\":\"2\",\"rad\":\"203.0.113.7\","
      "\"ref\":\"https://www.google.com/\",\"scr\":\"1920x1080\","
      "\"sid\":\"0123456789abcdef\",\"tit\":\"Product 42\","
      "\"uag\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) Chrome/120.0.0.0 Safari/537.36\",\"url\":\"https://example.jp/products/42\",";
  r += "\"vie\":\"1280x720\"}";
  return r;
}

class ScratchDir {
 public:
  explicit ScratchDir(const char* name) : path_(fs::temp_directory_path() / name) {
    fs::remove_all(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::unique_ptr<queue::Spool> OpenSpool(const ScratchDir& dir, queue::Durability durability) {
  queue::QueueConfig cfg;
  cfg.durability = durability;
  auto spool = queue::Spool::Open(dir.str(), {"page"}, {"load"}, cfg);
  if (!spool.ok()) return nullptr;
  return std::move(spool).value();
}

class Count : public queue::AppendHandler {
 public:
  void Appended(Status s) override { s.ok() ? ++ok : ++failed; }
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
};

void BM_SpoolAppendOs(benchmark::State& state) {
  ScratchDir dir("oceanus-bench-spool-append");
  auto spool = OpenSpool(dir, queue::Durability::kOs);
  if (!spool) return state.SkipWithError("cannot open the spool");
  auto writer = std::move(spool->MakeWriter(0, {})).value();
  auto done = std::make_shared<Count>();
  const std::string record = Record();
  for (auto _ : state) writer->Append(0, record, done);
  if (done->failed > 0) state.SkipWithError("an append failed");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(record.size()));
  state.counters["record_bytes"] = static_cast<double>(record.size());
}
BENCHMARK(BM_SpoolAppendOs);

// Appends never wait for the disk: one background thread runs fdatasync while the benchmark
// thread, playing the I/O thread, keeps appending and runs the posted completions between
// appends. Reports how many appends each sync covered.
void BM_SpoolAppendFsyncGroupCommit(benchmark::State& state) {
  ScratchDir dir("oceanus-bench-spool-fsync");
  auto spool = OpenSpool(dir, queue::Durability::kFsync);
  if (!spool) return state.SkipWithError("cannot open the spool");
  ThreadPool pool(1);
  std::mutex mu;
  std::vector<std::function<void()>> posted;
  std::vector<std::function<void()>> running;
  std::uint64_t syncs = 0;
  queue::Spool::Executors ex;
  ex.run_blocking = [&](std::function<void()> job) { pool.Submit(std::move(job)); };
  ex.post_back = [&](std::function<void()> job) {
    std::lock_guard lock(mu);
    posted.push_back(std::move(job));
  };
  auto run_posted = [&] {
    {
      std::lock_guard lock(mu);
      running.swap(posted);
    }
    for (auto& job : running) job();
    syncs += running.size();
    running.clear();
  };
  auto writer = std::move(spool->MakeWriter(0, ex)).value();
  auto done = std::make_shared<Count>();
  const std::string record = Record();
  for (auto _ : state) {
    writer->Append(0, record, done);
    run_posted();
  }
  while (done->ok + done->failed < static_cast<std::uint64_t>(state.iterations())) run_posted();
  if (done->failed > 0) state.SkipWithError("an append failed");
  state.SetItemsProcessed(state.iterations());
  state.counters["appends_per_sync"] =
      syncs ? static_cast<double>(state.iterations()) / static_cast<double>(syncs) : 0;
  writer.reset();
  pool.Join();
}
BENCHMARK(BM_SpoolAppendFsyncGroupCommit)->UseRealTime();

// Reads batches as the loader does (500 entries / 4 MiB, no wait) from 100,000 records
// across several segments; starts over with a fresh reader when they run out (nothing is
// acknowledged, so a new reader begins at the start again).
void BM_SpoolRead(benchmark::State& state) {
  ScratchDir dir("oceanus-bench-spool-read");
  queue::QueueConfig cfg;
  cfg.segment_bytes = 8 << 20;
  auto opened = queue::Spool::Open(dir.str(), {"page"}, {"load"}, cfg);
  if (!opened.ok()) return state.SkipWithError("cannot open the spool");
  auto spool = std::move(opened).value();
  const std::string record = Record();
  {
    auto writer = std::move(spool->MakeWriter(0, {})).value();
    auto done = std::make_shared<Count>();
    for (int i = 0; i < 100'000; ++i) writer->Append(0, record, done);
  }
  auto reader = std::move(spool->OpenReader(0, "load")).value();
  std::int64_t entries = 0;
  for (auto _ : state) {
    auto got = reader->Read(500, 4 << 20, std::chrono::milliseconds(0));
    if (!got.ok()) return state.SkipWithError("read failed");
    if (got->empty()) {
      state.PauseTiming();
      reader.reset();  // one reader per (site, group) at a time
      reader = std::move(spool->OpenReader(0, "load")).value();
      state.ResumeTiming();
    }
    entries += static_cast<std::int64_t>(got->size());
  }
  state.SetItemsProcessed(entries);
  state.SetBytesProcessed(entries * static_cast<std::int64_t>(record.size()));
}
BENCHMARK(BM_SpoolRead);

}  // namespace
}  // namespace oceanus
