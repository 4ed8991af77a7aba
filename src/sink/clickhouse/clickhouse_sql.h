// The text the ClickHouse sink puts into SQL and reads back from the server, in one place:
// string literals and identifiers escaped (ClickHouse 18.16 has no query parameters, so every
// value that reaches a query goes through QuoteString), TabSeparated fields decoded, and the
// `Code: N` of an error answer read and classified. Pure functions: the fuzz target
// (tests/fuzz/fuzz_clickhouse_sql.cpp) and the unit tests call them directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace oceanus::sink::clickhouse {

// 'value' as a ClickHouse string literal: backslash and quote backslash-escaped, NUL, CR, LF,
// TAB, backspace and form feed spelt as escapes. Any byte string round-trips.
std::string QuoteString(std::string_view value);
// `name` as a ClickHouse identifier (backquoted, backslash and backquote escaped).
std::string QuoteName(std::string_view name);

// One line of TabSeparated output split into fields, escapes undone; \N (NULL) is nullopt.
std::vector<std::optional<std::string>> SplitTsvLine(std::string_view line);

// The N of an error answer's "Code: N" (ClickHouse's error code), or -1.
int ErrorCode(std::string_view body);

enum class ErrorClass {
  kRow,        // the data of a row cannot be parsed or stored as its column: isolate it
  kRetryable,  // the server is overloaded, out of memory, timing out or refusing logins
  kOther,      // anything else (schema, syntax): the batch fails as a whole
};
ErrorClass Classify(int code);

// A failed answer (HTTP status, body) as a Status: kUnavailable for retryable codes and for
// 5xx answers without a code, kInternal otherwise. `what` starts the message.
Status ErrorStatus(const std::string& what, long http_status, std::string_view body);

}  // namespace oceanus::sink::clickhouse
