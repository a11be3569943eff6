// Batch sources for LM training. A source is a pure function of (step): the batch of step s
// is drawn from a generator seeded by (seed, s), so "where the data iterator is" is just
// the step number and resuming a run reproduces its batches exactly.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "garden/text/bigram_backcopy.h"
#include "garden/text/tokenizer.h"

namespace garden::train {

struct Batch {
  torch::Tensor input;           // [B,T] int64
  torch::Tensor target;          // [B,T] int64
  torch::Tensor loss_mask;       // [B,T] float, 1 = counted; undefined = all counted
  torch::Tensor attention_mask;  // [B,T] 1 = real token; undefined = no padding
  int64_t tokens() const { return input.numel(); }
  // Rows [begin, end) of every tensor (a rank's share of a global batch).
  Batch rows(int64_t begin, int64_t end) const {
    auto slice = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, begin, end - begin) : t; };
    return Batch{slice(input), slice(target), slice(loss_mask), slice(attention_mask)};
  }
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual Batch train_batch(int64_t step) const = 0;
  // Fixed held-out batches, the same at every evaluation.
  virtual std::vector<Batch> eval_batches() const = 0;
  virtual std::string describe() const = 0;
};

// A token stream cut into windows of `seq` tokens. Every window starts with BOS (so position
// 0 is always the same token, the place an attention sink can form), followed by seq-1
// tokens of text; the target is the window shifted by one.
class TokenWindows final : public BatchSource {
 public:
  TokenWindows(std::vector<int32_t> train_tokens, std::vector<int32_t> eval_tokens, int64_t bos, int64_t seq,
               int64_t batch, int64_t eval_windows, uint64_t seed);
  Batch train_batch(int64_t step) const override;
  std::vector<Batch> eval_batches() const override;
  std::string describe() const override;

 private:
  Batch windows_at(const std::vector<int32_t>& tokens, const std::vector<int64_t>& starts) const;
  std::vector<int32_t> train_, eval_;
  int64_t bos_, seq_, batch_, eval_windows_;
  uint64_t seed_;
};

// A token row with a per-token loss mask: tokens[i] is a target when counted[i] is 1.
struct TokenRow {
  std::vector<int64_t> tokens;
  std::vector<uint8_t> counted;
};

// Prompt/completion examples from JSONL ({"prompt": ..., "completion": ...}): each example
// is BOS + prompt + completion + EOS, right-padded; only completion (and EOS) tokens count.
class PromptCompletionBatches final : public BatchSource {
 public:
  PromptCompletionBatches(const std::filesystem::path& train_file, const std::filesystem::path& eval_file,
                          const text::Tokenizer& tokenizer, int64_t seq, int64_t batch, uint64_t seed);
  // More training rows, each a prompt (not counted) then a completion (counted), as
  // safety-augmentation rows are (train/safety_augmentation.h). A row whose counted tokens are
  // not one final stretch, or longer than seq + 1, is refused.
  void add_train_rows(const std::vector<TokenRow>& rows, const std::string& where);
  Batch train_batch(int64_t step) const override;
  std::vector<Batch> eval_batches() const override;
  std::string describe() const override;

 private:
  struct Example {
    std::vector<int64_t> tokens;
    int64_t prompt_length;
  };
  std::vector<Example> read(const std::filesystem::path& file, const text::Tokenizer& tokenizer) const;
  Batch collate(const std::vector<const Example*>& examples) const;
  std::vector<Example> train_, eval_;
  int64_t pad_, seq_, batch_;
  uint64_t seed_;
};

// Token rows with a per-token loss mask (chat dialogues whose assistant turns train): row r's
// tokens[i] is a target when counted[i] is 1. Rows are right-padded to the longest of a batch.
// Each training step draws its rows from one length bucket (16 tokens wide), the bucket
// chosen with probability proportional to its rows, so every row is as likely as under
// uniform sampling while a batch of short rows does not pad to the longest row of the set.
class TokenRowBatches final : public BatchSource {
 public:
  TokenRowBatches(std::vector<TokenRow> train, std::vector<TokenRow> eval, int64_t pad, int64_t batch, uint64_t seed);
  Batch train_batch(int64_t step) const override;
  std::vector<Batch> eval_batches() const override;
  std::string describe() const override;

 private:
  Batch collate(const std::vector<const TokenRow*>& rows) const;
  std::vector<TokenRow> train_, eval_;
  std::vector<std::vector<size_t>> buckets_;  // train row indices by length bucket
  std::vector<size_t> bucket_sizes_;
  int64_t pad_, batch_;
  uint64_t seed_;
};

// Sequences of the Bigram-Backcopy task (text/bigram_backcopy.h): each row is BOS followed by
// seq tokens of the task, input the first seq and target the last seq. Training sequences
// are drawn per step from (seed, step); the held-out ones from a generator of their own that
// does not depend on the seed, so every arm and seed is evaluated on the same sequences.
class BigramBackcopyBatches final : public BatchSource {
 public:
  BigramBackcopyBatches(text::BigramBackcopy task, int64_t seq, int64_t batch, int64_t eval_sequences, uint64_t seed);
  Batch train_batch(int64_t step) const override;
  std::vector<Batch> eval_batches() const override;
  std::string describe() const override;
  const text::BigramBackcopy& task() const { return task_; }

 private:
  Batch sequences(std::mt19937_64& rng, int64_t count) const;
  text::BigramBackcopy task_;
  int64_t seq_, batch_, eval_sequences_;
  uint64_t seed_;
};

// Tokenizes text line by line, joining lines with the tokenizer's newline token.
std::vector<int32_t> encode_corpus(const text::Tokenizer& tokenizer, const std::string& text);

}  // namespace garden::train
