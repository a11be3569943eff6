#include "garden/train/batches.h"

#include <fmt/core.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/json.h"

namespace garden::train {

namespace {
// One generator per (seed, step): a SplitMix-style mix so neighbouring steps are unrelated.
std::mt19937_64 step_rng(uint64_t seed, int64_t step) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return std::mt19937_64(z ^ (z >> 31));
}
}  // namespace

std::vector<int32_t> encode_corpus(const text::Tokenizer& tokenizer, const std::string& text) {
  int64_t newline = tokenizer.spec() == "bytes" ? '\n' : tokenizer.piece_to_id("<0x0A>");
  if (newline < 0) newline = tokenizer.eos_id();
  std::vector<int32_t> tokens;
  tokens.reserve(text.size() / 2);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    for (int64_t id : tokenizer.encode(line)) tokens.push_back(static_cast<int32_t>(id));
    tokens.push_back(static_cast<int32_t>(newline));
  }
  return tokens;
}

TokenWindows::TokenWindows(std::vector<int32_t> train_tokens, std::vector<int32_t> eval_tokens, int64_t bos,
                           int64_t seq, int64_t batch, int64_t eval_windows, uint64_t seed)
    : train_(std::move(train_tokens)), eval_(std::move(eval_tokens)), bos_(bos), seq_(seq), batch_(batch),
      eval_windows_(eval_windows), seed_(seed) {
  if (seq_ < 2) usage_error(fmt::format("seq must be >= 2, got {}", seq_));
  if (batch_ < 1) usage_error(fmt::format("batch must be >= 1, got {}", batch_));
  if (static_cast<int64_t>(train_.size()) < seq_)
    throw Error(fmt::format("training text has {} tokens, fewer than one window of seq={}", train_.size(), seq_));
  if (static_cast<int64_t>(eval_.size()) < seq_)
    throw Error(fmt::format("validation text has {} tokens, fewer than one window of seq={}", eval_.size(), seq_));
}

Batch TokenWindows::windows_at(const std::vector<int32_t>& tokens, const std::vector<int64_t>& starts) const {
  const int64_t b = static_cast<int64_t>(starts.size());
  auto input = torch::empty({b, seq_}, torch::kLong);
  auto target = torch::empty({b, seq_}, torch::kLong);
  auto in = input.accessor<int64_t, 2>();
  auto out = target.accessor<int64_t, 2>();
  for (int64_t r = 0; r < b; ++r) {
    const int64_t s = starts[static_cast<size_t>(r)];
    in[r][0] = bos_;
    for (int64_t t = 1; t < seq_; ++t) in[r][t] = tokens[static_cast<size_t>(s + t - 1)];
    for (int64_t t = 0; t < seq_; ++t) out[r][t] = tokens[static_cast<size_t>(s + t)];
  }
  return {input, target, {}, {}};
}

Batch TokenWindows::train_batch(int64_t step) const {
  auto rng = step_rng(seed_, step);
  std::uniform_int_distribution<int64_t> pick(0, static_cast<int64_t>(train_.size()) - seq_);
  std::vector<int64_t> starts(static_cast<size_t>(batch_));
  for (auto& s : starts) s = pick(rng);
  return windows_at(train_, starts);
}

std::vector<Batch> TokenWindows::eval_batches() const {
  // Evenly spaced windows over the whole validation text.
  const int64_t span = static_cast<int64_t>(eval_.size()) - seq_;
  const int64_t n = std::max<int64_t>(1, std::min<int64_t>(eval_windows_, span + 1));
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < n; ++i) starts.push_back(n == 1 ? 0 : i * span / (n - 1));
  std::vector<Batch> batches;
  for (size_t i = 0; i < starts.size(); i += static_cast<size_t>(batch_)) {
    std::vector<int64_t> chunk(starts.begin() + static_cast<long>(i),
                               starts.begin() + static_cast<long>(std::min(starts.size(), i + static_cast<size_t>(batch_))));
    batches.push_back(windows_at(eval_, chunk));
  }
  return batches;
}

std::string TokenWindows::describe() const {
  return fmt::format("{} train / {} validation tokens, windows of {} starting with BOS", train_.size(), eval_.size(), seq_);
}

BigramBackcopyBatches::BigramBackcopyBatches(text::BigramBackcopy task, int64_t seq, int64_t batch, int64_t eval_sequences,
                                             uint64_t seed)
    : task_(std::move(task)), seq_(seq), batch_(batch), eval_sequences_(eval_sequences), seed_(seed) {
  if (seq_ < 2) usage_error(fmt::format("seq must be >= 2, got {}", seq_));
  if (batch_ < 1) usage_error(fmt::format("batch must be >= 1, got {}", batch_));
  if (eval_sequences_ < 1) usage_error(fmt::format("eval sequences must be >= 1, got {}", eval_sequences_));
}

