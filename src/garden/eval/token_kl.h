// Per-token KL between two language models along a response (shallow-alignment.md,
// "Diagnosing shallowness"): D_k = mean over examples of KL(pi_a(. | x, y_<k) || pi_b(. | x,
// y_<k)) at the k-th response token, k = 1..K. Shallow alignment shows as D_k large for the
// first few k and near zero after.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "garden/model/transformer.h"
#include "garden/train/batches.h"

namespace garden::eval {

// KL(softmax(a) || softmax(b)) over the last dimension, in nats: logits [..., V] -> [...].
torch::Tensor kl_of_logits(const torch::Tensor& a, const torch::Tensor& b);

struct TokenKl {
  std::vector<double> kl;         // [K] mean KL at response positions 1..K
  std::vector<int64_t> examples;  // [K] examples whose response reaches that position
  // Over every response token, at any position (resist-alignment.md's KL to a reference on
  // given sequences): the mean KL per token and the tokens it is over.
  double mean = 0;
  int64_t tokens = 0;
};
// Over every eval batch of `data` (prompt-completion rows: the counted targets are the response
// and its end of text).
TokenKl per_token_kl(model::Transformer& a, model::Transformer& b, const train::BatchSource& data, int64_t positions);

struct TokenKlJob {
  std::string model, reference, responses;  // two model folders (or runs) and a prompt-completion JSONL
  int64_t positions = 16;
  int64_t batch = 32;
  torch::Device device = torch::kCPU;
};
TokenKl run_token_kl(const TokenKlJob& job);

}  // namespace garden::eval
