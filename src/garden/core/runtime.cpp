#include "garden/core/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <strings.h>
#include <unistd.h>

#include <cstdlib>

#include <thread>

#include "garden/core/error.h"

namespace garden {

int configure_threads(int requested) {
  if (requested < 0) usage_error("--threads must be >= 0 (0 = all cores), got " + std::to_string(requested));
  int n = requested;
  if (n == 0) {
    // $OMP_NUM_THREADS, where set, is the share of the cores this process was given (garden
    // launch gives each rank its share); otherwise all of them.
    const char* share = std::getenv("OMP_NUM_THREADS");
    char* end = nullptr;
    const long given = share != nullptr ? std::strtol(share, &end, 10) : 0;
    n = share != nullptr && *share != '\0' && *end == '\0' && given > 0 && given <= 4096
            ? static_cast<int>(given)
            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  torch::set_num_threads(n);
  return n;
}

void use_known_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  using CoreName = char* (*)();
  const auto corename = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (corename == nullptr) return;  // another BLAS
  const char* name = corename();
  if (name == nullptr || strcasecmp(name, "prescott") != 0) return;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // the re-execution failed: carry on with the kernels we have
}

bool tune_allocator() {
  // glibc serves every block above its mmap threshold (at most 32 MB on 64-bit) by a fresh
  // mmap and unmaps it on free, and trims the heap top back to the system:
  // a training step's large tensors (an 8k-vocabulary head's logits alone are 130 MB) then
  // fault in new zeroed pages on every step, which made a step 2-3x slower than the same
  // arithmetic on reused memory. Large blocks come from the heap and freed memory stays
  // for the next step; the process holds its peak until it exits.
  // (The earlier setting, an mmap threshold of 256 MB, was silently refused: mallopt returns
  // 0 above 32 MB.) -1 turns trimming off.
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, -1) == 1;
  return no_mmap && no_trim;
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
