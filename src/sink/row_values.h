// Reading a row's text values (sink.h: Row) as their column's type, the same way in every
// sink: what counts as an integer, a finite number, a boolean, a timestamp, and the reason a
// value is not one, which the loader writes into the dead-letter with the rejected row.
//
// Each Read* returns the value, or nullopt with `reason` set to
// "column <name>: '<value, clipped>' is not <a type>".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sink/sink.h"

namespace oceanus::sink {

// The whole of `v` as a signed 64-bit integer.
std::optional<std::int64_t> ReadInteger(const Column& col, std::string_view v, std::string& reason);
// The whole of `v` as a finite double (no NaN, no infinity: JSON and most warehouses have none).
std::optional<double> ReadFloat(const Column& col, std::string_view v, std::string& reason);
// "true"/"1" or "false"/"0".
std::optional<bool> ReadBoolean(const Column& col, std::string_view v, std::string& reason);
// A UTC time as the event builder writes it (util/time.h: ParseUtcMicros).
std::optional<std::chrono::system_clock::time_point> ReadTimestamp(const Column& col,
                                                                   std::string_view v,
                                                                   std::string& reason);

// "column <name>: '<v>' is not <what>", `v` clipped to 40 bytes: for a sink's own checks.
std::string NotA(const Column& col, std::string_view v, std::string_view what);

}  // namespace oceanus::sink
