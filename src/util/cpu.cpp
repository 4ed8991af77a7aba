// UsableCores: the affinity mask, then the cgroup CPU quota (see cpu.h for why).
#include "util/cpu.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>
#include <thread>

namespace oceanus {
namespace {

std::optional<long long> ParseInteger(std::string_view s) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<unsigned> CoresFromQuota(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;  // -1 (v1) = no limit
  return static_cast<unsigned>(std::max(1LL, (quota + period - 1) / period));
}

std::string ReadFirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The quota of the process's own cgroup. /proc/self/cgroup names it per hierarchy:
// "0::/kubepods/.../x" (v2) or "4:cpu,cpuacct:/docker/x" (v1). In a container with its own
// cgroup namespace the path is "/", which is where the limit then is.
std::optional<unsigned> CgroupQuota() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  std::string v2, v1;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    const std::string path = line.substr(second + 1);
    if (line.rfind("0::", 0) == 0) v2 = path;
    if (controllers.find(",cpu,") != std::string::npos) v1 = path;
  }
  if (auto q = CoresFromCpuMax(ReadFirstLine(("/sys/fs/cgroup" + v2 + "/cpu.max").c_str()))) {
    return q;
  }
  for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
    const std::string dir = mount + v1;
    const auto quota = ParseInteger(ReadFirstLine((dir + "/cpu.cfs_quota_us").c_str()));
    const auto period = ParseInteger(ReadFirstLine((dir + "/cpu.cfs_period_us").c_str()));
    if (quota && period) return CoresFromQuota(*quota, *period);
  }
  return std::nullopt;
}

}  // namespace

std::optional<unsigned> CoresFromCpuMax(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = ParseInteger(text.substr(0, space));  // "max": no limit
  const auto period = ParseInteger(text.substr(space + 1));
  if (!quota || !period) return std::nullopt;
  return CoresFromQuota(*quota, *period);
}

unsigned UsableCores() {
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    cores = std::min(cores, static_cast<unsigned>(std::max(1, CPU_COUNT(&set))));
  }
  if (const auto quota = CgroupQuota()) cores = std::min(cores, *quota);
  return std::max(1u, cores);
}

void SetBackgroundPriority(BackgroundPriority priority) {
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kBackgroundNice);
  if (priority == BackgroundPriority::kIdle) {
    const sched_param param{};
    ::sched_setscheduler(0, SCHED_IDLE, &param);  // 0: the calling thread
  }
}

}  // namespace oceanus
