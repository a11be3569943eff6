// AdamW whose update of a parameter is one pass over its elements, with gradient clipping
// folded in.
//
// libtorch 1.13's AdamW::step runs nine tensor operations per parameter (decay, two moment
// updates, the denominator in three, the update), each a full pass over memory, and
// clip_grad_norm_ adds a pass that scales every gradient. At d=512 those passes move about
// 25 floats per parameter per step; the fused loop moves 7 (reads parameter, gradient and
// both moments, writes parameter and moments). The state is AdamW's own (AdamWParamState),
// so checkpoints saved by either class load into the other.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace garden::train {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
  // One update with every gradient multiplied by grad_scale first (the clipping factor):
  // the gradients themselves are left as they are. Parameters that are not contiguous
  // float32 on the CPU, or use amsgrad, take libtorch's step on scaled copies.
  void step_scaled(double grad_scale);
};

// What torch::nn::utils::clip_grad_norm_(parameters, max_norm) computes, without touching
// the gradients: the L2 norm of all gradients, and the factor they should be multiplied by
// (max_norm / (norm + 1e-6) when that is below 1, else 1).
struct GradientClip {
  double norm = 0;
  double scale = 1;
};
GradientClip gradient_clip(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace garden::train
