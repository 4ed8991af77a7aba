// JSON lines for spdlog: a formatter that writes {"time":…,"level":…,"msg":…} per record,
// escaping the message as JSON (control characters, quotes, invalid UTF-8 left to the
// shared escaper).
#include "util/logging.h"

#include <spdlog/formatter.h>
#include "util/log.h"

#include <chrono>
#include <ctime>
#include <memory>

#include "util/json.h"

#if !defined(FMT_HEADER_ONLY)
// The one instance of fmt's formatting engine that util/log.h promises.
FMT_BEGIN_NAMESPACE
namespace detail {
template void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                               basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
#endif

namespace oceanus {
namespace {

class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":\"";
    const auto since = msg.time.time_since_epoch();
    const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    line.append(buf, n);
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(millis));
    line += ms;
    line += "\",\"level\":\"";
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",\"msg\":";
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (IsValidUtf8(text)) {
      AppendJsonString(line, text);
    } else {  // a message quoting raw bytes: keep the line valid JSON
      std::string ascii(text);
      for (char& c : ascii)
        if (static_cast<unsigned char>(c) >= 0x80) c = '?';
      AppendJsonString(line, ascii);
    }
    line += ",\"thread\":";
    line += std::to_string(msg.thread_id);
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return Status::InvalidArgument("log format '" + std::string(name) + "' (expected text or json)");
}

void SetLogFormat(LogFormat format) {
  if (format == LogFormat::kJson) spdlog::set_formatter(std::make_unique<JsonFormatter>());
}

}  // namespace oceanus