Batch BigramBackcopyBatches::sequences(std::mt19937_64& rng, int64_t count) const {
  auto input = torch::empty({count, seq_}, torch::kLong);
  auto target = torch::empty({count, seq_}, torch::kLong);
  auto in = input.accessor<int64_t, 2>();
  auto out = target.accessor<int64_t, 2>();
  for (int64_t r = 0; r < count; ++r) {
    const auto tokens = task_.sequence(seq_ + 1, rng);
    for (int64_t t = 0; t < seq_; ++t) {
      in[r][t] = tokens[static_cast<size_t>(t)];
      out[r][t] = tokens[static_cast<size_t>(t + 1)];
    }
  }
  return {input, target, {}, {}};
}

Batch BigramBackcopyBatches::train_batch(int64_t step) const {
  auto rng = step_rng(seed_, step);
  return sequences(rng, batch_);
}

std::vector<Batch> BigramBackcopyBatches::eval_batches() const {
  std::mt19937_64 rng(0x5EEDB0C0FFEEULL);  // fixed: the held-out set is the same for every seed
  std::vector<Batch> batches;
  for (int64_t done = 0; done < eval_sequences_; done += batch_) batches.push_back(sequences(rng, std::min(batch_, eval_sequences_ - done)));
  return batches;
}

std::string BigramBackcopyBatches::describe() const {
  return fmt::format("Bigram-Backcopy: {} tokens + BOS, {} triggers, sequences of {} starting with BOS", task_.vocab_size() - 1,
                     task_.triggers().size(), seq_);
}

PromptCompletionBatches::PromptCompletionBatches(const std::filesystem::path& train_file,
                                                 const std::filesystem::path& eval_file,
                                                 const text::Tokenizer& tokenizer, int64_t seq, int64_t batch,
                                                 uint64_t seed)
    : pad_(tokenizer.pad_id() >= 0 ? tokenizer.pad_id() : tokenizer.eos_id()), seq_(seq), batch_(batch), seed_(seed) {
  train_ = read(train_file, tokenizer);
  eval_ = read(eval_file, tokenizer);
}

std::vector<PromptCompletionBatches::Example> PromptCompletionBatches::read(const std::filesystem::path& file,
                                                                            const text::Tokenizer& tokenizer) const {
  std::vector<Example> examples;
  for_each_jsonl_object(file, [&](const Json& object, int64_t number) {
    if (!object.contains("prompt") || !object.contains("completion") || !object["prompt"].is_string() ||
        !object["completion"].is_string())
      throw Error(fmt::format("{}:{}: needs string fields 'prompt' and 'completion'", file.string(), number));
    Example ex;
    ex.tokens.push_back(tokenizer.bos_id());
    for (auto id : tokenizer.encode(object["prompt"].get<std::string>())) ex.tokens.push_back(id);
    ex.prompt_length = static_cast<int64_t>(ex.tokens.size());
    for (auto id : tokenizer.encode(object["completion"].get<std::string>())) ex.tokens.push_back(id);
    ex.tokens.push_back(tokenizer.eos_id());
    if (static_cast<int64_t>(ex.tokens.size()) > seq_ + 1)
      throw Error(fmt::format("{}:{}: example has {} tokens, more than seq+1={}", file.string(), number, ex.tokens.size(), seq_ + 1));
    examples.push_back(std::move(ex));
  });
  if (examples.empty()) throw Error(file.string() + ": no examples");
  return examples;
}

Batch PromptCompletionBatches::collate(const std::vector<const Example*>& examples) const {
  int64_t t = 0;
  for (const auto* ex : examples) t = std::max<int64_t>(t, static_cast<int64_t>(ex->tokens.size()) - 1);
  const int64_t b = static_cast<int64_t>(examples.size());
  auto input = torch::full({b, t}, pad_, torch::kLong);
  auto target = torch::full({b, t}, pad_, torch::kLong);
  auto loss_mask = torch::zeros({b, t});
  auto attention_mask = torch::zeros({b, t}, torch::kLong);
  for (int64_t r = 0; r < b; ++r) {
    const auto& tokens = examples[static_cast<size_t>(r)]->tokens;
    const int64_t n = static_cast<int64_t>(tokens.size()) - 1;
    for (int64_t i = 0; i < n; ++i) {
      input[r][i] = tokens[static_cast<size_t>(i)];
      target[r][i] = tokens[static_cast<size_t>(i + 1)];
      attention_mask[r][i] = 1;
      // Target i+1 is a completion token when it lies at or after the prompt's end.
      if (i + 1 >= examples[static_cast<size_t>(r)]->prompt_length) loss_mask[r][i] = 1.0;
    }
  }
  return {input, target, loss_mask, attention_mask};
}

Batch PromptCompletionBatches::train_batch(int64_t step) const {
  auto rng = step_rng(seed_, step);
  std::uniform_int_distribution<size_t> pick(0, train_.size() - 1);
  std::vector<const Example*> chosen;
  for (int64_t i = 0; i < batch_; ++i) chosen.push_back(&train_[pick(rng)]);
  return collate(chosen);
}

