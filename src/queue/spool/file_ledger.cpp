// FileLedger: a map mirrored by an append-only, synced log; see the header.
#include "queue/spool/file_ledger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace oceanus::queue {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

// Keys and values are single fields of a line.
bool Storable(const std::string& s) {
  return s.find_first_of("\t\n") == std::string::npos && !s.empty();
}

Status CheckStorable(std::span<const std::string> keys, std::span<const std::string> values) {
  if (keys.size() != values.size())
    return Status::InvalidArgument("ledger: as many values as keys are needed");
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (!Storable(keys[i]) || !Storable(values[i]))
      return Status::InvalidArgument(
          "ledger: keys and values must be non-empty, without tab or "
          "newline");
  return Status::Ok();
}

void AppendPut(std::string& lines, const std::string& key, const std::string& value) {
  lines += '+';
  lines += key;
  lines += '\t';
  lines += value;
  lines += '\n';
}

}  // namespace

Result<std::unique_ptr<FileLedger>> FileLedger::Open(const std::string& dir,
                                                     const std::string& name) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir", dir);
  std::unique_ptr<FileLedger> ledger(new FileLedger(dir + "/" + name + ".log"));
  if (Status s = ledger->Load(); !s.ok()) return s;
  return ledger;
}

Status FileLedger::Load() {
  std::string text;
  {
    std::ifstream in(path_, std::ios::binary);
    if (in) text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::size_t complete = 0;  // bytes up to the last newline
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) break;
    const std::string_view line(text.data() + pos, end - pos);
    if (line.size() > 1 && line[0] == '+') {
      const std::size_t tab = line.find('\t');
      if (tab != std::string_view::npos)
        map_[std::string(line.substr(1, tab - 1))] = std::string(line.substr(tab + 1));
    } else if (line.size() > 1 && line[0] == '-') {
      map_.erase(std::string(line.substr(1)));
    }
    ++lines_;
    pos = complete = end + 1;
  }
  fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd_.valid()) return Errno("open", path_);
  // A torn last line is cut off, so that the next line starts on a line of its own.
  if (::ftruncate(fd_.get(), static_cast<off_t>(complete)) != 0) return Errno("truncate", path_);
  if (::lseek(fd_.get(), 0, SEEK_END) < 0) return Errno("seek", path_);
  return Status::Ok();
}

Status FileLedger::Compact() {
  std::string text;
  for (const auto& [key, value] : map_) AppendPut(text, key, value);
  const std::string tmp = path_ + ".tmp";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) return Errno("open", tmp);
  if (Status s = WriteAll(out.get(), text, tmp); !s.ok()) return s;
  if (::fdatasync(out.get()) != 0) return Errno("fdatasync", tmp);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return Errno("rename", tmp);
  const std::string dir = path_.substr(0, path_.rfind('/'));
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.valid()) ::fsync(d.get());
  fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd_.valid()) return Errno("open", path_);
  lines_ = map_.size();
  return Status::Ok();
}

Status FileLedger::Log(const std::string& lines, bool sync) {
  if (lines_ > 4 * map_.size() + 10'000) {
    if (Status s = Compact(); !s.ok()) return s;
  }
  if (Status s = WriteAll(fd_.get(), lines, path_); !s.ok()) return s;
  for (char c : lines) lines_ += c == '\n';
  if (sync && ::fdatasync(fd_.get()) != 0) return Errno("fdatasync", path_);
  return Status::Ok();
}

Result<std::vector<std::optional<std::string>>> FileLedger::Get(std::span<const std::string> keys) {
  std::lock_guard lock(mu_);
  std::vector<std::optional<std::string>> out(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (auto it = map_.find(keys[i]); it != map_.end()) out[i] = it->second;
  return out;
}

Result<std::vector<std::string>> FileLedger::PutIfAbsent(std::span<const std::string> keys,
                                                         std::span<const std::string> values) {
  if (Status s = CheckStorable(keys, values); !s.ok()) return s;
  std::lock_guard lock(mu_);
  std::vector<std::string> out(keys.size());
  std::string lines;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto [it, added] = map_.try_emplace(keys[i], values[i]);
    if (added) AppendPut(lines, keys[i], values[i]);
    out[i] = it->second;
  }
  if (Status s = Log(lines, true); !s.ok()) {
    for (std::size_t i = 0; i < keys.size(); ++i)  // not durable: not there
      if (auto it = map_.find(keys[i]); it != map_.end() && it->second == values[i]) map_.erase(it);
    return s;
  }
  return out;
}

Result<std::vector<std::string>> FileLedger::Replace(std::span<const std::string> keys,
                                                     std::span<const std::string> expected,
                                                     std::span<const std::string> values) {
  if (Status s = CheckStorable(keys, values); !s.ok()) return s;
  if (expected.size() != keys.size())
    return Status::InvalidArgument("ledger: as many expected values as keys are needed");
  std::lock_guard lock(mu_);
  std::vector<std::string> out(keys.size());
  std::vector<std::pair<std::string, std::string>> undo;
  std::string lines;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto it = map_.find(keys[i]);
    if (it != map_.end() && it->second == expected[i]) {
      undo.emplace_back(keys[i], it->second);
      it->second = values[i];
      AppendPut(lines, keys[i], values[i]);
    }
    out[i] = it == map_.end() ? std::string() : it->second;
  }
  if (Status s = Log(lines, true); !s.ok()) {
    for (auto& [key, value] : undo) map_[key] = std::move(value);
    return s;
  }
  return out;
}

Status FileLedger::Erase(std::span<const std::string> keys) {
  std::lock_guard lock(mu_);
  std::string lines;
  for (const auto& key : keys) {
    if (map_.erase(key) == 0) continue;
    lines += '-';
    lines += key;
    lines += '\n';
  }
  return lines.empty() ? Status::Ok() : Log(lines, false);
}

std::size_t FileLedger::size() const {
  std::lock_guard lock(mu_);
  return map_.size();
}

}  // namespace oceanus::queue
