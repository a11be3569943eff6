// Process-wide run-time settings: libtorch threads and the compute device.
#pragma once

#include <torch/torch.h>

#include <string>

namespace garden {

// Sets libtorch's intra-op threads; 0 means "all available cores", or $OMP_NUM_THREADS
// where it is set to a positive count.
int configure_threads(int requested);

// Keeps freed memory in the heap for the next allocation rather than handing it back to the
// kernel: libtorch allocates a fresh buffer for most results, and glibc's defaults (mmap for
// large blocks, then munmap; trimming the heap top) turn every such buffer into page faults.
// Measured on the LIMIT optimiser (d=14): 3.6x faster, system time 12 s -> 0.2 s; on a base
// LM v2 training step (8k vocabulary, 256-token windows): 2.6x. Call once at start-up;
// returns whether glibc accepted both settings.
bool tune_allocator();

// OpenBLAS picks its kernels from the processor's model number, and the OpenBLAS of Debian 12
// (0.3.21) does not know recent Xeons (family 6, model 207 among them): it falls back to its
// SSE3 "Prescott" kernels. On such a processor with AVX2 and FMA, when OPENBLAS_CORETYPE is not
// set, this re-executes the program with OPENBLAS_CORETYPE=Haswell (the variable is read when
// the library loads, before main): a d=128 DSI training step ran 1.9x faster (100 steps, one
// thread: 50.3 s -> 26.4 s). Haswell's kernels rather than OpenBLAS's AVX-512 ones, which are
// faster still, because AVX-512 kernels of older OpenBLAS builds have given wrong results on
// such processors (docs/performance.md, "Which BLAS"). Returns only when nothing is to be done
// (or the re-execution failed); on the second start the variable is set, so it returns.
void use_known_blas_kernels(char** argv);

// "auto" picks CUDA when this libtorch has it and a GPU is present, else CPU.
torch::Device resolve_device(const std::string& name);

}  // namespace garden
