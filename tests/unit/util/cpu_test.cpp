#include "util/cpu.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>

#include <thread>

namespace oceanus {
namespace {

TEST(CpuTest, QuotaFromCpuMaxRoundsUp) {
  EXPECT_EQ(CoresFromCpuMax("200000 100000\n"), 2u);
  EXPECT_EQ(CoresFromCpuMax("150000 100000"), 2u);
  EXPECT_EQ(CoresFromCpuMax("50000 100000"), 1u);  // half a core still gets one thread
  EXPECT_EQ(CoresFromCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax(""), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax("garbage"), std::nullopt);
  EXPECT_EQ(CoresFromCpuMax("0 100000"), std::nullopt);
}

TEST(CpuTest, UsableCoresIsWithinTheMachine) {
  const unsigned cores = UsableCores();
  EXPECT_GE(cores, 1u);
  EXPECT_LE(cores, std::max(1u, std::thread::hardware_concurrency()));
}

// taskset -c 0 oceanus run: one I/O thread. The mask is per thread, so a thread of the test
// narrows its own and asks.
TEST(CpuTest, AnAffinityMaskOfOneCoreMeansOne) {
  unsigned seen = 0;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    seen = UsableCores();
  });
  t.join();
  EXPECT_EQ(seen, 1u);
}

TEST(CpuTest, BackgroundThreadsAreNiceOrIdleAndTheirThreadsInheritIt) {
  auto policy_and_nice = [](BackgroundPriority priority) {
    std::pair<int, int> seen{-1, -1};
    std::thread([&] {
      SetBackgroundPriority(priority);
      std::thread([&] {  // a thread it starts, as the loader's reading thread
        seen = {sched_getscheduler(0), getpriority(PRIO_PROCESS, 0)};
      })
          .join();
    }).join();
    return seen;
  };
  EXPECT_EQ(policy_and_nice(BackgroundPriority::kNice), std::make_pair(SCHED_OTHER, 5));
  EXPECT_EQ(policy_and_nice(BackgroundPriority::kIdle), std::make_pair(SCHED_IDLE, 5));
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);  // the caller is left as it was
}

}  // namespace
}  // namespace oceanus
