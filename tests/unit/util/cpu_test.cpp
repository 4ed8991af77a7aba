#include "util/cpu.h"

#include <gtest/gtest.h>
#include <sched.h>

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

}  // namespace
}  // namespace oceanus
