/* Time for oceanus: the `dt` text on the hot path, and time zones for table dates and reports.
 *
 * Two very different users share this file. The collector stamps every request with `dt`
 * ("YYYY-MM-DD HH:MM:SS.ffffff", UTC, the original's format), so FormatUtcMicros writes
 * fixed-width digits straight into the caller's buffer: no allocation, no locale, no
 * strftime. Everything else (daily table names, report and mail times) needs the local time
 * of a configured zone, and gcc 12's libstdc++ has no std::chrono::tzdb, so TimeZone reads
 * the system's compiled zone files itself.
 *
 * A TZif file (RFC 8536) is a header, a table of transition instants, for each the index of
 * a "local time type" (UTC offset, is-DST flag, abbreviation), and in version 2+ a second,
 * 64-bit copy of the same tables followed by a footer: a POSIX TZ string such as
 * "CET-1CEST,M3.5.0,M10.5.0/3" that says what happens after the last listed transition.
 * We skip the 32-bit block when a 64-bit one follows, keep only (instant, offset) pairs and
 * a parsed footer, and answer OffsetAt with a binary search; past the last transition the
 * footer rule is evaluated for the year at hand. Debian ships "fat" files (transitions listed
 * to 2037), but "slim" files (transitions only until the rule took over, ~2007 for Europe)
 * work the same way, which is why the rule is implemented rather than documented away.
 *
 * Footers of the "Jn" and "n" (Julian day) forms are used by no current zone; they are
 * refused at Load rather than guessed. Leap-second ("right/") files are not supported: their
 * transition times are not UTC. Civil-date arithmetic is the C++20 calendar throughout;
 * nothing here reads or changes the TZ environment, so it is safe from any thread.
 */
#include "util/time.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace oceanus {

using namespace std::chrono;

namespace {

// A POSIX TZ rule with "Mm.w.d[/time]" transitions (the form every zone's footer uses).
struct PosixRule {
  std::int32_t std_offset = 0;  // seconds east of UTC
  std::int32_t dst_offset = 0;
  bool has_dst = false;
  struct When {
    unsigned month = 0, week = 0, weekday = 0;  // week 5 = the last one in the month
    std::int32_t time = 7200;                   // seconds after local midnight; may be <0 or >24h
  } start, end;
};

}  // namespace

struct TimeZone::Data {
  std::vector<std::int64_t> transitions;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets;      // offset in force from transitions[i] on
  std::int32_t initial_offset = 0;        // before the first transition
  bool has_rule = false;                  // the footer applies after the last transition
  PosixRule rule;
};

namespace {

std::int64_t ReadBe(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// [+-]h[h][:mm[:ss]] or [+-]hhmm → seconds, consuming what it reads; false if malformed.
bool ParseHms(std::string_view& s, std::int32_t& out) {
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  auto digits = [&](std::size_t max, std::int32_t& v) {
    std::size_t n = 0;
    v = 0;
    while (n < s.size() && n < max && std::isdigit(static_cast<unsigned char>(s[n]))) {
      v = v * 10 + (s[n] - '0');
      ++n;
    }
    s.remove_prefix(n);
    return n > 0;
  };
  std::int32_t h = 0, m = 0, sec = 0;
  if (s.size() >= 4 &&
      std::all_of(s.begin(), s.begin() + 4,
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
      (s.size() == 4 || !std::isdigit(static_cast<unsigned char>(s[4])))) {
    // "+0900": hours and minutes without a colon.
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[2] - '0') * 10 + (s[3] - '0');
    s.remove_prefix(4);
  } else {
    if (!digits(3, h)) return false;  // POSIX allows up to 167 hours in rule times
    if (!s.empty() && s[0] == ':') {
      s.remove_prefix(1);
      if (!digits(2, m)) return false;
      if (!s.empty() && s[0] == ':') {
        s.remove_prefix(1);
        if (!digits(2, sec)) return false;
      }
    }
  }
  if (m > 59 || sec > 59) return false;
  out = sign * (h * 3600 + m * 60 + sec);
  return true;
}

bool SkipAbbreviation(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    const auto close = s.find('>');
    if (close == std::string_view::npos) return false;
    s.remove_prefix(close + 1);
    return true;
  }
  std::size_t n = 0;
  while (n < s.size() && std::isalpha(static_cast<unsigned char>(s[n]))) ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}

bool ParseWhen(std::string_view& s, PosixRule::When& w) {
  auto number = [&](unsigned& v) {
    std::size_t n = 0;
    v = 0;
    while (n < s.size() && n < 2 && std::isdigit(static_cast<unsigned char>(s[n])))
      v = v * 10 + static_cast<unsigned>(s[n++] - '0');
    s.remove_prefix(n);
    return n > 0;
  };
  auto dot = [&] {
    if (s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    return true;
  };
  if (s.empty() || s[0] != 'M') return false;
  s.remove_prefix(1);
  if (!number(w.month) || !dot() || !number(w.week) || !dot() || !number(w.weekday)) return false;
  if (w.month < 1 || w.month > 12 || w.week < 1 || w.week > 5 || w.weekday > 6) return false;
  w.time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!ParseHms(s, w.time)) return false;
  }
  return true;
}

