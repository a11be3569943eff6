// At most n holders at a time, the others admitted in arrival order. The server's generation
// requests (--max-generations) and its searches (one at a time) wait here: std::mutex and a
// plain condition variable let a thread that just released take its turn again, and under
// load (wrk, 64 connections) some requests starved past their clients' timeouts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

namespace garden::serve {

class FifoSlots {
 public:
  explicit FifoSlots(int64_t slots);
  void acquire();  // blocks until this caller's turn and a free slot
  void release();
  // Meets BasicLockable, for std::lock_guard.
  void lock() { acquire(); }
  void unlock() { release(); }

 private:
  // A release hands its slot straight to the first waiter and wakes that one alone (waking
  // every waiter to find the first costs 64 context switches a request at 64 clients).
  struct Waiter {
    std::condition_variable admitted;
    bool in = false;
  };
  std::mutex mutex_;
  std::deque<Waiter*> waiting_;
  int64_t free_;
};

}  // namespace garden::serve
