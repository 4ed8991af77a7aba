// `oceanus replay`: sends the dead-letter (or a collector's spool) back into the queue, with
// a progress bar on a terminal.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "app/commands.h"
#include "app/prepare.h"
#include "load/replay.h"
#include "util/time.h"

namespace oceanus::app {
namespace {

// Draws "site [#####.....] 50%  1000/2000  812/s" on one line of a terminal, at most every
// 100 ms. Only on a terminal: in a log, a file or a pipe the summary line is enough.
class ProgressBar {
 public:
  ProgressBar() : start_(std::chrono::steady_clock::now()) {}

  void Update(const load::ReplayProgress& p) {
    if (p.site != site_) Finish();
    site_ = p.site;
    last_ = p;
    const auto now = std::chrono::steady_clock::now();
    const bool complete = p.total > 0 && p.done == p.total;
    if (!complete && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    std::cerr << "\r" << Line(now) << std::flush;
  }

  void Finish() {
    if (site_.empty()) return;
    std::cerr << "\r" << Line(std::chrono::steady_clock::now()) << "\n";
    site_.clear();
  }

 private:
  std::string Line(std::chrono::steady_clock::time_point now) const {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const auto rate = static_cast<long long>(seconds > 0 ? last_.done / seconds : 0);
    std::string line = last_.site + " ";
    if (last_.total > 0) {
      const std::size_t width = 30;
      const std::size_t filled = static_cast<std::size_t>(last_.done * width / last_.total);
      line += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
              std::to_string(last_.done * 100 / last_.total) + "%  ";
    }
    line += std::to_string(last_.done) +
            (last_.total > 0 ? "/" + std::to_string(last_.total) : "") + " records  " +
            std::to_string(rate) + "/s";
    return line;
  }

  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point drawn_{};
  std::string site_;
  load::ReplayProgress last_;
};

// "2026-12-03 10:00", "2026-12-03T10:00:00Z", "2026-12-03" (UTC), or "2h": that long ago.
Result<std::chrono::system_clock::time_point> ParseWhen(const std::string& text,
                                                        std::chrono::system_clock::time_point now) {
  if (auto ago = ParseDuration(text); ago.ok()) return now - *ago;
  std::string t = text;
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.pop_back();
  if (t.size() == 10) t += " 00:00:00";
  if (t.size() == 16) t += ":00";
  auto at = ParseUtcMicros(t);
  if (!at.ok())
    return Status::InvalidArgument(
        "'" + text + "' is neither a UTC time (2026-12-03 10:00) nor a duration (2h)");
  return at;
}

}  // namespace

int ReplayCommand(const std::string& path, const Overrides& overrides, load::ReplayOptions options,
                  const ReplayWindow& window) {
  const auto now = std::chrono::system_clock::now();
  for (auto [text, field] :
       {std::pair{&window.since, &options.since}, {&window.until, &options.until}}) {
    if (text->empty()) continue;
    auto when = ParseWhen(*text, now);
    if (!when.ok()) {
      std::cerr << "replay: " << (field == &options.since ? "--since: " : "--until: ")
                << when.status().message() << "\n";
      return kExitConfig;
    }
    *field = *when;
  }
  auto c = LoadWithOverrides(path, overrides);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return kExitConfig;
  }
  std::optional<ProgressBar> bar;
  if (::isatty(STDERR_FILENO) == 1) bar.emplace();
  auto result = load::Replay(*c, c->queue, options, [&bar](const load::ReplayProgress& p) {
    if (bar) bar->Update(p);
  });
  if (bar) bar->Finish();
  if (!result.ok()) {
    std::cerr << "replay: " << result.status().message() << "\n";
    return result.status().code() == Status::Code::kInvalidArgument ? kExitConfig : kExitRuntime;
  }
  std::cerr << load::Describe(options, *result) << "\n";
  return 0;
}

}  // namespace oceanus::app