// "JST-9", "CET-1CEST,M3.5.0,M10.5.0/3", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1". POSIX offsets
// are west of UTC, hence the sign flips.
bool ParsePosixTz(std::string_view s, PosixRule& rule) {
  if (!SkipAbbreviation(s)) return false;
  std::int32_t west = 0;
  if (!ParseHms(s, west)) return false;
  rule.std_offset = -west;
  if (s.empty()) return true;
  if (!SkipAbbreviation(s)) return false;
  rule.has_dst = true;
  rule.dst_offset = rule.std_offset + 3600;
  if (!s.empty() && s[0] != ',') {
    if (!ParseHms(s, west)) return false;
    rule.dst_offset = -west;
  }
  if (s.empty() || s[0] != ',') return false;
  s.remove_prefix(1);
  if (!ParseWhen(s, rule.start)) return false;
  if (s.empty() || s[0] != ',') return false;
  s.remove_prefix(1);
  return ParseWhen(s, rule.end) && s.empty();
}

// The rule's day in year `y` ("the last Sunday of March"), as days since the epoch.
sys_days RuleDay(int y, const PosixRule::When& w) {
  const year yy{y};
  const month mm{w.month};
  const weekday wd{w.weekday};
  if (w.week == 5) return sys_days{year_month_weekday_last{yy, mm, weekday_last{wd}}};
  return sys_days{year_month_weekday{yy, mm, weekday_indexed{wd, w.week}}};
}

// The offset the footer rule gives at UTC second `t`. The start of DST is written in local
// standard time and the end in local daylight time (POSIX), so each is converted to UTC with
// the offset in force just before it. Southern-hemisphere rules (start after end in the
// calendar year) are DST outside [end, start) instead of inside [start, end).
std::int32_t RuleOffset(const PosixRule& r, std::int64_t t) {
  if (!r.has_dst) return r.std_offset;
  const int y =
      static_cast<int>(year_month_day{floor<days>(sys_seconds{seconds{t + r.std_offset}})}.year());
  auto instant = [&](const PosixRule::When& w, std::int32_t offset) {
    return sys_seconds{RuleDay(y, w)}.time_since_epoch().count() + w.time - offset;
  };
  const std::int64_t start = instant(r.start, r.std_offset);
  const std::int64_t end = instant(r.end, r.dst_offset);
  const bool in_dst = start < end ? (t >= start && t < end) : (t >= start || t < end);
  return in_dst ? r.dst_offset : r.std_offset;
}

