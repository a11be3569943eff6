#include "garden/train/objectives/mntp.h"

#include <fmt/core.h>

#include "garden/core/error.h"

namespace garden::train {

MntpStrategy parse_mntp_strategy(const std::string& name) {
  if (name == "bert") return MntpStrategy::bert;
  if (name == "all_mask" || name == "all-mask") return MntpStrategy::all_mask;
  usage_error("MNTP strategy must be bert or all_mask, not '" + name + "'");
}

std::string to_string(MntpStrategy strategy) { return strategy == MntpStrategy::bert ? "bert" : "all_mask"; }

MntpBatch mask_for_mntp(const torch::Tensor& tokens, const torch::Tensor& attention_mask, const MntpOptions& o,
                        torch::Generator& generator) {
  if (!(o.rate > 0 && o.rate <= 1)) usage_error(fmt::format("MNTP mask rate must be in (0, 1], got {}", o.rate));
  if (o.mask_id < 0 || o.mask_id >= o.vocab) throw Error(fmt::format("MNTP: mask id {} is outside the vocabulary of {}", o.mask_id, o.vocab));
  if (tokens.dim() != 2) throw Error("MNTP: tokens must be [B,T]");
  auto eligible = attention_mask.defined() ? attention_mask.to(torch::kBool).clone() : torch::ones_like(tokens, torch::kBool);
  eligible.select(1, 0).fill_(false);
  for (int64_t id : o.never_mask) eligible.logical_and_(tokens.ne(id));
  auto chosen = torch::rand(tokens.sizes(), generator, torch::kFloat64).lt(o.rate).logical_and_(eligible);
  if (!chosen.any().item<bool>() && eligible.any().item<bool>()) {
    // A short batch can draw no position at all; take one eligible position at random.
    const auto candidates = eligible.flatten().nonzero().squeeze(1);
    const auto pick = torch::randint(candidates.size(0), {1}, generator, torch::kLong);
    chosen.view(-1).index_put_({candidates.index({pick})}, true);
  }
  MntpBatch out{tokens.clone(), torch::full_like(tokens, -100)};
  out.labels.masked_scatter_(chosen, tokens.masked_select(chosen));
  if (o.strategy == MntpStrategy::all_mask) {
    out.input.masked_fill_(chosen, o.mask_id);
    return out;
  }
  const auto draw = torch::rand(tokens.sizes(), generator, torch::kFloat64);
  const auto to_mask = chosen.logical_and(draw.lt(0.8));
  const auto to_random = chosen.logical_and(draw.ge(0.8)).logical_and_(draw.lt(0.9));
  out.input.masked_fill_(to_mask, o.mask_id);
  // A random replacement that hits a special id (4 in 8,000) becomes the mask instead:
  // specials never appear where text is expected.
  auto random = torch::randint(o.vocab, tokens.sizes(), generator, torch::kLong);
  for (int64_t id : o.never_mask) random.masked_fill_(random.eq(id), o.mask_id);
  out.input.masked_scatter_(to_random, random.masked_select(to_random));
  return out;
}

torch::Tensor mntp_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  const int64_t t = logits.size(1);
  const auto predicted = logits.narrow(1, 0, t - 1).to(torch::kFloat32);
  const auto targets = labels.narrow(1, 1, t - 1);
  return torch::nn::functional::cross_entropy(predicted.reshape({-1, predicted.size(-1)}), targets.reshape({-1}),
                                              torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
}

}  // namespace garden::train
