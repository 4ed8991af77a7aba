// Typed reading of row values, shared by the sinks; see row_values.h.
#include "sink/row_values.h"

#include <charconv>
#include <cmath>

#include "util/time.h"

namespace oceanus::sink {

std::string NotA(const Column& col, std::string_view v, std::string_view what) {
  std::string shown(v.substr(0, 40));
  if (v.size() > 40) shown += "…";
  return "column " + col.name + ": '" + shown + "' is not " + std::string(what);
}

std::optional<std::int64_t> ReadInteger(const Column& col, std::string_view v,
                                        std::string& reason) {
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    reason = NotA(col, v, "an integer");
    return std::nullopt;
  }
  return n;
}

std::optional<double> ReadFloat(const Column& col, std::string_view v, std::string& reason) {
  double d = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || !std::isfinite(d)) {
    reason = NotA(col, v, "a finite number");
    return std::nullopt;
  }
  return d;
}

std::optional<bool> ReadBoolean(const Column& col, std::string_view v, std::string& reason) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  reason = NotA(col, v, "a boolean");
  return std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> ReadTimestamp(const Column& col,
                                                                   std::string_view v,
                                                                   std::string& reason) {
  auto t = ParseUtcMicros(v);
  if (!t.ok()) {
    reason = NotA(col, v, "a timestamp");
    return std::nullopt;
  }
  return *t;
}

}  // namespace oceanus::sink