Result<std::shared_ptr<const TimeZone::Data>> ParseTzif(const std::string& bytes,
                                                        const std::string& name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("time zone '" + name + "': " + why);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 44 || std::memcmp(p, "TZif", 4) != 0) return bad("not a TZif file");
  // Header: magic, version, 15 reserved bytes, then six 32-bit counts.
  std::int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  auto counts = [&](std::size_t at) {
    for (int i = 0; i < 6; ++i) c[i] = ReadBe(p + at + 20 + 4 * i, 4);
    return std::all_of(c, c + 6, [](std::int64_t v) { return v >= 0 && v < (1 << 20); });
  };
  if (!counts(0)) return bad("bad header");
  std::size_t at = 44;
  int time_bytes = 4;
  if (p[4] >= '2') {
    at += static_cast<std::size_t>(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (bytes.size() < at + 44 || std::memcmp(p + at, "TZif", 4) != 0) return bad("truncated");
    if (!counts(at)) return bad("bad header");
    at += 44;
    time_bytes = 8;
  }
  const auto need = static_cast<std::size_t>(c[3] * (time_bytes + 1) + c[4] * 6 + c[5] +
                                             c[2] * (time_bytes + 4) + c[1] + c[0]);
  if (c[4] < 1 || bytes.size() < at + need) return bad("truncated");
  auto data = std::make_shared<TimeZone::Data>();
  const unsigned char* times = p + at;
  const unsigned char* type_index = times + c[3] * time_bytes;
  const unsigned char* types = type_index + c[3];  // 6 bytes each: utoff, isdst, abbrind
  auto type_offset = [&](std::size_t i) {
    return static_cast<std::int32_t>(ReadBe(types + 6 * i, 4));
  };
  for (std::int64_t i = 0; i < c[3]; ++i) {
    const std::size_t t = type_index[i];
    if (t >= static_cast<std::size_t>(c[4])) return bad("bad type index");
    data->transitions.push_back(ReadBe(times + i * time_bytes, time_bytes));
    data->offsets.push_back(type_offset(t));
  }
  if (!std::is_sorted(data->transitions.begin(), data->transitions.end()))
    return bad("transitions out of order");
  // Before the first transition: the first standard-time type (what zic writes and glibc
  // reads), type 0 when all are DST.
  data->initial_offset = type_offset(0);
  for (std::int64_t i = 0; i < c[4]; ++i) {
    if (types[6 * i + 4] == 0) {
      data->initial_offset = type_offset(static_cast<std::size_t>(i));
      break;
    }
  }
  if (time_bytes == 8) {
    const std::size_t footer = at + need;
    if (footer < bytes.size() && bytes[footer] == '\n') {
      const auto close = bytes.find('\n', footer + 1);
      if (close == std::string::npos) return bad("unterminated footer");
      const std::string tz = bytes.substr(footer + 1, close - footer - 1);
      if (!tz.empty()) {
        if (!ParsePosixTz(tz, data->rule)) return bad("unsupported POSIX TZ rule '" + tz + "'");
        data->has_rule = true;
      }
    }
  }
  return std::shared_ptr<const TimeZone::Data>(std::move(data));
}

bool IsZoneName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name[0] == '/' || name[0] == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
           c == '+' || c == '.';
  });
}

void Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

Result<TimeZone> TimeZone::Load(std::string_view name) {
  TimeZone tz;
  tz.name_ = std::string(name);
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return tz;
  if (!name.empty() && (name[0] == '+' || name[0] == '-')) {
    std::string_view s = name;
    std::int32_t offset = 0;
    if (!ParseHms(s, offset) || !s.empty() || offset < -14 * 3600 || offset > 14 * 3600) {
      return Status::InvalidArgument("time zone '" + tz.name_ +
                                     "': expected an offset such as +09:00 or -05:30");
    }
    auto data = std::make_shared<Data>();
    data->initial_offset = offset;
    tz.data_ = std::move(data);
    return tz;
  }
  const auto unknown = [&](const std::string& why) {
    return Status::InvalidArgument("unknown time zone '" + tz.name_ + "'" + why +
                                   " (use an IANA name such as Asia/Tokyo, or an offset such "
                                   "as +09:00)");
  };
  if (!IsZoneName(name)) return unknown("");
  const std::string path = "/usr/share/zoneinfo/" + tz.name_;
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  if (in) bytes << in.rdbuf();
  if (!in || bytes.str().empty()) return unknown("");  // missing, or a directory
  auto parsed = ParseTzif(bytes.str(), tz.name_);
  if (!parsed.ok()) return parsed.status();
  tz.data_ = std::move(parsed).value();
  return tz;
}

