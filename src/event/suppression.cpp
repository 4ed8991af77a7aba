// The suppression list's file, its reading and the per-thread snapshots; see suppression.h.
#include "event/suppression.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/fd.h"

namespace oceanus::event {
namespace {

constexpr std::string_view kMagic = "oceanus-suppression-list 1";

bool ParseHex(std::string_view hex, std::uint8_t* out, std::size_t bytes) {
  if (hex.size() != 2 * bytes) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < bytes; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string Hex(const std::uint8_t* data, std::size_t bytes) {
  KeyedDigest d{};
  std::string out;
  for (std::size_t at = 0; at < bytes; at += d.size()) {
    std::copy_n(data + at, d.size(), d.begin());
    AppendHex(d, out);
  }
  return out;
}

KeyedDigest Digest(const HashKey& key, std::string_view site, std::string_view field,
                   std::string_view value) {
  static constexpr char kNul = '\0';
  const std::string_view gap(&kNul, 1);
  return KeyedHash(key, {site, gap, field, gap, value});
}

// The list as a file: re-read when its size or modification time changed; appended with
// O_APPEND and synced; created with O_EXCL so that of two erasures at once one writes the
// header and the other reads it back.
class FileStore final : public SuppressionList::Store {
 public:
  explicit FileStore(std::string path) : path_(std::move(path)) {}

  Result<std::optional<std::string>> ReadIfChanged() override {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      if (errno != ENOENT) return Status::IoError(path_ + ": " + std::strerror(errno));
      return std::optional<std::string>(std::nullopt);  // nobody erased yet
    }
    const long long mtime_ns =
        static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (st.st_size == size_ && mtime_ns == mtime_ns_) return std::optional<std::string>();
    std::ifstream in(path_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return Status::IoError(path_ + ": cannot be read");
    size_ = st.st_size;
    mtime_ns_ = mtime_ns;
    return std::optional<std::string>(text.str());
  }

  Status Append(const std::string& header,
                const std::function<Result<std::string>(std::string_view)>& line_for) override {
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.valid()) {
      if (Status s = WriteSynced(fd.get(), header); !s.ok()) return s;
    } else if (errno != EEXIST) {
      return Status::IoError(path_ + ": " + std::strerror(errno));
    }
    std::ifstream in(path_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto line = line_for(text.str());
    if (!line.ok()) return line.status();
    UniqueFd out(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!out.valid()) return Status::IoError(path_ + ": " + std::strerror(errno));
    return WriteSynced(out.get(), *line);
  }

  std::string Describe() const override { return path_; }

 private:
  Status WriteSynced(int fd, const std::string& text) const {
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd) != 0)
      return Status::IoError(path_ + ": " + std::strerror(errno));
    return Status::Ok();
  }

  const std::string path_;
  long long size_ = -1;
  long long mtime_ns_ = -1;
};

}  // namespace

std::unique_ptr<SuppressionList::Store> SuppressionList::FileStore(std::string path) {
  return std::make_unique<class FileStore>(std::move(path));
}

SuppressionList::SuppressionList(std::unique_ptr<Store> store)
    : store_(std::move(store)), current_(std::make_shared<const Entries>()) {}

Result<SuppressionList::Entries> SuppressionList::Parse(std::string_view text,
                                                        const std::string& where) {
  Entries e;
  std::size_t number = 0;
  bool keyed = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    const auto bad = [&](const char* why) {
      return Status::Corruption(where + ":" + std::to_string(number) + ": " + why);
    };
    if (number == 1) {
      if (line != kMagic) return bad("not a suppression list");
      continue;
    }
    if (number == 2) {
      if (!line.starts_with("key ") || !ParseHex(line.substr(4), e.key.data(), e.key.size()))
        return bad("expected 'key' and 32 hex digits");
      keyed = true;
      continue;
    }
    if (line.empty()) continue;
    const auto a = line.find(' '), b = line.find(' ', a == line.npos ? a : a + 1);
    KeyedDigest d{};
    if (a == line.npos || b == line.npos || !ParseHex(line.substr(b + 1), d.data(), d.size()))
      return bad("expected '<site> <field> <32 hex digits>'");
    std::pair<std::string, std::string> field(line.substr(0, a), line.substr(a + 1, b - a - 1));
    if (std::find(e.fields.begin(), e.fields.end(), field) == e.fields.end())
      e.fields.push_back(std::move(field));
    e.digests.push_back(d);
  }
  if (number > 0 && !keyed) return Status::Corruption(where + ": no key line");
  std::sort(e.digests.begin(), e.digests.end());
  return e;
}

Status SuppressionList::Refresh() {
  std::lock_guard refreshing(refresh_mu_);
  auto text = store_->ReadIfChanged();
  if (!text.ok()) return text.status();
  if (!text->has_value()) return Status::Ok();
  auto parsed = Parse(**text, store_->Describe());
  if (!parsed.ok()) return parsed.status();
  std::lock_guard lock(mu_);
  current_ = std::make_shared<const Entries>(std::move(parsed).value());
  generation_.fetch_add(1, std::memory_order_release);
  return Status::Ok();
}

const SuppressionList::Entries& SuppressionList::Current(Snapshot& snapshot) const {
  if (snapshot.generation != generation_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mu_);
    snapshot.entries = current_;
    snapshot.generation = generation_.load(std::memory_order_relaxed);
  }
  return *snapshot.entries;
}

bool SuppressionList::Contains(const Entries& entries, std::string_view site,
                               std::string_view field, std::string_view value) {
  return !entries.digests.empty() &&
         std::binary_search(entries.digests.begin(), entries.digests.end(),
                            Digest(entries.key, site, field, value));
}

Status SuppressionList::Add(Store& store, std::string_view site, std::string_view field,
                            std::string_view value) {
  HashKey fresh{};
  if (RAND_bytes(fresh.data(), static_cast<int>(fresh.size())) != 1)
    return Status::Internal("no random bytes for the suppression list's key");
  const std::string header =
      std::string(kMagic) + "\nkey " + Hex(fresh.data(), fresh.size()) + "\n";
  OPENSSL_cleanse(fresh.data(), fresh.size());
  const std::string where = store.Describe();
  return store.Append(header, [&](std::string_view text) -> Result<std::string> {
    if (text.empty())  // another erasure created it and has not written its header yet
      return Status::Unavailable(where + ": being created by another erasure; run again");
    auto parsed = Parse(text, where);  // the key of the list as it is, and a check of it
    if (!parsed.ok()) return parsed.status();
    std::string line = std::string(site) + " " + std::string(field) + " ";
    AppendHex(Digest(parsed->key, site, field, value), line);
    return line + "\n";
  });
}

}  // namespace oceanus::event
