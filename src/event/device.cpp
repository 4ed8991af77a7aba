/* User agent → device class, reproducing Python's user_agents over ua-parser.
 *
 * The classes must stay what the Python system wrote, so both layers are copied in behaviour,
 * not in spirit:
 *
 * 1. ua-parser walks three lists of regexes from uap-core's regexes.yaml (browsers, operating
 *    systems, devices). In each list the first regex that matches *and yields a non-empty
 *    family* wins: a match whose family comes out empty does not stop the walk. A family is
 *    the `*_replacement` with $1..$9 filled from the capture groups, or capture 1 when there
 *    is no replacement. OS and device replacements are trimmed; browser replacements only
 *    substitute $1 and are not trimmed (ua-parser's own quirk, kept). No family means
 *    "Other".
 *
 * 2. user_agents then asks is_bot, is_tablet, is_mobile, is_pc in that order, on the three
 *    families, the OS version string and plain substrings of the raw user agent ("Mobile
 *    Safari", "Windows NT", "X11"...). ClassOf() below is that logic, rule for rule.
 *
 * Speed. Walking ~1,200 regexes one by one costs ~170 us per user agent, and one RE2::Set per
 * list is no cure: its DFA states span hundreds of patterns full of bounded repeats
 * (".{0,300}"), so on varied traffic the DFA cache thrashes at hundreds of MB and stays near
 * 200 us. What works is RE2's FilteredRE2 prefilter: every regex is reduced to the literal
 * substrings ("atoms") a match must contain, all atoms of a list go into one RE2::Set of plain
 * literals (a small, Aho-Corasick-like DFA) run over the lowercased user agent, and only the
 * regexes whose atoms are present are then tried, in file order: ~13 regexes instead of
 * ~1,160, about 8 us for a common user agent and 30 us on average over uap-core's very
 * varied 17,600 test user agents. If the atom Set ever runs out of DFA memory on an input,
 * that one call walks the whole list instead, so the answer never depends on the shortcut.
 * RE2 has no look-around or back-references; a regex that needs them is left out and counted
 * rather than failing the load (uap-core 0.16 has none).
 *
 * Bytes. Everything runs with RE2's Latin-1 encoding: every byte is one character, so invalid
 * UTF-8, NULs and binary junk cannot make a match fail or misbehave. uap-core's patterns are
 * ASCII, so they mean the same bytes under Latin-1 as under UTF-8, and a WSGI Python service
 * saw header bytes as Latin-1 too. One difference remains: Python's \b and \w count Latin-1
 * letters such as 'é' as word characters (and its \s counts 0xA0 as a space), RE2's do not,
 * so a non-ASCII byte right at a word boundary can (rarely) pick a different regex.
 */
#include "event/device.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <optional>
#include <utility>

#include "util/ascii.h"

