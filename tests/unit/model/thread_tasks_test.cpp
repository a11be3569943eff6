// run_tasks_on_threads: every task once, each on a thread of its own whose parallel regions
// stay on it, and a task's exception carried to the caller.
#include "garden/model/thread_tasks.h"

#include <gtest/gtest.h>
#include <omp.h>
#include <torch/torch.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "garden/model/decode_kernels.h"

namespace garden::model {
namespace {

TEST(ThreadTasks, RunTasksOnThreadsRunsEachTaskOnceOnAThreadOfItsOwnAndRethrows) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  std::vector<int> runs(3, 0), threads_inside(3, 0);
  std::set<std::thread::id> ids;
  std::mutex mutex;
  run_tasks_on_threads(3, [&](int64_t i) {
    std::lock_guard lock(mutex);
    ++runs[static_cast<size_t>(i)];
    threads_inside[static_cast<size_t>(i)] = omp_get_max_threads();
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(runs, (std::vector<int>{1, 1, 1}));
  // Parallel regions inside a task stay on its thread; the caller's own count is unchanged.
  EXPECT_EQ(threads_inside, (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(omp_get_max_threads(), 2);
  EXPECT_EQ(ids.size(), 3u);  // at once: a thread each, whatever the caller's count
  // A loop that splits rows between threads draws the same inside a task as outside.
  torch::manual_seed(3);
  const auto logits = torch::randn({16, 100});
  const std::vector<double> uniforms(16, 0.37);
  std::vector<int64_t> outside(16), inside(16);
  softmax_sample_rows(logits.data_ptr<float>(), 16, 100, uniforms.data(), outside.data());
  run_tasks_on_threads(1, [&](int64_t) { softmax_sample_rows(logits.data_ptr<float>(), 16, 100, uniforms.data(), inside.data()); });
  EXPECT_EQ(inside, outside);
  // A task's exception reaches the caller after every other task has run.
  std::atomic<int> finished{0};
  EXPECT_THROW(run_tasks_on_threads(4,
                                    [&](int64_t i) {
                                      if (i == 1) throw std::runtime_error("task 1");
                                      ++finished;
                                    }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 3);
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace garden::model
