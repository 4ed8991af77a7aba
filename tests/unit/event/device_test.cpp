#include "event/device.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace oceanus::event {
namespace {

// Loading compiles ~1,200 regexes (~0.2 s): do it once for the whole suite.
const DeviceClassifier& Classifier() {
  static const std::shared_ptr<const DeviceClassifier> classifier = [] {
    auto loaded = DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    return loaded.ok() ? *loaded : nullptr;
  }();
  if (classifier == nullptr) std::abort();
  return *classifier;
}

std::string_view Classify(std::string_view ua) { return Classifier().Classify(ua); }

// uap-core's own device test cases: {user agent, expected device family}.
std::vector<std::pair<std::string, std::string>> UapDeviceCases() {
  const std::filesystem::path path =
      std::filesystem::path(OCEANUS_UAP_REGEXES).parent_path() / "tests" / "test_device.yaml";
  std::vector<std::pair<std::string, std::string>> cases;
  if (!std::filesystem::exists(path)) return cases;
  for (const YAML::Node& c : YAML::LoadFile(path.string())["test_cases"]) {
    cases.emplace_back(c["user_agent_string"].as<std::string>(), c["family"].as<std::string>());
  }
  return cases;
}

TEST(DeviceClassifierTest, DesktopBrowsersArePc) {
  for (const char* ua : {
           // Chrome, Firefox and Edge on Windows
           "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36",
           "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
           "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
           // Safari and Chrome on macOS
           "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
           "Gecko) Version/17.1 Safari/605.1.15",
           "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
           "Gecko) Chrome/120.0.0.0 Safari/537.36",
           // Chrome and Firefox on Linux, Chrome OS
           "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36",
           "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
           "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36",
       }) {
    EXPECT_EQ(Classify(ua), "pc") << ua;
  }
}

TEST(DeviceClassifierTest, PhonesAreMobile) {
  for (const char* ua : {
           // iPhone Safari and Chrome
           "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
           "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
           "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
           "like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
           // Android Chrome phones ("Mobile Safari"), an Android WebView, Firefox for Android
           "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Mobile Safari/537.36",
           "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.6099.144 Mobile Safari/537.36",
           "Mozilla/5.0 (Linux; Android 12; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36",
           "Mozilla/5.0 (Android 13; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
           // Windows Phone 8.1 and 7.5
           "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; "
           "rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X "
           "AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537",
           "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; Trident/5.0; IEMobile/9.0; "
           "NOKIA; Lumia 800)",
           // BlackBerry, and Opera Mini on a J2ME feature phone
           "Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ (KHTML, like "
           "Gecko) Version/7.1.0.346 Mobile Safari/534.11+",
           "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) "
           "Presto/2.5.25 Version/10.54",
       }) {
    EXPECT_EQ(Classify(ua), "mobile") << ua;
  }
}

TEST(DeviceClassifierTest, TabletsAreTabletsNotMobile) {
  for (const char* ua : {
           // iPad: Safari says "Mobile/15E148" but the device family decides
           "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
           "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
           // Android tablet: Chrome without "Mobile"
           "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.0.0 Safari/537.36",
           // Kindle Fire (Silk), Kindle Fire HD even with "Mobile Safari", e-ink Kindle
           "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Silk/120.3.1 like Chrome/120.0.6099.216 Safari/537.36",
           "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 "
           "(KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true",
           "Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) AppleWebKit/531.2+ (KHTML, "
           "like Gecko) Version/5.0 Safari/533.2+ Kindle/3.0+",
           // Surface RT: OS "Windows", version "RT"
           "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; ARM; Trident/6.0; Touch)",
       }) {
    EXPECT_EQ(Classify(ua), "tablet") << ua;
  }
}

TEST(DeviceClassifierTest, CrawlersAreBots) {
  for (const char* ua : {
           "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
           // Smartphone Googlebot: a bot before it is a phone
           "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
           "like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
           "+http://www.google.com/bot.html)",
           "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
           "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
           "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
           "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
           "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
           "Twitterbot/1.0",
       }) {
    EXPECT_EQ(Classify(ua), "bot") << ua;
  }
}

// uap-core gives HTTP libraries a browser family but no "Spider" device, so user_agents (and
// the Python system) left them unclassified rather than calling them bots.
TEST(DeviceClassifierTest, HttpClientsAndGarbageAreUnknown) {
  for (const char* ua :
       {"curl/7.88.1", "Wget/1.21.3", "python-requests/2.31.0", "Go-http-client/1.1",
        "PostmanRuntime/7.36.0", "hello world", "Mozilla/5.0", "-", ""}) {
    EXPECT_EQ(Classify(ua), "") << ua;
  }
  const DeviceClassifier::Families f = Classifier().Parse("curl/7.88.1");
  EXPECT_EQ(f.browser, "curl");
  EXPECT_EQ(f.os, "Other");
  EXPECT_EQ(f.device, "Other");
}

// Answers that look wrong but are what python-user-agents 2.2.0 said; kept on purpose.
TEST(DeviceClassifierTest, KeepsUserAgentsQuirks) {
  // Firefox on an Android tablet: its "is Android tablet" rule excludes Firefox Mobile.
  EXPECT_EQ(Classify("Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0"),
            "mobile");
  // uap-core files "Java/x" under Spider.
  EXPECT_EQ(Classify("Java/17.0.2"), "bot");
  // Smart TVs and consoles are none of the four.
  EXPECT_EQ(Classify("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like "
                     "Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36"),
            "");
  EXPECT_EQ(Classify("Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, "
                     "like Gecko) Version/13.0 Safari/605.1.15"),
            "");
  // Windows ME is a PC through its OS version ("ME"), not through "Windows NT".
  const char* me =
      "Mozilla/5.0 (Windows; U; Win 9x 4.90; en-US; rv:1.8.1.8) Gecko/20071008 "
      "Firefox/2.0.0.8";
  EXPECT_EQ(Classifier().Parse(me).os_version, "ME");
  EXPECT_EQ(Classify(me), "pc");
  EXPECT_EQ(Classifier().Parse("Mozilla/5.0 (Windows NT 6.2; ARM; Trident/6.0; Touch)").os_version,
            "RT");
}

TEST(DeviceClassifierTest, SkipsFewRegexes) {
  const DeviceClassifier& c = Classifier();
  EXPECT_GT(c.total_regexes(), 1000u);
  EXPECT_LT(c.skipped_regexes() * 20, c.total_regexes());  // under 5%
}

TEST(DeviceClassifierTest, LoadReportsBadFiles) {
  auto missing = DeviceClassifier::Load("/nonexistent/regexes.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/regexes.yaml"), std::string::npos);

