#include "garden/train/llm2vec.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/model/model_folder.h"

namespace garden::train {

namespace {

torch::Generator seeded(uint64_t seed, int64_t index) {
  return at::make_generator<at::CPUGeneratorImpl>(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index));
}

torch::Tensor batch_loss(model::Transformer& model, const Batch& batch, const MntpOptions& options, torch::Generator& generator) {
  const auto device = model->token_embedding->weight.device();
  const auto masked = mask_for_mntp(batch.input, batch.attention_mask, options, generator);
  model::ForwardOptions forward;
  forward.mask = model::MaskMode::bidirectional;
  if (batch.attention_mask.defined()) forward.attention_mask = batch.attention_mask.to(device);
  const auto out = model->forward(masked.input.to(device), forward);
  return mntp_loss(out.logits, masked.labels.to(device));
}

}  // namespace

MntpOptions mntp_options_for(const text::Tokenizer& tokenizer, double rate, MntpStrategy strategy, const std::string& mask_piece) {
  MntpOptions o;
  o.rate = rate;
  o.strategy = strategy;
  o.vocab = tokenizer.vocab_size();
  o.mask_id = tokenizer.piece_to_id(mask_piece);
  if (o.mask_id < 0)
    throw Error(fmt::format("MNTP: the tokenizer has no '{}' piece (train it with --special '{}', as garden lm base does)",
                            mask_piece, mask_piece));
  for (int64_t id : {tokenizer.bos_id(), tokenizer.eos_id(), tokenizer.pad_id(), o.mask_id})
    if (id >= 0) o.never_mask.push_back(id);
  return o;
}

Objective mntp_objective(model::Transformer& model, const BatchSource& windows, const MntpOptions& options, uint64_t seed,
                         const std::string& tokenizer_spec, ProcessGroup* group) {
  Objective objective;
  objective.micro_step = [&model, &windows, options, seed, group](int64_t index) {
    Batch batch = windows.train_batch(index);
    if (group == nullptr || group->size() == 1) {
      auto generator = seeded(seed, index);
      return MicroStep{batch_loss(model, batch, options, generator), batch.tokens()};
    }
    const auto [begin, end] = rank_share(batch.input.size(0), group->rank(), group->size());
    batch = batch.rows(begin, end);
    auto generator = seeded(seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(group->rank()), index);
    return MicroStep{batch_loss(model, batch, options, generator), batch.tokens()};
  };
  objective.save = [&model, tokenizer_spec](const std::filesystem::path& dir) { model::save_model(dir, model, tokenizer_spec); };
  objective.evaluate = [&model, &windows, options, seed](int64_t, Json& metrics) {
    torch::NoGradGuard no_grad;
    const bool was_training = model->is_training();
    model->eval();
    auto generator = seeded(seed, -1);  // the same corruption at every evaluation
    double sum = 0;
    int64_t batches = 0;
    for (const auto& batch : windows.eval_batches()) {
      sum += batch_loss(model, batch, options, generator).item<double>();
      ++batches;
    }
    model->train(was_training);
    if (batches > 0) metrics["val_loss"] = sum / static_cast<double>(batches);
  };
  objective.description = Json{{"model", model->config().to_json()},
                               {"objective", {{"kind", "mntp"}, {"rate", options.rate}, {"strategy", to_string(options.strategy)},
                                              {"mask_id", options.mask_id}}},
                               {"tokenizer", tokenizer_spec},
                               {"data", windows.describe()}};
  return objective;
}

std::vector<text::TextPair> simcse_pairs(const std::vector<std::string>& sentences) {
  std::vector<text::TextPair> pairs;
  pairs.reserve(sentences.size());
  for (const auto& s : sentences) pairs.push_back({s, s, {}, {}});
  return pairs;
}

std::vector<std::string> sentences_by_length(const std::vector<std::string>& lines, const text::Tokenizer& tokenizer,
                                             int64_t min_tokens, int64_t max_tokens) {
  std::vector<std::string> out;
  for (const auto& line : lines) {
    const auto n = static_cast<int64_t>(tokenizer.encode(line).size());
    if (n >= min_tokens && n <= max_tokens) out.push_back(line);
  }
  return out;
}

}  // namespace garden::train
