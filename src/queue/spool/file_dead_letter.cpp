// FileDeadLetter: JSON lines, appended and synced; see the header.
#include "queue/spool/file_dead_letter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "util/json.h"
#include "util/time.h"

namespace oceanus::queue {

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
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("open " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::IoError("write " + path + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fdatasync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced) return Status::IoError("fdatasync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace oceanus::queue