  const std::string dir = testing::TempDir();
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + name) << text;
    return dir + name;
  };
  auto not_yaml = DeviceClassifier::Load(write("device_bad.yaml", "user_agent_parsers: [\n"));
  ASSERT_FALSE(not_yaml.ok());
  EXPECT_EQ(not_yaml.status().code(), Status::Code::kInvalidArgument);

  auto no_devices = DeviceClassifier::Load(
      write("device_partial.yaml", "user_agent_parsers: []\nos_parsers:\n  - regex: '(Linux)'\n"));
  ASSERT_FALSE(no_devices.ok());
  EXPECT_NE(no_devices.status().message().find("device_parsers"), std::string::npos);

  auto no_regex = DeviceClassifier::Load(write(
      "device_noregex.yaml",
      "user_agent_parsers: []\nos_parsers: []\ndevice_parsers:\n  - device_replacement: x\n"));
  ASSERT_FALSE(no_regex.ok());
  EXPECT_NE(no_regex.status().message().find(":4"), std::string::npos)
      << no_regex.status().message();
}

// A regex RE2 cannot run (here a look-ahead) is counted and left out; the rest still work.
TEST(DeviceClassifierTest, SkipsRegexesRe2CannotCompile) {
  const std::string path = testing::TempDir() + "device_skip.yaml";
  std::ofstream(path) << "user_agent_parsers:\n  - regex: '(Foo)(?=/)'\n  - regex: '(Bar)/'\n"
                         "os_parsers: []\n"
                         "device_parsers:\n  - regex: 'spider'\n    regex_flag: 'i'\n"
                         "    device_replacement: 'Spider'\n";
  auto loaded = DeviceClassifier::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->total_regexes(), 3u);
  EXPECT_EQ((*loaded)->skipped_regexes(), 1u);
  EXPECT_EQ((*loaded)->Parse("Bar/1").browser, "Bar");
  EXPECT_EQ((*loaded)->Classify("MySPIDER 1.0"), "bot");  // regex_flag 'i'
}

TEST(DeviceClassifierTest, AcceptsAnyBytes) {
  const std::set<std::string_view> valid = {"pc", "mobile", "tablet", "bot", ""};
  std::vector<std::string> inputs;
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  inputs.push_back(all_bytes);
  inputs.push_back(std::string("Mozilla/5.0 (iPhone;\0 CPU iPhone OS 17_1", 40));
  inputs.push_back("\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc (iPad; \xed\xa0\x80)");
  inputs.push_back(std::string(10 * 1024, 'A'));
  inputs.push_back(std::string(10 * 1024, '('));
  std::mt19937 random(42);
  std::string noise(10 * 1024, '\0');
  for (char& ch : noise) ch = static_cast<char>(random());
  inputs.push_back(noise);
  // Junk around a real phone user agent must not hide it.
  const std::string iphone =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
  inputs.push_back(noise + iphone);
  std::string repeated;
  while (repeated.size() < 100 * 1024) repeated += iphone;
  inputs.push_back(repeated);

  for (const std::string& in : inputs) {
    EXPECT_TRUE(valid.count(Classify(in))) << in.size();
  }
  EXPECT_EQ(Classify(noise + iphone), "mobile");
  EXPECT_EQ(Classify(repeated), "mobile");
  EXPECT_EQ(Classify(std::string(10 * 1024, 'A')), "");
}

