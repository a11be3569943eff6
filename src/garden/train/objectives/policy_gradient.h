// The pieces of RL with verifiable rewards (rlvr-passk.md, "RLVR objective and algorithms"):
// group advantages from 0/1 rewards (GRPO, RLOO, Reinforce++), the clipped surrogate with
// DAPO's asymmetric clip and its two loss aggregations, and the k3 estimate of the KL to a
// reference model. Each is a pure function of its inputs.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace garden::train {

// grpo: (r_i - mean of its group) / (standard deviation of its group + 1e-6), the
//       deviation unbiased as torch.std takes it (verl's GRPO); a group of equal rewards
//       gets 0 everywhere.
// rloo: r_i - the mean of the other G - 1 rewards of its group.
// reinforce++: r_i minus the batch mean, divided by the batch's standard deviation + 1e-6.
enum class AdvantageKind { grpo, rloo, reinforce_pp };
AdvantageKind parse_advantage(const std::string& name);  // grpo | rloo | reinforce++
std::string to_string(AdvantageKind kind);

// Rewards of consecutive groups of `group` responses (one prompt each); an error unless the
// count is a positive multiple of `group` (>= 2).
std::vector<double> advantages(const std::vector<double>& rewards, int64_t group, AdvantageKind kind);

// token: the mean over every counted token of the batch (DAPO); sequence: each response's
// token mean, then the mean over responses (GRPO as first written).
enum class LossAggregation { token, sequence };
LossAggregation parse_loss_aggregation(const std::string& name);
std::string to_string(LossAggregation aggregation);

// -aggregate(min(rho A, clip(rho, 1 - clip_low, 1 + clip_high) A)) with rho = exp(log_probs -
// old_log_probs): log_probs [B,T] (with gradient), old_log_probs [B,T] (the sampling policy's,
// no gradient), advantages [B] (one per response, on each of its tokens), mask [B,T] (1 =
// a response token). Rows without a counted token are left out.
torch::Tensor clipped_surrogate_loss(const torch::Tensor& log_probs, const torch::Tensor& old_log_probs,
                                     const torch::Tensor& advantages, const torch::Tensor& mask, double clip_low,
                                     double clip_high, LossAggregation aggregation);

// Schulman's k3 estimate of KL(policy || reference) per token, exp(ref - logp) - (ref - logp)
// - 1 (>= 0), aggregated over the mask as `aggregation` says.
torch::Tensor k3_kl(const torch::Tensor& log_probs, const torch::Tensor& reference_log_probs, const torch::Tensor& mask,
                    LossAggregation aggregation);

// Aggregates per-token values [B,T] over mask [B,T] as `aggregation` says.
torch::Tensor aggregate_tokens(const torch::Tensor& values, const torch::Tensor& mask, LossAggregation aggregation);

}  // namespace garden::train
