// Time for oceanus: the `dt` format on the hot path, and time zones for table dates and
// reports.
//
// gcc 12's libstdc++ has no std::chrono time zones, so TimeZone reads the system's TZif files
// (/usr/share/zoneinfo) itself: the transition table, and for instants after the last
// transition the POSIX TZ rule in the file's footer ("CET-1CEST,M3.5.0,M10.5.0/3").
// Civil-date arithmetic uses the C++20 calendar types; nothing touches the TZ environment.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus {

class TimeZone {
 public:
  // "UTC", an IANA name ("Asia/Tokyo"), or a fixed offset ("+09:00", "-05:30").
  static Result<TimeZone> Load(std::string_view name);
  // The UTC offset in force at `t`.
  std::chrono::seconds OffsetAt(std::chrono::system_clock::time_point t) const;
  const std::string& name() const { return name_; }

  struct Rule;  // the POSIX TZ footer, parsed (defined in time.cpp)
  struct Data {
    std::vector<std::int64_t> transitions;  // UTC seconds, ascending
    std::vector<std::int32_t> offsets;      // offset in force from transitions[i]
    std::int32_t initial_offset = 0;        // before the first transition
    std::shared_ptr<const Rule> rule;       // after the last transition, if any
  };

 private:
  std::string name_;
  std::shared_ptr<const Data> data_;
};

// "YYYY-MM-DD HH:MM:SS.ffffff" (UTC; the original's dt), into `out` (>= 32 bytes) without
// allocating. Returns the length (26).
std::size_t FormatUtcMicros(std::chrono::system_clock::time_point t, char* out);
// Inverse of FormatUtcMicros; the fraction may have 0 to 6 digits.
Result<std::chrono::system_clock::time_point> ParseUtcMicros(std::string_view dt);
// Local time in `tz` with strftime-like %Y %m %d %H %M %S.
std::string FormatLocal(std::chrono::system_clock::time_point t, const TimeZone& tz,
                        std::string_view format = "%Y-%m-%d %H:%M:%S");
// "YYYYMMDD" of `t` in `tz`: the suffix of daily tables.
std::string LocalDateCompact(std::chrono::system_clock::time_point t, const TimeZone& tz);

}  // namespace oceanus