seconds TimeZone::OffsetAt(system_clock::time_point t) const {
  if (!data_) return seconds(0);
  const std::int64_t s = floor<seconds>(t).time_since_epoch().count();
  const Data& d = *data_;
  if (d.transitions.empty()) {
    return seconds(d.has_rule ? RuleOffset(d.rule, s) : d.initial_offset);
  }
  if (s < d.transitions.front()) return seconds(d.initial_offset);
  if (s >= d.transitions.back() && d.has_rule) return seconds(RuleOffset(d.rule, s));
  const auto it = std::upper_bound(d.transitions.begin(), d.transitions.end(), s);
  return seconds(d.offsets[static_cast<std::size_t>(it - d.transitions.begin()) - 1]);
}

std::size_t FormatUtcMicros(system_clock::time_point t, char* out) {
  const auto us = floor<microseconds>(t);
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss hms{us - day};
  const int y = std::clamp(static_cast<int>(ymd.year()), 0, 9999);
  out[0] = static_cast<char>('0' + y / 1000);
  out[1] = static_cast<char>('0' + y / 100 % 10);
  out[2] = static_cast<char>('0' + y / 10 % 10);
  out[3] = static_cast<char>('0' + y % 10);
  out[4] = '-';
  Put2(out + 5, static_cast<unsigned>(ymd.month()));
  out[7] = '-';
  Put2(out + 8, static_cast<unsigned>(ymd.day()));
  out[10] = ' ';
  Put2(out + 11, static_cast<unsigned>(hms.hours().count()));
  out[13] = ':';
  Put2(out + 14, static_cast<unsigned>(hms.minutes().count()));
  out[16] = ':';
  Put2(out + 17, static_cast<unsigned>(hms.seconds().count()));
  out[19] = '.';
  auto frac = static_cast<unsigned>(hms.subseconds().count());
  for (int i = 25; i >= 20; --i) {
    out[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  return kUtcMicrosLength;
}

bool IsTimestampText(std::string_view v) {
  const auto digits = [&](std::size_t at, std::size_t n) {
    if (at + n > v.size()) return false;
    for (std::size_t i = at; i < at + n; ++i)
      if (v[i] < '0' || v[i] > '9') return false;
    return true;
  };
  const auto is = [&](std::size_t at, char c) { return at < v.size() && v[at] == c; };
  if (!digits(0, 4) || !is(4, '-') || !digits(5, 2) || !is(7, '-') || !digits(8, 2) ||
      !(is(10, ' ') || is(10, 'T')) || !digits(11, 2) || !is(13, ':') || !digits(14, 2) ||
      !is(16, ':') || !digits(17, 2))
    return false;
  std::size_t at = 19;
  if (is(at, '.')) {
    std::size_t n = 0;
    while (n < 6 && digits(at + 1 + n, 1)) ++n;
    if (n == 0) return false;
    at += 1 + n;
  }
  if (at == v.size()) return true;
  if (is(at, 'Z')) return at + 1 == v.size();
  if (!(is(at, '+') || is(at, '-')) || !digits(at + 1, 2)) return false;
  at += 3;
  if (is(at, ':')) ++at;
  return digits(at, 2) && at + 2 == v.size();
}

Result<system_clock::time_point> ParseUtcMicros(std::string_view dt) {
  auto bad = [&] {
    return Status::InvalidArgument("not a dt 'YYYY-MM-DD HH:MM:SS[.ffffff]': '" +
                                   std::string(dt.substr(0, 40)) + "'");
  };
  if (dt.size() < 19 || dt.size() > kUtcMicrosLength) return bad();
  auto num = [&](std::size_t at, std::size_t n, int& v) {
    v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (dt[i] < '0' || dt[i] > '9') return false;
      v = v * 10 + (dt[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  if (!num(0, 4, y) || dt[4] != '-' || !num(5, 2, mo) || dt[7] != '-' || !num(8, 2, d) ||
      (dt[10] != ' ' && dt[10] != 'T') || !num(11, 2, h) || dt[13] != ':' || !num(14, 2, mi) ||
      dt[16] != ':' || !num(17, 2, s)) {
    return bad();
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return bad();
  int micros = 0;
  if (dt.size() > 19) {
    const std::size_t digits = dt.size() - 20;
    if (dt[19] != '.' || digits == 0 || !num(20, digits, micros)) return bad();
    for (std::size_t i = digits; i < 6; ++i) micros *= 10;
  }
  return system_clock::time_point(sys_days{ymd} + hours(h) + minutes(mi) + seconds(s) +
                                  microseconds(micros));
}

std::string FormatLocal(system_clock::time_point t, const TimeZone& tz, std::string_view format) {
  const seconds offset = tz.OffsetAt(t);
  const auto local = floor<seconds>(t) + offset;  // a sys_seconds holding local wall time
  const auto day = floor<days>(local);
  const year_month_day ymd{day};
  const hh_mm_ss hms{local - day};
  std::string out;
  out.reserve(format.size() + 16);
  char buf[16];
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    int n = 0;
    switch (format[++i]) {
      case 'Y':
        n = std::snprintf(buf, sizeof buf, "%04d", static_cast<int>(ymd.year()));
        break;
      case 'm':
        n = std::snprintf(buf, sizeof buf, "%02u", static_cast<unsigned>(ymd.month()));
        break;
      case 'd':
        n = std::snprintf(buf, sizeof buf, "%02u", static_cast<unsigned>(ymd.day()));
        break;
      case 'H':
        n = std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(hms.hours().count()));
        break;
      case 'M':
        n = std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(hms.minutes().count()));
        break;
      case 'S':
        n = std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(hms.seconds().count()));
        break;
      case 'z': {
        const auto abs = offset < seconds(0) ? -offset.count() : offset.count();
        n = std::snprintf(buf, sizeof buf, "%c%02d%02d", offset < seconds(0) ? '-' : '+',
                          static_cast<int>(abs / 3600), static_cast<int>(abs / 60 % 60));
        break;
      }
      case '%':
        n = std::snprintf(buf, sizeof buf, "%%");
        break;
      default:
        n = std::snprintf(buf, sizeof buf, "%%%c", format[i]);
        break;
    }
    out.append(buf, static_cast<std::size_t>(std::max(n, 0)));
  }
  return out;
}

std::string LocalDateCompact(system_clock::time_point t, const TimeZone& tz) {
  const year_month_day ymd{floor<days>(floor<seconds>(t) + tz.OffsetAt(t))};
  char buf[8];
  const int y = std::clamp(static_cast<int>(ymd.year()), 0, 9999);
  buf[0] = static_cast<char>('0' + y / 1000);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  Put2(buf + 4, static_cast<unsigned>(ymd.month()));
  Put2(buf + 6, static_cast<unsigned>(ymd.day()));
  return std::string(buf, sizeof buf);
}

Result<milliseconds> ParseDuration(std::string_view text, milliseconds max) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0)
    return Status::InvalidArgument("expected a duration such as 500ms, 1s or 2m, got '" +
                                   std::string(text) + "'");
  const std::string_view unit = text.substr(digits);
  std::int64_t per_unit = 0;  // milliseconds
  if (unit == "ms") {
    per_unit = 1;
  } else if (unit == "s") {
    per_unit = 1'000;
  } else if (unit == "m") {
    per_unit = 60'000;
  } else if (unit == "h") {
    per_unit = 3'600'000;
  } else if (unit == "d") {
    per_unit = 86'400'000;
  } else {
    return Status::InvalidArgument("duration '" + std::string(text) +
                                   "' needs a unit: ms, s, m, h or d");
  }
  const std::string too_long =
      "duration '" + std::string(text) + "' is longer than the maximum " + FormatDuration(max);
  std::int64_t n = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    n = n * 10 + (text[i] - '0');
    // Stop before n * per_unit could leave int64: anything past `max` is refused anyway.
    if (n > max.count() / per_unit + 1) return Status::InvalidArgument(too_long);
  }
  if (n * per_unit > max.count()) return Status::InvalidArgument(too_long);
  return milliseconds(n * per_unit);
}

std::string FormatDuration(milliseconds d) {
  const std::int64_t ms = d.count();
  static constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  if (ms != 0)
    for (const auto& [size, name] : kUnits)
      if (ms % size == 0) return std::to_string(ms / size) + name;
  return std::to_string(ms) + "ms";
}

}  // namespace oceanus
