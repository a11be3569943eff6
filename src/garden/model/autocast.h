// bf16 autocast for a scope: matrix products run in bf16 while weights, reductions and
// outputs stay float32 (CPU or CUDA). Training uses it for every step of a bf16 run; encoding
// uses it where the model was trained that way, since on a CPU with bf16 instructions a
// forward pass takes less than half its float32 time.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace garden::model {

class AutocastScope {
 public:
  AutocastScope(bool enabled, torch::Device device) : enabled_(enabled), cuda_(device.is_cuda()) {
    if (!enabled_) return;
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (cuda_) at::autocast::set_enabled(false); else at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_, cuda_;
};

// Autocast off (CPU and CUDA) for a scope, restored on exit: for code that picks each
// product's dtype itself (model/blockwise_attention.cpp).
class AutocastOff {
 public:
  AutocastOff() : cpu_(at::autocast::is_cpu_enabled()), gpu_(at::autocast::is_enabled()) {
    at::autocast::set_cpu_enabled(false);
    at::autocast::set_enabled(false);
  }
  ~AutocastOff() {
    at::autocast::set_cpu_enabled(cpu_);
    at::autocast::set_enabled(gpu_);
  }
  AutocastOff(const AutocastOff&) = delete;
  AutocastOff& operator=(const AutocastOff&) = delete;

 private:
  bool cpu_, gpu_;
};

}  // namespace garden::model
