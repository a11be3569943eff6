// Masked next-token prediction (LLM2Vec, arXiv:2404.05961, step 2): corrupt a fraction of
// the tokens, run the model with a bidirectional mask, and predict the original token at a
// masked position i from the logits of position i-1, so the LM head keeps its next-token
// alignment. Corruption is BERT-style (of the chosen positions 80% become the mask token,
// 10% a random token, 10% stay) or all-mask (RoBERTa-style, every chosen one masked).
// Padding, position 0 (it has no previous position) and the given special ids are never
// chosen.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace garden::train {

enum class MntpStrategy { bert, all_mask };
MntpStrategy parse_mntp_strategy(const std::string& name);
std::string to_string(MntpStrategy strategy);

struct MntpOptions {
  double rate = 0.2;
  MntpStrategy strategy = MntpStrategy::bert;
  int64_t mask_id = -1;                 // the <mask> piece (or any piece chosen as the mask)
  int64_t vocab = 0;                    // random replacements are drawn from [0, vocab) minus specials
  std::vector<int64_t> never_mask;      // special ids (BOS, EOS, PAD, ...)
};

struct MntpBatch {
  torch::Tensor input;   // [B,T] corrupted tokens
  torch::Tensor labels;  // [B,T] the original token where chosen, -100 elsewhere
};

// tokens [B,T] int64; attention_mask [B,T] (1 = real) or undefined. At least one position
// of the batch is chosen (when any is eligible), so the loss is always defined.
MntpBatch mask_for_mntp(const torch::Tensor& tokens, const torch::Tensor& attention_mask, const MntpOptions& options,
                        torch::Generator& generator);

// Mean cross-entropy of logits[:, i-1] against labels[:, i] over the chosen positions i.
torch::Tensor mntp_loss(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace garden::train
