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

}  // namespace oceanus
