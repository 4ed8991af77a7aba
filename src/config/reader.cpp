// config/reader.h: typed YAML values with positions, ${ENV} expansion, addresses.
#include "config/reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>

#include "util/net.h"

namespace oceanus::config {

void Reader::Fail(const YAML::Node& node, const std::string& msg) const {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) throw ConfigError{file_ + ": " + msg};
  throw ConfigError{file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                    ": " + msg};
}

void Reader::ExpectKeys(const YAML::Node& node, const std::string& what,
                        const std::vector<std::string>& allowed) const {
  if (!node.IsMap()) Fail(node, what + " must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    bool known =
        std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return key == a; });
    if (!known) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
    }
  }
}

void Reader::ExpectKeys(const YAML::Node& node, const std::string& what,
                        std::initializer_list<const char*> allowed) const {
  ExpectKeys(node, what, std::vector<std::string>(allowed.begin(), allowed.end()));
}

std::string Reader::Str(const YAML::Node& node) const {
  if (!node.IsScalar()) Fail(node, "expected a string");
  return Expand(node, node.Scalar());
}

bool Reader::Bool(const YAML::Node& node) const {
  const std::string s = Str(node);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  Fail(node, "expected true or false, got '" + s + "'");
}

std::uint64_t Reader::Unsigned(const YAML::Node& node, std::uint64_t max) const {
  const std::string s = Str(node);
  if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit))
    Fail(node, "expected a non-negative integer, got '" + s + "'");
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range || v > max)
    Fail(node, "value " + s + " is larger than " + std::to_string(max));
  return v;
}

std::uint64_t Reader::AtLeast(const YAML::Node& node, std::uint64_t min, std::uint64_t max,
                              const std::string& what) const {
  const std::uint64_t v = Unsigned(node, max);
  if (v < min) Fail(node, what + " must be at least " + std::to_string(min));
  return v;
}

std::size_t Reader::Bytes(const YAML::Node& node, std::uint64_t min, std::uint64_t max,
                          const std::string& what) const {
  const std::string s = Str(node);
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) Fail(node, "expected a size such as 1MiB or 65536, got '" + s + "'");
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + i, n);
  const std::string unit = s.substr(i);
  static const std::map<std::string, std::uint64_t> kUnits = {
      {"", 1},      {"B", 1},         {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000'000}, {"GB", 1000'000'000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) Fail(node, "unknown size unit '" + unit + "' (use B, KiB, MiB, GiB)");
  if (ec == std::errc::result_out_of_range || n > max / it->second)
    Fail(node, what + " '" + s + "' is larger than the maximum " + SizeText(max));
  const std::uint64_t bytes = n * it->second;
  if (bytes < min) Fail(node, what + " '" + s + "' is below the minimum " + SizeText(min));
  return static_cast<std::size_t>(bytes);
}

std::chrono::milliseconds Reader::Duration(const YAML::Node& node,
                                           std::chrono::milliseconds max) const {
  auto d = ParseDuration(Str(node), max);
  if (!d.ok()) Fail(node, d.status().message());
  return *d;
}

std::chrono::milliseconds Reader::PositiveDuration(const YAML::Node& node,
                                                   const std::string& what) const {
  const std::chrono::milliseconds d = Duration(node);
  if (d.count() <= 0) Fail(node, what + " must be above zero");
  return d;
}

std::string Reader::SizeText(std::uint64_t bytes) {
  static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  if (bytes != 0)
    for (const auto& [size, name] : kUnits)
      if (bytes % size == 0) return std::to_string(bytes / size) + name;
  return std::to_string(bytes) + "B";
}

std::vector<std::string> Reader::StrList(const YAML::Node& node) const {
  if (!node.IsSequence()) Fail(node, "expected a list");
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(Str(item));
  return out;
}

std::string Reader::Expand(const YAML::Node& node, const std::string& in) const {
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    if (in.compare(i, 2, "${") != 0) {
      out += in[i++];
      continue;
    }
    const std::size_t close = in.find('}', i);
    if (close == std::string::npos) Fail(node, "unterminated ${ in '" + in + "'");
    std::string ref = in.substr(i + 2, close - i - 2);
    std::optional<std::string> fallback;
    if (auto d = ref.find(":-"); d != std::string::npos) {
      fallback = ref.substr(d + 2);
      ref = ref.substr(0, d);
    }
    const char* value = std::getenv(ref.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (fallback) {
      out += *fallback;
    } else {
      Fail(node, "environment variable " + ref + " is not set (write ${" + ref +
                     ":-default} to give a default)");
    }
    i = close + 1;
  }
  return out;
}

bool ValidName(const std::string& s, bool allow_leading_digit) {
  if (s.empty() || s.size() > 64) return false;
  if (!allow_leading_digit && std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

HostPort ParseAddress(const Reader& r, const YAML::Node& node) {
  auto parsed = ParseHostPort(r.Str(node));
  if (!parsed.ok()) r.Fail(node, parsed.status().message());
  if (parsed->host.empty()) parsed->host = "0.0.0.0";
  return *parsed;
}

HostPort ParseListen(const Reader& r, const YAML::Node& node) {
  auto parsed = ParseListenAddress(r.Str(node));
  if (!parsed.ok()) r.Fail(node, parsed.status().message());
  if (parsed->host.empty()) parsed->host = "0.0.0.0";
  return *parsed;
}

std::vector<std::string> NetworkList(const Reader& r, const YAML::Node& node,
                                     const std::string& what) {
  if (!node.IsSequence()) r.Fail(node, what + " is a list of networks such as [10.0.0.0/8]");
  std::vector<std::string> out;
  for (const auto& item : node) {
    std::string text = r.Str(item);
    auto network = oceanus::Network::Parse(text);
    if (!network.ok()) r.Fail(item, what + ": " + network.status().message());
    out.push_back(std::move(text));
  }
  return out;
}

Result<HostPort> ParseListenAddress(std::string_view text) {
  auto parsed = ParseHostPort(text);
  if (!parsed.ok()) return parsed.status();
  IpAddress ip;
  if (!parsed->host.empty() && !IpAddress::Parse(parsed->host, ip))
    return Status::InvalidArgument(
        "listen address '" + std::string(text) + "': '" + parsed->host +
        "' is not an IP address (host names are not resolved): use an IP address such as "
        "127.0.0.1, or 0.0.0.0 for every interface");
  return parsed;
}

std::string ResolveConfigRelative(const std::string& config_file, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative() && !config_file.empty())
    p = std::filesystem::path(config_file).parent_path() / p;
  return p.string();
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, written as a dotted quad.
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  const std::string text(host);
  return std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 &&
         b < 256 && c < 256 && d < 256;
}

Result<HostPort> ParseHostPort(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return Status::InvalidArgument("expected HOST:PORT, got '" + std::string(text) + "'");
  HostPort out;
  out.host = std::string(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return Status::InvalidArgument("invalid port in '" + std::string(text) + "'");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace oceanus::config
