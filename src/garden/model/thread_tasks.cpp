#include "garden/model/thread_tasks.h"

#include <omp.h>

#include <exception>
#include <vector>

namespace garden::model {

void run_tasks_on_threads(int64_t count, const std::function<void(int64_t)>& task) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(count));
#pragma omp parallel num_threads(static_cast<int>(count))
  {
    omp_set_num_threads(1);  // this thread's own count (an implicit task's), not the caller's
#pragma omp for schedule(static, 1)
    for (int64_t i = 0; i < count; ++i) {
      try {
        task(i);
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
      }
    }
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

}  // namespace garden::model
