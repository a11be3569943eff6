// Process-wide run-time settings: libtorch threads and the compute device.
#pragma once

#include <torch/torch.h>

#include <string>

namespace garden {

// Sets libtorch's intra-op threads; 0 means "all available cores".
int configure_threads(int requested);

// "auto" picks CUDA when this libtorch has it and a GPU is present, else CPU.
torch::Device resolve_device(const std::string& name);

}  // namespace garden
