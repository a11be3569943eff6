// Work split into independent parts, a part per thread. Kept free of libtorch so that it
// compiles with -fopenmp (like decode_kernels.cpp), which garden's libtorch sources are not.
#pragma once

#include <cstdint>
#include <functional>

namespace garden::model {

// Runs task(0) .. task(count - 1) at once, each on an OpenMP thread of its own (the caller
// chooses `count`), with OpenMP's thread count of that thread set to 1 so that the parallel
// regions inside a task (libtorch's, oneDNN's, garden's loops) stay on its thread: for work
// that splits into independent parts, where a part per thread beats every operation forking
// and joining both threads (a decode's rows, a training step's rows). The first exception a
// task throws is rethrown once every task has ended.
void run_tasks_on_threads(int64_t count, const std::function<void(int64_t)>& task);

}  // namespace garden::model
