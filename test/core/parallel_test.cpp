#include "core/parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace dbmig {
namespace {

TEST(ParallelFor, CallsWorkOnceForEveryIndex) {
  for (const std::size_t count : {0UL, 1UL, 2UL, 3UL, 1000UL}) {
    std::vector<std::atomic<int>> calls(count);
    parallel_for(count, [&](std::size_t i) { calls[i].fetch_add(1); });
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(calls[i].load(), 1) << i << " of " << count;
  }
}

TEST(ParallelFor, UsesOneThreadPerCoreUpToEight) {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  std::atomic<int> waiting{0};
  // Each call waits (bounded) until a second call is running at the same time.
  parallel_for(64, [&](std::size_t) {
    {
      const std::lock_guard lock(mutex);
      seen.insert(std::this_thread::get_id());
    }
    waiting.fetch_add(1);
    for (int spin = 0; spin < 2000 && waiting.load() < 2; ++spin) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
  if (cores == 1) {
    EXPECT_EQ(seen.size(), 1U) << "one core: every call on the calling thread";
  } else {
    EXPECT_GE(seen.size(), 2U);
    EXPECT_LE(seen.size(), std::min<std::size_t>(cores, 8));
  }
}

TEST(ParallelFor, RethrowsTheLowestIndexErrorAfterEveryCallReturned) {
  std::atomic<int> finished{0};
  try {
    parallel_for(100, [&](std::size_t i) {
      if (i == 70 || i == 30 || i == 90) throw std::runtime_error("failed at " + std::to_string(i));
      finished.fetch_add(1);
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "failed at 30");
  }
  EXPECT_EQ(finished.load(), 97) << "a failing call does not stop the others";
}

}  // namespace
}  // namespace dbmig
