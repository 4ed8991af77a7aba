// Fuzzes the ClickHouse sink's escaping (sink/clickhouse/clickhouse_sql.h), the only thing that
// stands between event data and the SQL of history reads (18.16 has no query parameters).
// Input: any bytes, as the value of a key. Invariants: QuoteString's literal is exactly one
// token for ClickHouse's lexer (scanning it the way ClickHouse does, backslash escapes and
// all, ends at its last byte) and unescapes to the input; QuoteName's identifier likewise;
// TabSeparated text escaped as ClickHouse writes it splits back into the input as one field;
// reading an error code from any text never crashes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sink/clickhouse/clickhouse_sql.h"

namespace {

using oceanus::sink::clickhouse::ErrorCode;
using oceanus::sink::clickhouse::QuoteName;
using oceanus::sink::clickhouse::QuoteString;
using oceanus::sink::clickhouse::SplitTsvLine;

// ClickHouse's lexer on a quoted token (`quote` is ' or `): where it ends, and what it means.
std::optional<std::string> Unquote(std::string_view token, char quote, std::size_t& end) {
  if (token.empty() || token[0] != quote) return std::nullopt;
  std::string value;
  for (std::size_t i = 1; i < token.size(); ++i) {
    const char c = token[i];
    if (c == quote) {
      end = i;
      return value;
    }
    if (c != '\\') {
      value += c;
      continue;
    }
    if (++i == token.size()) return std::nullopt;
    switch (token[i]) {
      case '0':
        value += '\0';
        break;
      case 'n':
        value += '\n';
        break;
      case 'r':
        value += '\r';
        break;
      case 't':
        value += '\t';
        break;
      case 'b':
        value += '\b';
        break;
      case 'f':
        value += '\f';
        break;
      default:
        value += token[i];
    }
  }
  return std::nullopt;
}

// A value as ClickHouse writes it in TabSeparated output.
std::string EscapeTsv(std::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SilenceLogsOnce();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const std::string literal = QuoteString(input);
  std::size_t end = 0;
  const auto value = Unquote(literal, '\'', end);
  FUZZ_CHECK(value.has_value(), "the literal does not end: %s", literal.c_str());
  FUZZ_CHECK(end + 1 == literal.size(), "the literal ends early, at %zu of %zu", end,
             literal.size());
  FUZZ_CHECK(*value == input, "the literal does not unescape to the input");
  // The literal holds no raw NUL, CR or LF (a log line or a proxy could cut it there).
  FUZZ_CHECK(literal.find_first_of(std::string_view("\0\n\r", 3)) == std::string::npos,
             "a raw control byte in the literal");

  const std::string name = QuoteName(input);
  const auto unquoted = Unquote(name, '`', end);
  FUZZ_CHECK(unquoted.has_value() && end + 1 == name.size() && *unquoted == input,
             "the identifier is not one token of the input");

  const auto fields = SplitTsvLine(EscapeTsv(input));
  FUZZ_CHECK(fields.size() == 1 && fields[0].has_value() && *fields[0] == input,
             "a TabSeparated field does not decode to the value (%zu fields)", fields.size());
  (void)ErrorCode(input);
  return 0;
}
