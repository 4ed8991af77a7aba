// TimeZone from TZif files and the dt format; see time.h for why this exists.
#include "util/time.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace oceanus {

using namespace std::chrono;

// A POSIX TZ rule with "Mm.w.d[/time]" transitions (what every TZif footer in use has).
struct TimeZone::Rule {
  std::int32_t std_offset = 0;  // seconds east of UTC
  std::int32_t dst_offset = 0;
  bool has_dst = false;
  struct When {
    unsigned month = 0, week = 0, weekday = 0;
    std::int32_t time = 7200;  // seconds after local midnight
  } start, end;
};

namespace {

std::int64_t ReadBe(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// [+-]hh[:mm[:ss]] → seconds; false if malformed.
bool ParseHms(std::string_view& s, std::int32_t& out) {
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  std::int32_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return i > 0;
    std::int32_t v = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      v = v * 10 + (s[0] - '0');
      s.remove_prefix(1);
    }
    parts[i] = v;
    out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    if (s.empty() || s[0] != ':') return true;
    s.remove_prefix(1);
  }
  return true;
}

bool SkipName(std::string_view& s) {
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

bool ParseWhen(std::string_view& s, TimeZone::Rule::When& w) {
  unsigned m = 0, wk = 0, d = 0;
  int consumed = 0;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "M%u.%u.%u%n", &m, &wk, &d, &consumed) != 3) return false;
  if (m < 1 || m > 12 || wk < 1 || wk > 5 || d > 6) return false;
  s.remove_prefix(static_cast<std::size_t>(consumed));
  w.month = m;
  w.week = wk;
  w.weekday = d;
  w.time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!ParseHms(s, w.time)) return false;
  }
  return true;
}

// Parses e.g. "JST-9", "CET-1CEST,M3.5.0,M10.5.0/3". Rules of other forms (Jn, n) are not
// in use by any current zone's footer; they are refused rather than guessed.
bool ParsePosixTz(std::string_view s, TimeZone::Rule& rule) {
  if (!SkipName(s)) return false;
  std::int32_t west = 0;
  if (!ParseHms(s, west)) return false;
  rule.std_offset = -west;
  if (s.empty()) return true;
  if (!SkipName(s)) return false;
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

// Local midnight of the rule's day in `y`, as seconds since the epoch (in local terms).
std::int64_t RuleDay(int y, const TimeZone::Rule::When& w) {
  const year_month ym{year{y}, month{w.month}};
  sys_days day;
  if (w.week == 5) {
    day =
        sys_days{year_month_weekday_last{ym.year(), ym.month(), weekday_last{weekday{w.weekday}}}};
  } else {
    day = sys_days{
        year_month_weekday{ym.year(), ym.month(), weekday_indexed{weekday{w.weekday}, w.week}}};
  }
  return duration_cast<seconds>(day.time_since_epoch()).count();
}

std::int32_t RuleOffset(const TimeZone::Rule& r, std::int64_t t) {
  if (!r.has_dst) return r.std_offset;
  const int y =
      static_cast<int>(year_month_day{floor<days>(sys_seconds{seconds{t + r.std_offset}})}.year());
  // Start is given in local standard time, end in local daylight time.
  const std::int64_t start = RuleDay(y, r.start) + r.start.time - r.std_offset;
  const std::int64_t end = RuleDay(y, r.end) + r.end.time - r.dst_offset;
  const bool in_dst = start < end ? (t >= start && t < end) : (t >= start || t < end);
  return in_dst ? r.dst_offset : r.std_offset;
}

Result<std::shared_ptr<const TimeZone::Data>> ParseTzif(const std::string& bytes,
                                                        const std::string& name) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("time zone " + name + ": " + why);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 44 || std::memcmp(p, "TZif", 4) != 0) return bad("not a TZif file");
  auto counts = [&](std::size_t at, std::int64_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = ReadBe(p + at + 20 + 4 * i, 4);
  };
  std::int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  std::size_t at = 44;
  int time_bytes = 4;
  if (p[4] >= '2') {
    // Skip the v1 block; use the 64-bit one that follows.
    at += static_cast<std::size_t>(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (bytes.size() < at + 44) return bad("truncated");
    counts(at, c);
    at += 44;
    time_bytes = 8;
  }
  const std::size_t need = static_cast<std::size_t>(c[3] * (time_bytes + 1) + c[4] * 6 + c[5] +
                                                    c[2] * (time_bytes + 4) + c[1] + c[0]);
  if (c[4] < 1 || bytes.size() < at + need) return bad("truncated");
  auto data = std::make_shared<TimeZone::Data>();
  const unsigned char* times = p + at;
  const unsigned char* idx = times + c[3] * time_bytes;
  const unsigned char* types = idx + c[3];
  auto type_offset = [&](std::size_t i) {
    return static_cast<std::int32_t>(ReadBe(types + 6 * i, 4));
  };
  for (std::int64_t i = 0; i < c[3]; ++i) {
    data->transitions.push_back(ReadBe(times + i * time_bytes, time_bytes));
    const std::size_t t = idx[i];
    if (t >= static_cast<std::size_t>(c[4])) return bad("bad type index");
    data->offsets.push_back(type_offset(t));
  }
  data->initial_offset = type_offset(0);
  for (std::int64_t i = 0; i < c[4]; ++i) {
    if (types[6 * i + 4] == 0) {  // the first standard-time type
      data->initial_offset = type_offset(static_cast<std::size_t>(i));
      break;
    }
  }
  if (time_bytes == 8) {
    const std::size_t footer = at + need;
    if (footer < bytes.size() && bytes[footer] == '\n') {
      const auto close = bytes.find('\n', footer + 1);
      const std::string tz = bytes.substr(
          footer + 1, close == std::string::npos ? std::string::npos : close - footer - 1);
      auto rule = std::make_shared<TimeZone::Rule>();
      if (!tz.empty()) {
        if (!ParsePosixTz(tz, *rule))
          return bad(("unsupported POSIX TZ rule '" + tz + "'").c_str());
        data->rule = rule;
      }
    }
  }
  return std::shared_ptr<const TimeZone::Data>(std::move(data));
}

void Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

Result<TimeZone> TimeZone::Load(std::string_view name) {
  TimeZone tz;
  tz.name_ = std::string(name);
  auto data = std::make_shared<Data>();
  if (name == "UTC" || name == "Z" || name == "Etc/UTC") {
    tz.data_ = data;
    return tz;
  }
  if (!name.empty() && (name[0] == '+' || name[0] == '-')) {
    std::string_view s = name;
    std::int32_t offset = 0;
    if (!ParseHms(s, offset) || !s.empty() || offset < -14 * 3600 || offset > 14 * 3600)
      return Status::InvalidArgument("time zone '" + tz.name_ +
                                     "': expected an offset such as +09:00");
    data->initial_offset = offset;
    tz.data_ = data;
    return tz;
  }
  if (name.empty() || name.find("..") != std::string_view::npos || name[0] == '/')
    return Status::InvalidArgument("time zone '" + tz.name_ + "' is not a zone name");
  const std::string path = "/usr/share/zoneinfo/" + tz.name_;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(
        "unknown time zone '" + tz.name_ +
        "' (use an IANA name such as Asia/Tokyo, or an offset such as +09:00)");
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto parsed = ParseTzif(bytes.str(), tz.name_);
  if (!parsed.ok()) return parsed.status();
  tz.data_ = *parsed;
  return tz;
}

seconds TimeZone::OffsetAt(system_clock::time_point t) const {
  const std::int64_t s =
      duration_cast<seconds>(t.time_since_epoch()).count() -
      (t.time_since_epoch() < system_clock::duration::zero() &&
               t.time_since_epoch() % seconds(1) != system_clock::duration::zero()
           ? 1
           : 0);
  const Data& d = *data_;
  if (d.transitions.empty() || s < d.transitions.front()) {
    if (d.transitions.empty() && d.rule) return seconds(RuleOffset(*d.rule, s));
    return seconds(d.initial_offset);
  }
  if (s >= d.transitions.back() && d.rule) return seconds(RuleOffset(*d.rule, s));
  const auto it = std::upper_bound(d.transitions.begin(), d.transitions.end(), s);
  return seconds(d.offsets[static_cast<std::size_t>(it - d.transitions.begin()) - 1]);
}

std::size_t FormatUtcMicros(system_clock::time_point t, char* out) {
  const auto us = floor<microseconds>(t);
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss hms{us - day};
  int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999;  // not representable in the format
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
  out[26] = '\0';
  return 26;
}

Result<system_clock::time_point> ParseUtcMicros(std::string_view dt) {
  auto bad = [&] {
    return Status::InvalidArgument("not a dt 'YYYY-MM-DD HH:MM:SS[.ffffff]': " +
                                   std::string(dt.substr(0, 40)));
  };
  auto num = [&](std::size_t at, std::size_t n, int& v) {
    if (dt.size() < at + n) return false;
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
      dt[16] != ':' || !num(17, 2, s))
    return bad();
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return bad();
  std::int64_t micros = 0;
  if (dt.size() > 19) {
    if (dt[19] != '.' || dt.size() > 26 || dt.size() == 20) return bad();
    int f = 0;
    if (!num(20, dt.size() - 20, f)) return bad();
    micros = f;
    for (std::size_t i = dt.size() - 20; i < 6; ++i) micros *= 10;
  }
  return system_clock::time_point(
      duration_cast<system_clock::duration>(sys_days{ymd}.time_since_epoch() + hours(h) +
                                            minutes(mi) + seconds(s) + microseconds(micros)));
}

std::string FormatLocal(system_clock::time_point t, const TimeZone& tz, std::string_view format) {
  const auto local = floor<seconds>(t) + tz.OffsetAt(t);
  const auto day = floor<days>(local);
  const year_month_day ymd{day};
  const hh_mm_ss hms{local - day};
  std::string out;
  char buf[8];
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    switch (format[++i]) {
      case 'Y':
        std::snprintf(buf, sizeof buf, "%04d", static_cast<int>(ymd.year()));
        break;
      case 'm':
        std::snprintf(buf, sizeof buf, "%02u", static_cast<unsigned>(ymd.month()));
        break;
      case 'd':
        std::snprintf(buf, sizeof buf, "%02u", static_cast<unsigned>(ymd.day()));
        break;
      case 'H':
        std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(hms.hours().count()));
        break;
      case 'M':
        std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(hms.minutes().count()));
        break;
      case 'S':
        std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(hms.seconds().count()));
        break;
      case '%':
        std::snprintf(buf, sizeof buf, "%%");
        break;
      default:
        std::snprintf(buf, sizeof buf, "%%%c", format[i]);
        break;
    }
    out += buf;
  }
  return out;
}

std::string LocalDateCompact(system_clock::time_point t, const TimeZone& tz) {
  return FormatLocal(t, tz, "%Y%m%d");
}

}  // namespace oceanus
