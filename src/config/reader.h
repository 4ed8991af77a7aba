// Reading one YAML config file: typed values with units, ${ENV} expansion, and errors that
// name the position ("file:line:col: message").
//
// Every part of the config is parsed with a Reader, the shared part here in config/ and each
// component's section in the component's own folder (sink/sqlite/, queue/redis/, …), so every
// key is checked where it is read and every mistake points into the file the same way. A
// failed check throws ConfigError, which only LoadConfig's caller catches and turns into a
// Status; nothing outside config parsing sees an exception.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"
#include "util/time.h"

namespace oceanus::config {

// A mistake in the config file, with its position. Thrown by Reader::Fail.
struct ConfigError {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  // Throws ConfigError "file:line:col: msg" at `node`'s position.
  [[noreturn]] void Fail(const YAML::Node& node, const std::string& msg) const;
  int Line(const YAML::Node& node) const { return node.Mark().line + 1; }

  // Checks that `node` is a map whose keys are all in `allowed`.
  void ExpectKeys(const YAML::Node& node, const std::string& what,
                  std::initializer_list<const char*> allowed) const;
  void ExpectKeys(const YAML::Node& node, const std::string& what,
                  const std::vector<std::string>& allowed) const;

  std::string Str(const YAML::Node& node) const;
  bool Bool(const YAML::Node& node) const;
  std::uint64_t Unsigned(const YAML::Node& node, std::uint64_t max) const;
  // An integer of at least `min` (and at most `max`): counts where 0 would mean "nothing
  // ever happens" are refused rather than given a surprising meaning.
  std::uint64_t AtLeast(const YAML::Node& node, std::uint64_t min, std::uint64_t max,
                        const std::string& what) const;
  // "1024", "64KiB", "1MiB", "2GiB" (also KB/MB/GB as powers of 1000), between `min` and `max`
  // bytes. Checked for overflow: a value that does not fit is refused, never wrapped.
  std::size_t Bytes(const YAML::Node& node, std::uint64_t min, std::uint64_t max,
                    const std::string& what) const;
  // "500ms", "1s", "2m", "1h", "1d"; at most `max` (util/time.h: kMaxConfigDuration).
  std::chrono::milliseconds Duration(const YAML::Node& node,
                                     std::chrono::milliseconds max = kMaxConfigDuration) const;
  // A duration that must be above zero (a timeout of 0 would expire at once).
  std::chrono::milliseconds PositiveDuration(const YAML::Node& node, const std::string& what) const;
  std::vector<std::string> StrList(const YAML::Node& node) const;
  // Expands ${NAME} and ${NAME:-default}; an unset variable without default is an error.
  std::string Expand(const YAML::Node& node, const std::string& in) const;

  // "1MiB", "64KiB", "512B": the largest binary unit that divides it.
  static std::string SizeText(std::uint64_t bytes);

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// [a-z0-9_]+ of at most 64 characters (site, rule, action, group and field names); with
// `allow_leading_digit` false it must not start with a digit.
bool ValidName(const std::string& s, bool allow_leading_digit);

// One of the named choices, or a failure listing them.
template <typename E>
E Choose(const Reader& r, const YAML::Node& node, const std::string& what,
         std::initializer_list<std::pair<const char*, E>> choices) {
  const std::string s = r.Str(node);
  std::string list;
  for (const auto& [name, value] : choices) {
    if (s == name) return value;
    list += (list.empty() ? "" : ", ") + std::string(name);
  }
  r.Fail(node, "unknown " + what + " '" + s + "' (expected one of: " + list + ")");
}

// "host:port", "[v6]:port" or ":port" (host left empty). The one parser for every address:
// server.listen, queue.redis.address, admin.listen and the --listen flags.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
Result<HostPort> ParseHostPort(std::string_view text);
// An address to listen on: ParseHostPort, and the host (when given) must be an IP address.
// Host names are refused rather than resolved ("localhost" can be 127.0.0.1 or ::1, a name
// several addresses): server.listen, admin.listen, --listen and --admin-listen all use this.
Result<HostPort> ParseListenAddress(std::string_view text);

// An address to connect to (queue.redis.address): "host:port", "[v6]:port" or ":port"; the
// client resolves host names.
HostPort ParseAddress(const Reader& r, const YAML::Node& node);
// An address to listen on (server.listen, admin.listen): an IP address, or none for every
// interface (0.0.0.0). See ParseListenAddress.
HostPort ParseListen(const Reader& r, const YAML::Node& node);
// A list of CIDR networks (server.trusted_proxies, internal_networks), each checked here so
// that a mistake names its line; the collector parses the same texts with the same function.
std::vector<std::string> NetworkList(const Reader& r, const YAML::Node& node,
                                     const std::string& what);

// yaml-cpp keeps both entries of a key written twice in one mapping, and node["key"] finds
// only the first: this refuses that anywhere under `root`.
void RejectDuplicateKeys(const Reader& r, const YAML::Node& root);

// True for 127.0.0.0/8, ::1 and "localhost": the admin listener needs no token there.
bool IsLoopbackHost(std::string_view host);

// `path` as a file named in the config: relative paths are relative to the config file's
// directory (templates of history reports).
std::string ResolveConfigRelative(const std::string& config_file, const std::string& path);

}  // namespace oceanus::config
