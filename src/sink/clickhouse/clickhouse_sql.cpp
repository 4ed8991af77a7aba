// Escaping, TabSeparated decoding and error classification for ClickHouse (clickhouse_sql.h).
#include "sink/clickhouse/clickhouse_sql.h"

#include <charconv>

namespace oceanus::sink::clickhouse {

std::string QuoteString(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '\'';
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\0':
        out += "\\0";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += c;
    }
  }
  out += '\'';
  return out;
}

std::string QuoteName(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`' || c == '\\') out += '\\';
    if (c == '\0') {
      out += "\\0";
      continue;
    }
    out += c;
  }
  return out + "`";
}

std::vector<std::optional<std::string>> SplitTsvLine(std::string_view line) {
  std::vector<std::optional<std::string>> fields;
  std::string field;
  bool null = false;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      if (null && field.empty()) {
        fields.emplace_back(std::nullopt);
      } else {
        fields.emplace_back(std::move(field));
      }
      field.clear();
      null = false;
      continue;
    }
    if (line[i] != '\\' || i + 1 == line.size()) {
      field += line[i];
      continue;
    }
    const char e = line[++i];
    switch (e) {
      case 'N':
        // \N alone is NULL; inside a longer field it cannot occur (ClickHouse escapes \).
        null = field.empty() && (i + 1 == line.size() || line[i + 1] == '\t');
        if (!null) field += 'N';
        break;
      case '0':
        field += '\0';
        break;
      case 'n':
        field += '\n';
        break;
      case 'r':
        field += '\r';
        break;
      case 't':
        field += '\t';
        break;
      case 'b':
        field += '\b';
        break;
      case 'f':
        field += '\f';
        break;
      case 'a':
        field += '\a';
        break;
      case 'v':
        field += '\v';
        break;
      default:
        field += e;  // \\ \' and anything else: the character itself
    }
  }
  return fields;
}

int ErrorCode(std::string_view body) {
  const auto at = body.find("Code: ");
  if (at == std::string_view::npos) return -1;
  const char* b = body.data() + at + 6;
  const char* e = body.data() + body.size();
  int code = -1;
  const auto [p, ec] = std::from_chars(b, e, code);
  if (ec != std::errc() || p == b) return -1;
  return code;
}

ErrorClass Classify(int code) {
  switch (code) {
    case 6:    // CANNOT_PARSE_TEXT
    case 25:   // CANNOT_PARSE_ESCAPE_SEQUENCE
    case 26:   // CANNOT_PARSE_QUOTED_STRING
    case 27:   // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    case 38:   // CANNOT_PARSE_DATE
    case 41:   // CANNOT_PARSE_DATETIME
    case 53:   // TYPE_MISMATCH
    case 69:   // ARGUMENT_OUT_OF_BOUND
    case 70:   // CANNOT_CONVERT_TYPE
    case 72:   // CANNOT_PARSE_NUMBER
    case 131:  // TOO_LARGE_STRING_SIZE
    case 349:  // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    case 366:  // CANNOT_PARSE_UUID (current releases)
    case 377:  // CANNOT_PARSE_BOOL (current releases)
      return ErrorClass::kRow;
    case 159:  // TIMEOUT_EXCEEDED
    case 160:  // TOO_SLOW
    case 164:  // READONLY
    case 192:  // UNKNOWN_USER
    case 193:  // WRONG_PASSWORD
    case 194:  // REQUIRED_PASSWORD
    case 195:  // IP_ADDRESS_NOT_ALLOWED
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 203:  // NO_FREE_CONNECTION
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 242:  // TABLE_IS_READ_ONLY
    case 252:  // TOO_MANY_PARTS
    case 425:  // SYSTEM_ERROR
    case 497:  // ACCESS_DENIED (current releases)
    case 516:  // AUTHENTICATION_FAILED (current releases)
      return ErrorClass::kRetryable;
    default:
      return ErrorClass::kOther;
  }
}

Status ErrorStatus(const std::string& what, long http_status, std::string_view body) {
  std::string detail(body.substr(0, 600));
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  std::string msg = what + ": HTTP " + std::to_string(http_status) + ": " + detail;
  const int code = ErrorCode(body);
  if (code < 0) {
    // No ClickHouse answer (a proxy, an overloaded or starting server).
    if (http_status >= 500 || http_status == 429 || http_status == 408)
      return Status::Unavailable(std::move(msg));
    return Status::Internal(std::move(msg));
  }
  if (Classify(code) == ErrorClass::kRetryable) return Status::Unavailable(std::move(msg));
  return Status::Internal(std::move(msg));
}

}  // namespace oceanus::sink::clickhouse
