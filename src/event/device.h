// Device class of a user agent: "pc", "mobile", "tablet", "bot" or "" (unknown).
//
// The Python system this replaces stored the answer of the `user_agents` library
// (is_bot / is_tablet / is_mobile / is_pc, asked in that order) over ua-parser, and reports
// built on it expect the same classes, so this reproduces both layers: the ua-parser walk over
// uap-core's regexes.yaml (browser, OS and device family), then user_agents' rules on top.
//
// DeviceClassifier is immutable after Load and safe to share between threads; the request
// path goes through a per-thread CachedDeviceClassifier, since a site's traffic repeats a few
// hundred user agents and a cache hit is a hash and a compare instead of ~10 us of regexes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::event {

class DeviceClassifier {
 public:
  struct Options {
    // Try only the regexes whose required substrings occur in the user agent (RE2's
    // FilteredRE2). Off: try every regex in file order, as ua-parser does; same answers,
    // ~10x slower, kept so tests can check the two agree.
    bool use_prefilter = true;
  };

  // Reads uap-core's regexes.yaml. NotFound when the file cannot be opened, InvalidArgument
  // when it is not YAML or lacks a section. A regex RE2 cannot compile (look-around,
  // back-references) is left out and counted in skipped_regexes(); it does not fail the load.
  static Result<std::shared_ptr<const DeviceClassifier>> Load(const std::string& regexes_path);
  static Result<std::shared_ptr<const DeviceClassifier>> Load(const std::string& regexes_path,
                                                              const Options& options);

  ~DeviceClassifier();
  DeviceClassifier(const DeviceClassifier&) = delete;
  DeviceClassifier& operator=(const DeviceClassifier&) = delete;

  // One of "pc", "mobile", "tablet", "bot", "" (a static string). Any bytes are accepted:
  // the regexes run on Latin-1, so invalid UTF-8 and NULs are only characters. Thread-safe.
  std::string_view Classify(std::string_view user_agent) const;

  // The ua-parser families, exposed for tests and diagnostics ("Other" when nothing matches).
  struct Families {
    std::string browser;
    std::string os;
    std::string os_version;  // user_agents' version_string: "10", "RT", "6.1"
    std::string device;
  };
  Families Parse(std::string_view user_agent) const;

  // Regexes left out because RE2 could not compile them, and all regexes in the file.
  std::size_t skipped_regexes() const { return skipped_; }
  std::size_t total_regexes() const { return total_; }

 private:
  class Section;  // one list of parsers (browser, OS or device); defined in device.cpp

  DeviceClassifier();

  std::unique_ptr<Section> browsers_;
  std::unique_ptr<Section> oses_;
  std::unique_ptr<Section> devices_;
  std::size_t skipped_ = 0;
  std::size_t total_ = 0;
};

// A bounded per-thread memo in front of a shared DeviceClassifier. Not thread-safe: give each
// thread its own. A hit costs one hash and one compare and never allocates; a miss classifies
// and overwrites the less recently used entry of its two-slot bucket, so memory stays bounded
// without a clear-everything moment. User agents longer than kMaxCachedLength are classified
// but not kept, so hostile 10 KB headers cannot make the cache hold megabytes.
class CachedDeviceClassifier {
 public:
  static constexpr std::size_t kMaxCachedLength = 1024;

  // `capacity` is rounded up to a power of two, at least 2.
  explicit CachedDeviceClassifier(std::shared_ptr<const DeviceClassifier> classifier,
                                  std::size_t capacity = 4096);

  std::string_view Classify(std::string_view user_agent);

 private:
  struct Entry {
    std::size_t hash = 0;
    std::string user_agent;
    std::string_view device_class;
    bool used = false;
  };

  std::shared_ptr<const DeviceClassifier> classifier_;
  std::vector<Entry> entries_;       // buckets of two adjacent entries
  std::vector<std::uint8_t> newer_;  // per bucket: which of its two entries was used last
  std::size_t bucket_mask_ = 0;      // number of buckets - 1
};

}  // namespace oceanus::event
