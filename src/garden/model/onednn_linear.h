// x W^T (a bias-free linear layer) with its products run by oneDNN's matmul, called
// directly, on the CPU.
//
// Why not libtorch's: libtorch 1.13 sends float32 products to the BLAS (OpenBLAS, whose
// kernels this environment pins to Haswell's AVX2 ones on processors it does not know) and
// reaches oneDNN only for bf16 ones. oneDNN picks its kernels from the instructions the
// processor has (AVX-512, AMX) and is the library libtorch's bf16 products already run on;
// docs/performance.md ("Products through oneDNN") has the measurements.
//
// Same math as torch::nn::functional::linear: float32 products accumulate in float32. While
// training under CPU bf16 autocast, the inputs and the weight are rounded to bf16 and the
// output is bf16, as autocast's linear does, while the backward writes the gradients in their
// tensors' own dtype (float32) from the products' float32 accumulators instead of rounding
// them to bf16 first.
//
// Everything else goes to torch::nn::functional::linear: CUDA tensors, float64, fewer than 16
// rows (a decoding step, where a call's own cost outweighs the kernel), inference under bf16
// autocast (libtorch reaches the same oneDNN kernels there), a processor without bf16
// instructions under autocast, and any product oneDNN has only its reference kernel for.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace garden::model {

// Products of fewer rows than this go to libtorch (see above).
constexpr int64_t kOnednnMinimumRows = 16;

// x [..., K], weight [N, K] -> [..., N]; differentiable in both.
torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight);

// apply_linear(x, w) for each of `weights` ([N_i, K] each, one dtype), returned in order. While
// training through oneDNN (see onednn_linear_applies) as one product with the weights stacked,
// whose outputs are views of one [..., sum N_i] tensor: one cast of x under autocast, one
// primitive, and one input gradient instead of one per weight summed by autograd (the queries,
// keys and values of a layer share their input). Inside DecodeProducts, without gradients, also
// one product, of the weights packed side by side once for the scope; elsewhere one per weight.
std::vector<torch::Tensor> apply_linears(const torch::Tensor& x, const std::vector<torch::Tensor>& weights);

// Whether apply_linear() runs this call's products through oneDNN (tensors, autocast state).
bool onednn_linear_applies(const torch::Tensor& x, const torch::Tensor& weight);

// For a decoding loop: within its scope, on the calling thread, apply_linear's float32
// products without gradients (16 rows or more) run on oneDNN kernels built for their exact
// shapes, reading each weight from a copy packed once into the kernel's own layout, which the
// scope keeps (as much memory again as the weights it meets) and frees when it ends. A weight
// changed in place by a tensor operation (its version counter) is packed again; writes through
// .data() or a raw pointer (FusedAdamW's) are not seen, so a scope must not span a training
// step (generate's lasts one decode). Outside a scope products leave their sizes to run time
// (one primitive per layout serves every row count) and read the weights as they are,
// repacking them inside every call: right for encoding and training, whose row counts or
// weights change from call to call, while a decode repeats the same shapes on the same weights
// at every step (docs/performance.md, "Generation": the 64-row step's products took about
// half the time).
class DecodeProducts {
 public:
  DecodeProducts();
  ~DecodeProducts();
  DecodeProducts(const DecodeProducts&) = delete;
  DecodeProducts& operator=(const DecodeProducts&) = delete;
  struct Packs;

 private:
  std::unique_ptr<Packs> packs_;
  Packs* saved_;  // the enclosing scope's, restored at the end
};

// out = x W^T for a fixed row count M and fixed float32 CPU weights [N_i, K] (stacked, so that
// several weights sharing an input are one product [M, sum N_i]), on the caller's buffers: the
// kernel built for the exact shape and the weights packed into its layout once, at
// construction; each run sets two buffer addresses and executes. For decoding loops on buffers
// of their own (model/rows_decoder.h), where even DecodeProducts' per-call tensor work (an
// output tensor, a scratchpad, the packed weights' lookup, a stream) costs more than a 32-row
// product of a small model. The weights are read once: a later change to them is not seen.
class PackedProduct {
 public:
  // valid() is false where oneDNN has only its reference kernel, or for weights that are not
  // float32 CPU matrices of one width K.
  PackedProduct(int64_t rows, const std::vector<torch::Tensor>& weights);
  ~PackedProduct();
  PackedProduct(PackedProduct&&) noexcept;
  PackedProduct& operator=(PackedProduct&&) noexcept;
  bool valid() const { return state_ != nullptr; }
  int64_t width() const { return width_; }  // sum N_i
  // out [M, width()] = x [M, K] times the weights transposed; both contiguous float32. On the
  // calling thread's OpenMP threads.
  void run(const float* x, float* out) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  int64_t width_ = 0;
};

// a [..., M, K] x b [..., K, N] -> [..., M, N] (same batch sizes, no broadcasting), the
// attention's two products, differentiable in both. While training in float32 on the CPU
// (grad mode on, an operand requiring grad, no autocast) oneDNN runs them and their backward
// with the operands' strides as they are: transposed views are read in place, and oneDNN's
// batched kernels ran an attention's [32, 128, 32] x [32, 32, 128] product 4.6x faster than
// libtorch's (OpenBLAS). One primitive per shape and layout, which only training's repeating
// shapes pay for; everything else is torch::matmul.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace garden::model
