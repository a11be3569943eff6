// The lean step of N rows decoded together (generate's samples of one prompt, or prompts of
// one length) on buffers of its own. decode_step_rows does a step in a few hundred libtorch
// calls of microseconds each (an output tensor per operation, views, autograd's function
// machinery around every product even in inference mode, the cache's tensors re-viewed): at
// 32 rows of the base LM on one thread they were about a third of the step. Here a step is
// the products (PackedProduct: kernels built once for the row count, weights packed once) and
// decode_kernels' loops, writing keys and values straight into the cache's reserved room,
// with no tensor made after construction.
// Its logits equal decode_step_rows' to float rounding (tests/unit/model/rows_decoder_test.cpp).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "garden/model/kv_cache.h"
#include "garden/model/onednn_linear.h"
#include "garden/model/transformer.h"

namespace garden::model {

class RowsDecoder {
 public:
  // A decoder taking over `cache` (filled by a forward with it) until finish(), or nothing
  // where it does not run: weights other than float32 on the CPU, LayerNorm, an attention
  // gate, gradients on, a cache with padding or of one row (decode_step's case), or a product
  // oneDNN has only its reference kernel for. Meanwhile the model must stay unchanged and the
  // cache untouched but through the decoder.
  static std::unique_ptr<RowsDecoder> start(Transformer& model, KVCache& cache);
  // What start() asks of the model alone: float32 CPU weights, RMSNorm, no attention gate.
  static bool runs(Transformer& model);
  RowsDecoder(const RowsDecoder&) = delete;
  RowsDecoder& operator=(const RowsDecoder&) = delete;

  // Appends one token per row (N of them) and returns the next-token logits [N,V]: a tensor
  // over the decoder's own buffer, overwritten by the next step. On the calling thread's
  // OpenMP threads.
  torch::Tensor step(const std::vector<int64_t>& tokens);

  // Positions in the cache, the prompt's and those appended.
  int64_t length() const { return length_; }

  // Leaves the cache as decode_step_rows would have: every layer's keys and values, and
  // key_real, up to length().
  void finish();

 private:
  struct NormWeights {
    const float* weight;
    float eps;
  };
  struct Layer {
    NormWeights attention_norm, mlp_norm;
    PackedProduct qkv, o, mlp_in, down;
  };

  RowsDecoder(Transformer& model, KVCache& cache);
  // Every layer's cache views brought up to length(), then room for `positions` more.
  void reserve(int64_t positions);
  void sync_views();
  void norm(const NormWeights& norm, float* out) const;

  Transformer& model_;
  KVCache& cache_;
  TransformerConfig config_;
  int64_t rows_, length_, capacity_ = 0;
  std::vector<Layer> layers_;
  NormWeights final_norm_{};
  PackedProduct head_;
  // Workspace: the residual stream [N,C], the normed input [N,C], q|k|v side by side, the
  // queries [N,H,D], the heads' outputs [N,H*D], a projection [N,C], the MLP's input products
  // and activations, the logits [N,V]; the RoPE angles of the step's position.
  std::vector<float> x_, normed_, qkv_, queries_, heads_, projected_, hidden_, activated_;
  torch::Tensor logits_;
  std::vector<double> cos64_, sin64_;
  std::vector<float> cos_, sin_;
};

}  // namespace garden::model
