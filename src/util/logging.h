// Log output: human-readable lines (spdlog's default) or JSON lines (--log-format json), one
// object per line with time, level and message, for log collectors (Loki, Cloud Logging,
// Elasticsearch) that would otherwise have to parse free text.
#pragma once

#include <string_view>

#include "util/status.h"

namespace oceanus {

enum class LogFormat { kText, kJson };

// "text" or "json".
Result<LogFormat> ParseLogFormat(std::string_view name);

// Installs the format on the default logger (stderr). Call once, before other threads log.
void SetLogFormat(LogFormat format);

}  // namespace oceanus
