#include "garden/serve/fifo_slots.h"

#include <algorithm>

namespace garden::serve {

FifoSlots::FifoSlots(int64_t slots) : free_(std::max<int64_t>(1, slots)) {}

void FifoSlots::acquire() {
  std::unique_lock lock(mutex_);
  if (waiting_.empty() && free_ > 0) {
    --free_;
    return;
  }
  Waiter self;
  waiting_.push_back(&self);
  self.admitted.wait(lock, [&] { return self.in; });
}

void FifoSlots::release() {
  std::lock_guard lock(mutex_);
  if (waiting_.empty()) {
    ++free_;
    return;
  }
  Waiter* first = waiting_.front();
  waiting_.pop_front();
  first->in = true;
  first->admitted.notify_one();  // under the lock: `first` lives on its thread's stack until it wakes
}

}  // namespace garden::serve