namespace oceanus::event {
namespace {

constexpr std::string_view kPc = "pc";
constexpr std::string_view kMobile = "mobile";
constexpr std::string_view kTablet = "tablet";
constexpr std::string_view kBot = "bot";
constexpr std::string_view kUnknown = "";

// Shortest literal kept as a prefilter atom. 2 beats 3 and 4 on uap-core: longer atoms leave
// more regexes with no atom at all, and those must be tried on every user agent.
constexpr int kMinAtomLength = 2;
// DFA budget of each atom Set. On uap-core's test corpus the device list's Set (1,800 atoms)
// thrashes at 2 MB and runs just as fast at 8 MB as at 64 MB; 16 MB leaves headroom.
constexpr int64_t kAtomSetMaxMem = int64_t{16} << 20;
// ua-parser's replacements refer to at most $9; OS versions need capture groups 2..4.
constexpr int kMaxGroups = 9;

// The family lists of user_agents 2.2.0 (user_agents/parsers.py), in its spelling.
constexpr std::array<std::string_view, 6> kMobileDeviceFamilies = {
    "iPhone",           "iPod",      "Generic Smartphone", "Generic Feature Phone",
    "PlayStation Vita", "iOS-Device"};
constexpr std::array<std::string_view, 3> kPcOsFamilies = {"Windows 95", "Windows 98", "Solaris"};
constexpr std::array<std::string_view, 7> kMobileOsFamilies = {
    "Windows Phone", "Windows Phone OS", "Symbian OS", "Bada",
    "Windows CE",    "Windows Mobile",   "Maemo"};
constexpr std::array<std::string_view, 6> kMobileBrowserFamilies = {
    "IE Mobile",     "Opera Mobile",          "Opera Mini",
    "Chrome Mobile", "Chrome Mobile WebView", "Chrome Mobile iOS"};
constexpr std::array<std::string_view, 9> kTabletDeviceFamilies = {
    "iPad",        "BlackBerry Playbook", "Blackberry Playbook", "Kindle",
    "Kindle Fire", "Kindle Fire HD",      "Galaxy Tab",          "Xoom",
    "Dell Streak"};

template <std::size_t N>
bool OneOf(std::string_view s, const std::array<std::string_view, N>& list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// user_agents' is_bot / is_tablet / is_mobile / is_pc, asked in that order. Because a
// tablet has already been answered when is_mobile runs, its "Android and not a tablet" test
// reduces to "Android", and its mobile-spider test can never fire (spiders are bots first).
std::string_view ClassOf(std::string_view ua, const DeviceClassifier::Families& f) {
  if (f.device == "Spider") return kBot;

  // Newer Android tablets leave "Mobile" out of the user agent; phones say "Mobile Safari".
  const bool android_tablet =
      f.os == "Android" && !Contains(ua, "Mobile Safari") && f.browser != "Firefox Mobile";
  if (OneOf(f.device, kTabletDeviceFamilies) || android_tablet ||
      (f.os == "Windows" && f.os_version.starts_with("RT")) ||
      (f.os == "Firefox OS" && !Contains(f.browser, "Mobile"))) {
    return kTablet;
  }

  if (OneOf(f.device, kMobileDeviceFamilies) || OneOf(f.browser, kMobileBrowserFamilies) ||
      f.os == "Android" || f.os == "Firefox OS" ||
      (f.os == "BlackBerry OS" && f.device != "Blackberry Playbook") ||
      OneOf(f.os, kMobileOsFamilies) || Contains(ua, "J2ME") || Contains(ua, "MIDP") ||
      Contains(ua, "iPhone;") || Contains(ua, "Googlebot-Mobile") ||
      (Contains(ua, "NokiaBrowser") && Contains(ua, "Mobile"))) {
    return kMobile;
  }

  if (Contains(ua, "Windows NT") || OneOf(f.os, kPcOsFamilies) ||
      (f.os == "Windows" && f.os_version == "ME")) {
    return kPc;
  }
  // Kindle's Silk browser claims to be Mac OS X in its desktop mode.
  if (f.os == "Mac OS X" && !Contains(ua, "Silk")) return kPc;
  // Maemo phones send "Linux" and "X11" too.
  if (Contains(ua, "Maemo")) return kUnknown;
  if (Contains(f.os, "Chrome OS")) return kPc;
  if (Contains(ua, "Linux") && Contains(ua, "X11")) return kPc;
  return kUnknown;
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const std::size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// Capture groups of one match: group(i) for i in 1..count; a group that did not take part
// in the match reads as empty, which is what ua-parser's substitution makes of it too.
struct Captures {
  std::array<re2::StringPiece, kMaxGroups + 1> groups;  // [0] is the whole match
  int count = 0;

  bool Took(int i) const { return i <= count && groups[i].data() != nullptr; }
  std::string_view Group(int i) const {
    return Took(i) ? std::string_view(groups[i].data(), groups[i].size()) : std::string_view();
  }
};

// ua-parser's substitution: "$1".."$9" become capture groups (only "$1" for browser families,
// where ua-parser substitutes nothing else). Trimming is left to the caller, since ua-parser
// trims OS and device results but not browser ones.
std::string Substitute(std::string_view pattern, const Captures& c, bool only_dollar_one) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char next = i + 1 < pattern.size() ? pattern[i + 1] : '\0';
    const bool reference =
        pattern[i] == '$' && (only_dollar_one ? next == '1' : next >= '1' && next <= '9');
    if (reference) {
      out.append(c.Group(next - '0'));
      ++i;
    } else {
      out.push_back(pattern[i]);
    }
  }
  return out;
}

// user_agents' version_string: the present parts joined by '.', all-digit parts as integers.
std::string VersionString(const std::array<std::optional<std::string>, 3>& parts) {
  std::string out;
  bool first = true;
  for (const auto& part : parts) {
    if (!part) continue;
    if (!first) out.push_back('.');
    first = false;
    std::string_view p = *part;
    if (!p.empty() &&
        std::all_of(p.begin(), p.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      while (p.size() > 1 && p.front() == '0') p.remove_prefix(1);
    }
    out.append(p);
  }
  return out;
}

std::string Where(const std::string& path, const YAML::Node& node) {
  return path + ":" + std::to_string(node.Mark().line + 1);
}

}  // namespace

// One list of parsers, with the prefilter that narrows it down for a given user agent.
class DeviceClassifier::Section {
 public:
  enum class Kind { kBrowser, kOs, kDevice };

