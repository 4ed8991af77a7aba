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
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace oceanus {

class TimeZone {
 public:
  // UTC. Copies are cheap (the parsed file is shared).
  TimeZone() = default;

  // "UTC", an IANA name ("Asia/Tokyo", read from /usr/share/zoneinfo), or a fixed offset
  // ("+09:00", "-05:30", "+0900"). An unknown name is an InvalidArgument that says so.
  static Result<TimeZone> Load(std::string_view name);
  // The UTC offset in force at `t` (local = UTC + offset).
  std::chrono::seconds OffsetAt(std::chrono::system_clock::time_point t) const;
  const std::string& name() const { return name_; }

  struct Data;  // transitions and footer rule (time.cpp)

 private:
  std::string name_ = "UTC";
  std::shared_ptr<const Data> data_;  // null: UTC
};

// "YYYY-MM-DD HH:MM:SS.ffffff" (UTC; the original's dt), written into `out`, which must hold
// at least 26 bytes; no terminating NUL is written and nothing is allocated. Returns 26.
// Years outside 0000..9999 are clamped (they cannot be spelled in four digits).
// Microseconds since the Unix epoch: how times are stored in the rejected-events store and
// the admin API.
inline std::int64_t MicrosSinceEpoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
std::size_t FormatUtcMicros(std::chrono::system_clock::time_point t, char* out);
inline constexpr std::size_t kUtcMicrosLength = 26;
// Inverse of FormatUtcMicros. Also accepts 'T' for the space and a fraction of 0 to 6 digits
// (or none); anything else is an InvalidArgument.
Result<std::chrono::system_clock::time_point> ParseUtcMicros(std::string_view dt);
// Whether `v` is spelled as a timestamp field's value must be:
// YYYY-MM-DD[ T]HH:MM:SS[.f…f (1 to 6 digits)][Z | ±HH[:]MM], digits checked as digits only
// (ParseUtcMicros checks the calendar). What the regex
// \d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})? matches whole, by hand:
// an RE2 match per timestamp field was 5 % of the CPU of a Segment batch.
bool IsTimestampText(std::string_view v);
// Local time in `tz`. Understands %Y %m %d %H %M %S %z (+hhmm) and %%; any other %x is copied
// as written. Not for the hot path (it allocates).
std::string FormatLocal(std::chrono::system_clock::time_point t, const TimeZone& tz,
                        std::string_view format = "%Y-%m-%d %H:%M:%S");
// "YYYYMMDD" of `t` in `tz`: the suffix of daily tables.
std::string LocalDateCompact(std::chrono::system_clock::time_point t, const TimeZone& tz);

// The longest duration a config may give (365 days): far beyond any timeout, delay or window
// oceanus uses, and small enough that now + it fits every clock's time_point.
inline constexpr std::chrono::milliseconds kMaxConfigDuration = std::chrono::hours(24 * 365);

// "500ms", "1s", "2m", "1h", "7d": digits and a unit. Checked for overflow; a value above
// `max` is an InvalidArgument that names the maximum (never a wrapped or clamped value).
Result<std::chrono::milliseconds> ParseDuration(std::string_view text,
                                                std::chrono::milliseconds max = kMaxConfigDuration);
// The shortest exact spelling in ParseDuration's syntax: "365d", "90s", "1500ms".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace oceanus
