// ThreadPool: every submitted job runs exactly once, before and after Join.
#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace oceanus {
namespace {

TEST(ThreadPoolTest, JoinRunsEveryQueuedJob) {
  std::atomic<int> ran{0};
  ThreadPool pool(2);
  for (int i = 0; i < 100; ++i) pool.Submit([&ran] { ran.fetch_add(1); });
  pool.Join();
  EXPECT_EQ(ran.load(), 100);
}

TEST(ThreadPoolTest, SubmitAfterJoinRunsOnTheCallingThread) {
  ThreadPool pool(1);
  pool.Join();
  std::thread::id ran_on;
  int runs = 0;
  pool.Submit([&] {
    ran_on = std::this_thread::get_id();
    ++runs;
  });
  // Run before Submit returned, where the caller is: no thread is left to take it.
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  pool.Join();  // idempotent, and runs nothing twice
  EXPECT_EQ(runs, 1);
}

TEST(ThreadPoolTest, APoolWithoutThreadsRunsJobsInline) {
  ThreadPool pool(0);
  int runs = 0;
  pool.Submit([&runs] { ++runs; });
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace oceanus