  struct Match {
    std::string family;
    std::array<std::optional<std::string>, 3> versions;  // OS only: major, minor, patch
  };

  explicit Section(Kind kind) : kind_(kind), filter_(kMinAtomLength) {}

  // Compiles every entry of `list`; an entry RE2 rejects is counted in skipped().
  Status AddAll(const YAML::Node& list, const std::string& path) {
    const RE2::Options options = RegexOptions();
    for (const YAML::Node& entry : list) {
      if (!entry.IsMap() || !entry["regex"] || !entry["regex"].IsScalar()) {
        return Status::InvalidArgument(Where(path, entry) + ": parser without a 'regex'");
      }
      ++total_;
      std::string pattern = entry["regex"].Scalar();
      if (kind_ == Kind::kDevice && ScalarOr(entry["regex_flag"]) == "i") {
        pattern.insert(0, "(?i)");
      }
      // FilteredRE2 owns the compiled regexes; its ids count successful Adds only, so they
      // stay equal to indices into parsers_.
      int id = -1;
      if (filter_.Add(pattern, options, &id) != RE2::NoError) {
        ++skipped_;
        continue;
      }
      Parser parser;
      const char* family_key = kind_ == Kind::kBrowser ? "family_replacement"
                               : kind_ == Kind::kOs    ? "os_replacement"
                                                       : "device_replacement";
      parser.family_replacement = ScalarOr(entry[family_key]);
      if (kind_ == Kind::kOs) {
        parser.version_replacements = {ScalarOr(entry["os_v1_replacement"]),
                                       ScalarOr(entry["os_v2_replacement"]),
                                       ScalarOr(entry["os_v3_replacement"])};
      }
      parser.groups = GroupsNeeded(parser, filter_.GetRE2(id).NumberOfCapturingGroups());
      parsers_.push_back(std::move(parser));
    }
    return Status::Ok();
  }

  // Builds the prefilter: the atoms of every regex, matched together by one Set of literals.
  // Without it (not wanted, or the Set cannot be built) Find() walks every regex in order,
  // which gives the same answers, only slower.
  void BuildPrefilter() {
    if (parsers_.empty()) return;
    std::vector<std::string> atoms;
    filter_.Compile(&atoms);
    if (atoms.empty()) return;  // every regex would be a candidate anyway
    RE2::Options options = RegexOptions();
    options.set_max_mem(kAtomSetMaxMem);
    auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    for (const std::string& atom : atoms) {
      if (set->Add(RE2::QuoteMeta(atom), nullptr) < 0) return;  // atom ids would not line up
    }
    if (!set->Compile()) return;
    atoms_ = std::move(set);
  }

