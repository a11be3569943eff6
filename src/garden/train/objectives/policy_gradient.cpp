#include "garden/train/objectives/policy_gradient.h"

#include <fmt/core.h>

#include <cmath>

#include "garden/core/error.h"

namespace garden::train {

namespace {
constexpr double kStdEps = 1e-6;

double mean_of(const std::vector<double>& v, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += v[i];
  return s / static_cast<double>(end - begin);
}

double unbiased_std(const std::vector<double>& v, size_t begin, size_t end, double mean) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += (v[i] - mean) * (v[i] - mean);
  return std::sqrt(s / static_cast<double>(end - begin - 1));
}
}  // namespace

AdvantageKind parse_advantage(const std::string& name) {
  if (name == "grpo") return AdvantageKind::grpo;
  if (name == "rloo") return AdvantageKind::rloo;
  if (name == "reinforce++") return AdvantageKind::reinforce_pp;
  throw Error(fmt::format("unknown RL algorithm '{}' (grpo | rloo | reinforce++)", name), ErrorKind::usage);
}

std::string to_string(AdvantageKind kind) {
  return kind == AdvantageKind::grpo ? "grpo" : kind == AdvantageKind::rloo ? "rloo" : "reinforce++";
}

std::vector<double> advantages(const std::vector<double>& rewards, int64_t group, AdvantageKind kind) {
  if (group < 2) throw Error(fmt::format("RL: a group needs at least 2 responses, not {}", group));
  const auto g = static_cast<size_t>(group);
  if (rewards.empty() || rewards.size() % g != 0)
    throw Error(fmt::format("RL: {} rewards are not whole groups of {}", rewards.size(), group));
  std::vector<double> out(rewards.size());
  if (kind == AdvantageKind::reinforce_pp) {
    const double mean = mean_of(rewards, 0, rewards.size());
    const double sd = rewards.size() > 1 ? unbiased_std(rewards, 0, rewards.size(), mean) : 0.0;
    for (size_t i = 0; i < rewards.size(); ++i) out[i] = (rewards[i] - mean) / (sd + kStdEps);
    return out;
  }
  for (size_t begin = 0; begin < rewards.size(); begin += g) {
    const size_t end = begin + g;
    const double mean = mean_of(rewards, begin, end);
    if (kind == AdvantageKind::grpo) {
      const double sd = unbiased_std(rewards, begin, end, mean);
      for (size_t i = begin; i < end; ++i) out[i] = (rewards[i] - mean) / (sd + kStdEps);
    } else {
      const double sum = mean * static_cast<double>(g);
      for (size_t i = begin; i < end; ++i) out[i] = rewards[i] - (sum - rewards[i]) / static_cast<double>(g - 1);
    }
  }
  return out;
}

LossAggregation parse_loss_aggregation(const std::string& name) {
  if (name == "token") return LossAggregation::token;
  if (name == "sequence") return LossAggregation::sequence;
  throw Error(fmt::format("unknown loss aggregation '{}' (token | sequence)", name), ErrorKind::usage);
}

std::string to_string(LossAggregation aggregation) { return aggregation == LossAggregation::token ? "token" : "sequence"; }

torch::Tensor aggregate_tokens(const torch::Tensor& values, const torch::Tensor& mask, LossAggregation aggregation) {
  const auto m = mask.to(values.scalar_type());
  if (aggregation == LossAggregation::token) return (values * m).sum() / m.sum().clamp_min(1);
  const auto per_row_count = m.sum(1);
  const auto counted = per_row_count > 0;
  const auto per_row = (values * m).sum(1) / per_row_count.clamp_min(1);
  return per_row.masked_select(counted).sum() / counted.sum().clamp_min(1).to(values.scalar_type());
}

torch::Tensor clipped_surrogate_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                     const torch::Tensor& advantages, const torch::Tensor& mask, double clip_low,
                                     double clip_high, LossAggregation aggregation) {
  if (clip_low < 0 || clip_low >= 1 || clip_high < 0)
    throw Error(fmt::format("RL: clip range [1 - {}, 1 + {}] is not a range around 1", clip_low, clip_high));
  const auto ratio = torch::exp(log_probs - old_log_probs.detach());
  const auto a = advantages.to(log_probs.scalar_type()).unsqueeze(1);
  const auto unclipped = ratio * a;
  const auto clipped = ratio.clamp(1 - clip_low, 1 + clip_high) * a;
  return -aggregate_tokens(torch::min(unclipped, clipped), mask, aggregation);
}

torch::Tensor k3_kl(const torch::Tensor& log_probs, const torch::Tensor& reference_log_probs, const torch::Tensor& mask,
                    LossAggregation aggregation) {
  const auto delta = reference_log_probs.detach() - log_probs;
  return aggregate_tokens(torch::exp(delta) - delta - 1, mask, aggregation);
}

}  // namespace garden::train