TEST(DeviceClassifierTest, UapCorpusIpadsAreTabletsAndSpidersAreBots) {
  const auto cases = UapDeviceCases();
  if (cases.empty()) GTEST_SKIP() << "uap-core tests not installed";
  int ipads = 0, spiders = 0, iphones = 0;
  for (const auto& [ua, family] : cases) {
    if (family == "iPad") {
      ++ipads;
      EXPECT_EQ(Classify(ua), "tablet") << ua;
    } else if (family == "Spider") {
      ++spiders;
      EXPECT_EQ(Classify(ua), "bot") << ua;
    } else if (family == "iPhone") {
      ++iphones;
      EXPECT_EQ(Classify(ua), "mobile") << ua;
    }
  }
  EXPECT_GE(ipads, 20);
  EXPECT_GE(spiders, 60);
  EXPECT_GE(iphones, 20);
}

// The prefilter only skips regexes that cannot match, so it must agree with trying them all.
TEST(DeviceClassifierTest, PrefilterAgreesWithFullWalk) {
  const auto cases = UapDeviceCases();
  if (cases.empty()) GTEST_SKIP() << "uap-core tests not installed";
  DeviceClassifier::Options options;
  options.use_prefilter = false;
  auto full = DeviceClassifier::Load(OCEANUS_UAP_REGEXES, options);
  ASSERT_TRUE(full.ok()) << full.status().message();
  // The class is a function of these four and the user agent, so comparing them is enough.
  for (std::size_t i = 0; i < cases.size(); i += 10) {  // ~1,600 user agents
    const std::string& ua = cases[i].first;
    const auto a = Classifier().Parse(ua);
    const auto b = (*full)->Parse(ua);
    ASSERT_EQ(a.device, b.device) << ua;
    ASSERT_EQ(a.browser, b.browser) << ua;
    ASSERT_EQ(a.os, b.os) << ua;
    ASSERT_EQ(a.os_version, b.os_version) << ua;
  }
}

TEST(DeviceCacheTest, AgreesWithUncachedThroughEvictions) {
  const auto cases = UapDeviceCases();
  if (cases.empty()) GTEST_SKIP() << "uap-core tests not installed";
  auto loaded = DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
  ASSERT_TRUE(loaded.ok());
  CachedDeviceClassifier roomy(*loaded);
  CachedDeviceClassifier tiny(*loaded, 16);  // far fewer slots than user agents: evicts a lot
  std::vector<std::string_view> uas;
  for (std::size_t i = 0; i < cases.size() && uas.size() < 400; i += 37) {
    uas.push_back(cases[i].first);
  }
  for (int round = 0; round < 3; ++round) {
    for (const std::string_view ua : uas) {
      const std::string_view want = (*loaded)->Classify(ua);
      ASSERT_EQ(roomy.Classify(ua), want) << ua;
      ASSERT_EQ(tiny.Classify(ua), want) << ua;
    }
  }
  EXPECT_EQ(roomy.Classify(""), "");
  const std::string huge = std::string(5000, 'x') + " (iPad; CPU OS 17_1 like Mac OS X)";
  EXPECT_EQ(roomy.Classify(huge), "tablet");  // too long to keep, still answered
  EXPECT_EQ(roomy.Classify(huge), "tablet");
}

TEST(DeviceCacheTest, OneSharedClassifierManyThreads) {
  auto loaded = DeviceClassifier::Load(OCEANUS_UAP_REGEXES);
  ASSERT_TRUE(loaded.ok());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36",
       "pc"},
      {"Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.1 Mobile/15E148 Safari/604.1",
       "tablet"},
      {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Mobile Safari/537.36",
       "mobile"},
      {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"},
  };
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      CachedDeviceClassifier cache(*loaded, 2);
      for (int i = 0; i < 400; ++i) {
        const auto& [ua, want] = cases[(i + t) % cases.size()];
        // Alternate cached and uncached so both paths run concurrently.
        const std::string_view got = i % 2 ? cache.Classify(ua) : (*loaded)->Classify(ua);
        if (got != want) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace oceanus::event
