#include "garden/serve/fifo_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace garden::serve {
namespace {

// Twelve threads through two slots: never more than two inside, and everyone gets in.
TEST(FifoSlots, NeverMoreHoldersThanSlots) {
  FifoSlots slots(2);
  std::atomic<int> inside{0}, most{0}, done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i)
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        slots.acquire();
        const int now = ++inside;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        --inside;
        slots.release();
      }
      ++done;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 12);
  EXPECT_EQ(most.load(), 2);
}

// Waiters are admitted in the order they arrived: with the one slot held, five threads queue
// up one after another; released, they enter in that order.
TEST(FifoSlots, WaitersAreAdmittedInArrivalOrder) {
  FifoSlots slots(1);
  slots.acquire();
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      std::lock_guard turn(slots);
      std::lock_guard lock(order_mutex);
      order.push_back(i);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // thread i is waiting before i + 1 starts
  }
  slots.release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace garden::serve
