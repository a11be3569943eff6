// The lean path of single-sequence decoding: one new token of one sequence through the model
// with matrix-vector products (BLAS gemv) instead of [1, C] x [C, F] matrix products, and
// the RoPE angles of its one position computed once for all layers. At garden's sizes a
// decode step is hundreds of tiny operations, where per-call costs dominate: a [1,128] x
// [128,344] product through torch's linear takes ~9.5 us, a gemv ~3.6 us, and OpenMP's
// fork-join for two threads costs more than the work, so the layers run on the calling
// thread alone (the vocabulary projection, the one large product, keeps every thread), and
// RMSNorm, RoPE and the single sequence's attention run as plain loops (decode_kernels.h)
// instead of six to seven libtorch calls each, in float32 without autograd.
// Its logits equal the full forward's to float rounding (tests/unit/model/decode_step_test.cpp).
#pragma once

#include <torch/torch.h>

#include "garden/model/kv_cache.h"
#include "garden/model/transformer.h"

namespace garden::model {

// Whether decode_step can run this model: everything but the attention output gate. The
// cache must hold one sequence without padding.
bool supports_decode_step(const TransformerConfig& config);

// Appends `token` of the one sequence in `cache` (batch 1, filled by a forward with the cache)
// and returns the next-token logits [V] in the model's dtype. The model must be in eval mode.
torch::Tensor decode_step(Transformer& model, int64_t token, KVCache& cache);

// The same for every row of a batched cache without padding (N samples of one prompt, or
// prompts of one length): tokens [N] int64, one per row, returns the logits [N,V]. Matrix
// products [N,C] x [C,F] take the rows together; the attention of each row's one query runs
// as loops over (row, head) pairs split between threads (float32 on the CPU; broadcast
// multiply-and-sum elsewhere), and none of the full forward's masks, position tensors,
// module calls or head transposes are built.
torch::Tensor decode_step_rows(Transformer& model, const torch::Tensor& tokens, KVCache& cache);

}  // namespace garden::model
