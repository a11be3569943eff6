#include "garden/core/runtime.h"

#include <malloc.h>

#include <thread>

#include "garden/core/error.h"

namespace garden {

int configure_threads(int requested) {
  if (requested < 0) usage_error("--threads must be >= 0 (0 = all cores), got " + std::to_string(requested));
  int n = requested;
  if (n == 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
  return n;
}

void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw Error("--device cuda: this libtorch build has no CUDA or no GPU is visible; use --device cpu");
    return torch::kCUDA;
  }
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  usage_error("--device must be auto, cpu or cuda, got '" + name + "'");
}

}  // namespace garden