  // The first parser, in file order, that matches and yields a non-empty family.
  bool Find(std::string_view text, Match* out) const {
    if (atoms_ != nullptr) {
      // Per-thread scratch: after warm-up a lookup allocates nothing here.
      thread_local std::string lowered;
      thread_local std::vector<int> atom_hits;
      thread_local std::vector<int> candidates;
      // Atoms are lowercase (FilteredRE2 folds ASCII A-Z only under Latin-1), so the text is too.
      lowered.assign(text);
      for (char& ch : lowered) ch = AsciiLower(ch);
      atom_hits.clear();
      RE2::Set::ErrorInfo error{};
      if (atoms_->Match(lowered, &atom_hits, &error) || error.kind == RE2::Set::kNoError) {
        candidates.clear();
        filter_.AllPotentials(atom_hits, &candidates);
        std::sort(candidates.begin(), candidates.end());
        for (const int id : candidates) {
          if (Apply(id, text, out)) return true;
        }
        return false;
      }
      // Out of DFA memory on this input: answer it the slow way below.
    }
    for (std::size_t id = 0; id < parsers_.size(); ++id) {
      if (Apply(static_cast<int>(id), text, out)) return true;
    }
    return false;
  }

  std::size_t total() const { return total_; }
  std::size_t skipped() const { return skipped_; }

 private:
  struct Parser {
    std::string family_replacement;  // empty: capture group 1 (ua-parser treats "" as absent)
    std::array<std::string, 3> version_replacements;
    int groups = 0;  // capture groups Apply() must extract; see GroupsNeeded()
  };

  static RE2::Options RegexOptions() {
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingLatin1);
    options.set_log_errors(false);  // skipped regexes are counted, not logged one by one
    return options;
  }

  static std::string ScalarOr(const YAML::Node& node) {
    return node && node.IsScalar() ? node.Scalar() : std::string();
  }

  // Extracting captures is what makes a regex slow: RE2 then reruns the match in its NFA, and
  // on patterns like "(iPod|iPhone|iPad).{1,200}Version/..." that costs microseconds where
  // the DFA alone takes a fraction. Most replacements are plain text ("Spider", "Mobile
  // Safari"), so ask only for the groups the family actually uses; OS parsers also need
  // their version groups.
  int GroupsNeeded(const Parser& parser, int available) const {
    int needed = 0;
    if (kind_ == Kind::kOs) {
      needed = kMaxGroups;
    } else if (parser.family_replacement.empty()) {
      needed = 1;
    } else {
      const std::string& r = parser.family_replacement;
      for (std::size_t i = 0; i + 1 < r.size(); ++i) {
        if (r[i] == '$' && r[i + 1] >= '1' && r[i + 1] <= '9') {
          needed =
              std::max(needed, kind_ == Kind::kBrowser && r[i + 1] != '1' ? 0 : r[i + 1] - '0');
        }
      }
    }
    return std::min(needed, std::min(available, kMaxGroups));
  }

  // Runs parser `id`, extracting the groups it needs; fills `out` and returns true when it yields a
  // family.
  bool Apply(int id, std::string_view text, Match* out) const {
    const RE2& re = filter_.GetRE2(id);
    const Parser& parser = parsers_[id];
    Captures c;
    c.count = parser.groups;
    if (!re.Match(text, 0, text.size(), RE2::UNANCHORED, c.groups.data(), c.count + 1)) {
      return false;
    }
    std::string family;
    if (parser.family_replacement.empty()) {
      family = c.Group(1);
    } else if (kind_ == Kind::kBrowser) {
      family = Substitute(parser.family_replacement, c, /*only_dollar_one=*/true);
    } else {
      family = Trim(Substitute(parser.family_replacement, c, false));
    }
    if (family.empty()) return false;  // ua-parser moves on to the next regex
    out->family = std::move(family);
    if (kind_ == Kind::kOs) {
      for (int v = 0; v < 3; ++v) {
        auto& version = out->versions[v];
        version.reset();
        if (!parser.version_replacements[v].empty()) {
          std::string s(Trim(Substitute(parser.version_replacements[v], c, false)));
          if (!s.empty()) version = std::move(s);
        } else if (c.Took(v + 2)) {
          version = std::string(c.Group(v + 2));
        }
      }
    }
    return true;
  }