std::vector<Batch> PromptCompletionBatches::eval_batches() const {
  std::vector<Batch> batches;
  for (size_t i = 0; i < eval_.size(); i += static_cast<size_t>(batch_)) {
    std::vector<const Example*> chunk;
    for (size_t j = i; j < std::min(eval_.size(), i + static_cast<size_t>(batch_)); ++j) chunk.push_back(&eval_[j]);
    batches.push_back(collate(chunk));
  }
  return batches;
}

TokenRowBatches::TokenRowBatches(std::vector<TokenRow> train, std::vector<TokenRow> eval, int64_t pad, int64_t batch, uint64_t seed)
    : train_(std::move(train)), eval_(std::move(eval)), pad_(pad), batch_(batch), seed_(seed) {
  if (train_.empty()) throw Error("token rows: no training rows");
  if (batch_ < 1) usage_error("token rows: batch must be >= 1");
  for (const auto* rows : {&train_, &eval_})
    for (const auto& row : *rows)
      if (row.tokens.size() < 2 || row.counted.size() != row.tokens.size())
        throw Error("token rows: every row needs two or more tokens and one mask entry per token");
  for (size_t i = 0; i < train_.size(); ++i) {
    const size_t bucket = (train_[i].tokens.size() - 2) / 16;
    if (buckets_.size() <= bucket) buckets_.resize(bucket + 1);
    buckets_[bucket].push_back(i);
  }
  for (const auto& b : buckets_) bucket_sizes_.push_back(b.size());
}

Batch TokenRowBatches::collate(const std::vector<const TokenRow*>& rows) const {
  int64_t t = 0;
  for (const auto* row : rows) t = std::max<int64_t>(t, static_cast<int64_t>(row->tokens.size()) - 1);
  const auto b = static_cast<int64_t>(rows.size());
  std::vector<int64_t> input(static_cast<size_t>(b * t), pad_), target(static_cast<size_t>(b * t), pad_), real(static_cast<size_t>(b * t), 0);
  std::vector<float> counted(static_cast<size_t>(b * t), 0.0f);
  for (int64_t r = 0; r < b; ++r) {
    const auto& row = *rows[static_cast<size_t>(r)];
    for (size_t i = 0; i + 1 < row.tokens.size(); ++i) {
      const auto at = static_cast<size_t>(r * t) + i;
      input[at] = row.tokens[i];
      target[at] = row.tokens[i + 1];
      real[at] = 1;
      counted[at] = row.counted[i + 1] ? 1.0f : 0.0f;
    }
  }
  const auto to_tensor = [&](auto& values, torch::Dtype dtype) { return torch::from_blob(values.data(), {b, t}, dtype).clone(); };
  return {to_tensor(input, torch::kLong), to_tensor(target, torch::kLong), to_tensor(counted, torch::kFloat32), to_tensor(real, torch::kLong)};
}

Batch TokenRowBatches::train_batch(int64_t step) const {
  auto rng = step_rng(seed_, step);
  std::discrete_distribution<size_t> bucket(bucket_sizes_.begin(), bucket_sizes_.end());
  const auto& rows = buckets_[bucket(rng)];
  std::uniform_int_distribution<size_t> pick(0, rows.size() - 1);
  std::vector<const TokenRow*> chosen;
  for (int64_t i = 0; i < batch_; ++i) chosen.push_back(&train_[rows[pick(rng)]]);
  return collate(chosen);
}

std::vector<Batch> TokenRowBatches::eval_batches() const {
  std::vector<Batch> batches;
  for (size_t i = 0; i < eval_.size(); i += static_cast<size_t>(batch_)) {
    std::vector<const TokenRow*> chunk;
    for (size_t j = i; j < std::min(eval_.size(), i + static_cast<size_t>(batch_)); ++j) chunk.push_back(&eval_[j]);
    batches.push_back(collate(chunk));
  }
  return batches;
}

std::string TokenRowBatches::describe() const {
  return fmt::format("{} train / {} validation token rows (loss on counted tokens only)", train_.size(), eval_.size());
}

void PromptCompletionBatches::add_train_rows(const std::vector<TokenRow>& rows, const std::string& where) {
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const auto first = std::find(row.counted.begin(), row.counted.end(), uint8_t{1});
    if (row.tokens.size() != row.counted.size() || first == row.counted.end() ||
        std::find(first, row.counted.end(), uint8_t{0}) != row.counted.end())
      throw Error(fmt::format("{}: row {} is not a prompt followed by a counted completion", where, r + 1));
    if (static_cast<int64_t>(row.tokens.size()) > seq_ + 1)
      throw Error(fmt::format("{}: row {} has {} tokens, more than seq+1={}", where, r + 1, row.tokens.size(), seq_ + 1));
    train_.push_back(Example{row.tokens, static_cast<int64_t>(first - row.counted.begin())});
  }
}

std::string PromptCompletionBatches::describe() const {
  return fmt::format("{} train / {} validation prompt-completion examples (loss on completions only)", train_.size(), eval_.size());
}

}  // namespace garden::train
