// FileDeadLetter: JSON lines, appended and synced; see the header.
#include "queue/spool/file_dead_letter.h"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "util/fd.h"
#include "util/json.h"
#include "util/time.h"

namespace oceanus::queue {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError(what + " " + path + ": " + std::strerror(errno));
}

// Opens `path` (creating it with `flags` & O_CREAT) and takes its exclusive lock, again when
// the name was renamed over while this waited for the lock (an Erase replaced the file).
// Invalid with errno set when the file cannot be opened (ENOENT without O_CREAT).
UniqueFd OpenLocked(const std::string& path, int flags) {
  while (true) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0644));
    if (!fd.valid()) return fd;
    if (::flock(fd.get(), LOCK_EX) != 0) return UniqueFd();
    struct stat held {
    }, named{};
    if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev)
      return fd;
  }
}

Status WriteAll(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

Result<std::string> ReadAll(int fd, const std::string& path) {
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", path);
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

// Writes `text` to `path` (created or truncated, or appended to with O_APPEND in `flags`) and
// syncs it.
Status WriteSynced(const std::string& path, int flags, std::string_view text) {
  UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644));
  if (!out.valid()) return Errno("open", path);
  if (Status s = WriteAll(out.get(), text, path); !s.ok()) return s;
  if (::fdatasync(out.get()) != 0) return Errno("fdatasync", path);
  return Status::Ok();
}

// FileDeadLetter::Take on one file (see the header); with `count_only`, only counts.
Result<long long> TakeFromFile(const std::string& path, const FileDeadLetter::LineTaker& take,
                               const std::function<Status()>& commit, const std::string& copy_to,
                               bool count_only) {
  UniqueFd fd = OpenLocked(path, O_RDONLY);
  if (!fd.valid()) return errno == ENOENT ? Result<long long>(0LL) : Errno("open", path);
  auto text = ReadAll(fd.get(), path);
  if (!text.ok()) return text.status();
  if (text->empty() && !count_only) {  // holds nothing to keep
    if (::unlink(path.c_str()) != 0) return Errno("remove", path);
    return 0LL;
  }
  std::string kept, taken;
  long long count = 0;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl == rest.npos ? rest.size() : nl + 1);
    rest.remove_prefix(line.size());
    auto leaves = take(line);
    if (!leaves.ok()) return leaves.status();
    std::string& to = *leaves ? taken : kept;
    to += line;
    if (*leaves) ++count;
  }
  if (count_only || count == 0) return count;
  if (commit) {
    if (Status s = commit(); !s.ok()) return s;
  }
  if (!copy_to.empty()) {
    if (Status s = WriteSynced(copy_to, O_APPEND, taken); !s.ok()) return s;
  }
  // Renamed over (or removed) while locked: a Put waiting for the lock opens the name again.
  if (kept.empty()) {
    if (::unlink(path.c_str()) != 0) return Errno("remove", path);
    return count;
  }
  const std::string tmp = path + ".erasing";
  if (Status s = WriteSynced(tmp, O_TRUNC, kept); !s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  return count;
}

}  // namespace

bool RecordOfLine(std::string_view line, std::string& record) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  auto it = doc.FindMember("record");
  if (it == doc.MemberEnd() || !it->value.IsString()) return false;
  record.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

Status FileDeadLetter::Put(const std::string& site, const std::vector<Item>& items) {
  if (items.empty()) return Status::Ok();
  ::mkdir(dir_.c_str(), 0755);
  const std::string path = dir_ + "/" + site + ".jsonl";
  std::string text;
  char now[32];
  const std::string at(now, FormatUtcMicros(std::chrono::system_clock::now(), now));
  for (const auto& item : items) {
    text += "{\"at\":";
    AppendJsonString(text, at);
    text += ",\"reason\":";
    AppendJsonString(text, item.reason);
    text += ",\"record\":";
    AppendJsonString(text, item.record);
    text += "}\n";
  }
  UniqueFd fd = OpenLocked(path, O_WRONLY | O_CREAT | O_APPEND);
  if (!fd.valid()) return Errno("open", path);
  if (Status s = WriteAll(fd.get(), text, path); !s.ok()) return s;
  if (::fdatasync(fd.get()) != 0) return Errno("fdatasync", path);
  return Status::Ok();
}

Result<long long> FileDeadLetter::Erase(const std::string& site, const RecordMatcher& matches,
                                        bool count_only) {
  const std::string base = site + ".jsonl";
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == base || name.starts_with(base + ".replayed-")) paths.push_back(entry.path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return Status::IoError("listing " + dir_ + ": " + ec.message());
  long long erased = 0;
  for (const auto& path : paths) {
    std::string record;
    const LineTaker erases = [&](std::string_view line) -> Result<bool> {
      return RecordOfLine(line, record) && matches(record);
    };
    auto n = TakeFromFile(path, erases, nullptr, "", count_only);
    if (!n.ok()) return n.status();
    erased += *n;
  }
  return erased;
}

Result<long long> FileDeadLetter::Take(const std::string& site, const LineTaker& take,
                                       const std::function<Status()>& commit,
                                       const std::string& copy_to) {
  return TakeFromFile(dir_ + "/" + site + ".jsonl", take, commit, copy_to, false);
}

}  // namespace oceanus::queue