  Kind kind_;
  re2::FilteredRE2 filter_;
  std::vector<Parser> parsers_;
  std::unique_ptr<RE2::Set> atoms_;  // null: no prefilter, walk every regex
  std::size_t total_ = 0;
  std::size_t skipped_ = 0;
};

DeviceClassifier::DeviceClassifier() = default;
DeviceClassifier::~DeviceClassifier() = default;

Result<std::shared_ptr<const DeviceClassifier>> DeviceClassifier::Load(
    const std::string& regexes_path) {
  return Load(regexes_path, Options());
}

Result<std::shared_ptr<const DeviceClassifier>> DeviceClassifier::Load(
    const std::string& regexes_path, const Options& options) {
  std::ifstream in(regexes_path, std::ios::binary);
  if (!in) {
    return Status::NotFound("uap-core regexes " + regexes_path + ": " + std::strerror(errno));
  }
  try {
    const YAML::Node root = YAML::Load(in);
    if (!root.IsMap()) {
      return Status::InvalidArgument(regexes_path + ": not a uap-core regexes.yaml (no mapping)");
    }
    std::shared_ptr<DeviceClassifier> classifier(new DeviceClassifier());
    const std::pair<const char*, Section::Kind> kSections[] = {
        {"user_agent_parsers", Section::Kind::kBrowser},
        {"os_parsers", Section::Kind::kOs},
        {"device_parsers", Section::Kind::kDevice}};
    for (const auto& [key, kind] : kSections) {
      const YAML::Node list = root[key];
      if (!list || !list.IsSequence()) {
        return Status::InvalidArgument(regexes_path + ": no '" + key + "' list");
      }
      auto section = std::make_unique<Section>(kind);
      if (Status s = section->AddAll(list, regexes_path); !s.ok()) return s;
      if (options.use_prefilter) section->BuildPrefilter();
      classifier->total_ += section->total();
      classifier->skipped_ += section->skipped();
      (kind == Section::Kind::kBrowser ? classifier->browsers_
       : kind == Section::Kind::kOs    ? classifier->oses_
                                       : classifier->devices_) = std::move(section);
    }
    return std::shared_ptr<const DeviceClassifier>(std::move(classifier));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(regexes_path + ": " + e.what());
  } catch (const std::exception& e) {
    return Status::Internal(regexes_path + ": loading regexes: " + e.what());
  }
}

DeviceClassifier::Families DeviceClassifier::Parse(std::string_view user_agent) const {
  Families f;
  Section::Match m;
  f.browser = browsers_->Find(user_agent, &m) ? std::move(m.family) : "Other";
  if (oses_->Find(user_agent, &m)) {
    f.os = std::move(m.family);
    f.os_version = VersionString(m.versions);
  } else {
    f.os = "Other";
  }
  f.device = devices_->Find(user_agent, &m) ? std::move(m.family) : "Other";
  return f;
}

std::string_view DeviceClassifier::Classify(std::string_view user_agent) const {
  if (user_agent.empty()) return kUnknown;
  return ClassOf(user_agent, Parse(user_agent));
}

CachedDeviceClassifier::CachedDeviceClassifier(std::shared_ptr<const DeviceClassifier> classifier,
                                               std::size_t capacity)
    : classifier_(std::move(classifier)) {
  const std::size_t size = std::bit_ceil(std::max<std::size_t>(capacity, 2));
  entries_.resize(size);
  newer_.resize(size / 2);
  bucket_mask_ = size / 2 - 1;
}

std::string_view CachedDeviceClassifier::Classify(std::string_view user_agent) {
  if (user_agent.empty()) return kUnknown;
  const std::size_t hash = std::hash<std::string_view>()(user_agent);
  const std::size_t bucket = hash & bucket_mask_;
  Entry* const pair = &entries_[bucket * 2];
  for (std::size_t way = 0; way < 2; ++way) {
    const Entry& e = pair[way];
    if (e.used && e.hash == hash && e.user_agent == user_agent) {
      newer_[bucket] = static_cast<std::uint8_t>(way);
      return e.device_class;
    }
  }
  const std::string_view device_class = classifier_->Classify(user_agent);
  if (user_agent.size() <= kMaxCachedLength) {
    // Evict the entry of the pair that was used least recently; assign() reuses its buffer.
    const std::size_t way = newer_[bucket] ^ 1;
    Entry& e = pair[way];
    e.hash = hash;
    e.user_agent.assign(user_agent);
    e.device_class = device_class;
    e.used = true;
    newer_[bucket] = static_cast<std::uint8_t>(way);
  }
  return device_class;
}

}  // namespace oceanus::event
