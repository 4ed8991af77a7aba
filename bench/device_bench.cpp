// Device classification cost: the regex path a cache miss pays, and a per-thread cache hit.
//
// The uncached benchmark cycles through five common user agents, so RE2's lazily built DFAs
// are warm after the first iterations: it measures a miss on familiar-looking traffic, not the
// first sighting of an exotic user agent (which costs a few times more while DFA states are
// built).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "event/device.h"

namespace {

using oceanus::event::CachedDeviceClassifier;
using oceanus::event::DeviceClassifier;

constexpr std::array<std::string_view, 5> kUserAgents = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
};

const std::shared_ptr<const DeviceClassifier>& Classifier() {
  static const std::shared_ptr<const DeviceClassifier> classifier = [] {
    auto loaded = DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    if (!loaded.ok()) {
      std::cerr << loaded.status().message() << "\n";
      std::abort();
    }
    return *loaded;
  }();
  return classifier;
}

void BM_DeviceClassifyUncached(benchmark::State& state) {
  const DeviceClassifier& classifier = *Classifier();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(classifier.Classify(kUserAgents[i++ % kUserAgents.size()]));
  }
}
BENCHMARK(BM_DeviceClassifyUncached);

void BM_DeviceClassifyCachedHit(benchmark::State& state) {
  CachedDeviceClassifier cache(Classifier());
  for (const std::string_view ua : kUserAgents) cache.Classify(ua);  // fill
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.Classify(kUserAgents[i++ % kUserAgents.size()]));
  }
}
BENCHMARK(BM_DeviceClassifyCachedHit);

}  // namespace
