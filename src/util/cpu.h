// How many cores this process may really use: what `server.threads: 0` means.
//
// std::thread::hardware_concurrency() counts the machine's cores. Inside a container with a
// CPU limit (Kubernetes `resources.limits.cpu`, `docker run --cpus`) that is too many: the
// kernel throttles the surplus threads, which costs latency and buys nothing. The limit is a
// CFS quota in the process's cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`);
// an affinity mask (taskset, cpusets) also narrows it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace oceanus {

// min(cores in the affinity mask, the cgroup quota rounded up), at least 1.
unsigned UsableCores();

// The quota in a cgroup v2 `cpu.max` file ("150000 100000" → 2, i.e. rounded up; "max 100000"
// → none). Nothing for text that is not a quota.
std::optional<unsigned> CoresFromCpuMax(std::string_view text);

// How background threads (loading, rules, tasks, and the threads they start, which inherit
// it) give way to the I/O threads on a shared core (server.background_priority).
enum class BackgroundPriority : std::uint8_t {
  // Nice 5: a third of an I/O thread's share of a contended core, enough to keep up (they
  // batch). The kernel (EEVDF) still lets one finish its time slice before a woken I/O thread
  // runs, so an answer can wait a few milliseconds behind a SQLite transaction.
  kNice,
  // SCHED_IDLE: they run only when no other thread of any process wants the core, and a woken
  // I/O thread takes the core from them at once. Answers never wait for them; loading waits
  // while the core is fully busy (with oceanus or with any other process).
  kIdle,
};
inline constexpr int kBackgroundNice = 5;

// Makes the calling thread a background thread (Linux: per thread). Lowering one's own
// priority needs no privilege; a failure leaves the thread as it was and is not an error worth
// stopping for.
void SetBackgroundPriority(BackgroundPriority priority);

}  // namespace oceanus
