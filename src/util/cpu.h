// How many cores this process may really use: what `server.threads: 0` means.
//
// std::thread::hardware_concurrency() counts the machine's cores. Inside a container with a
// CPU limit (Kubernetes `resources.limits.cpu`, `docker run --cpus`) that is too many: the
// kernel throttles the surplus threads, which costs latency and buys nothing. The limit is a
// CFS quota in the process's cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`);
// an affinity mask (taskset, cpusets) also narrows it.
#pragma once

#include <optional>
#include <string_view>

namespace oceanus {

// min(cores in the affinity mask, the cgroup quota rounded up), at least 1.
unsigned UsableCores();

// The quota in a cgroup v2 `cpu.max` file ("150000 100000" → 2, i.e. rounded up; "max 100000"
// → none). Nothing for text that is not a quota.
std::optional<unsigned> CoresFromCpuMax(std::string_view text);

// The nice value of background threads (loading, rules, tasks), and of the threads they
// start, which inherit it: when they share a core with an I/O thread, the kernel runs the
// I/O thread first on its wake-up, so a beacon does not wait behind a SQLite transaction.
// Nice 5 still gives them a third of the I/O thread's share of a contended core, enough to
// keep up (they batch), and nothing on an idle one.
inline constexpr int kBackgroundNice = 5;

// Sets the calling thread's nice value (Linux: per thread). Raising it needs no privilege;
// a failure leaves the thread as it was and is not an error worth stopping for.
void SetThreadNice(int nice);

}  // namespace oceanus
