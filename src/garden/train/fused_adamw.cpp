#include "garden/train/fused_adamw.h"

#include <ATen/Parallel.h>
#include <c10/util/string_utils.h>

#include <cmath>

#include "garden/core/error.h"
#include "garden/train/adamw_kernel.h"

namespace garden::train {

namespace {

bool fusable(const torch::Tensor& p, const torch::Tensor& grad) {
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && grad.scalar_type() == torch::kFloat32 && p.is_contiguous() &&
         grad.is_contiguous() && !grad.is_sparse();
}

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode enabled(true);
    loss = closure();
  }
  step_scaled(1.0);
  return loss;
}

void FusedAdamW::step_scaled(double grad_scale) {
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    if (options.amsgrad()) throw Error("FusedAdamW: amsgrad is not supported");
    const auto [beta1, beta2] = options.betas();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto found = state_.find(key);
      if (found == state_.end()) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = state_.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*found->second);
      state.step(state.step() + 1);
      const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(state.step()));
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      const double step_size = options.lr() / bias_correction1;
      const torch::Tensor& grad = p.grad();
      auto& exp_avg = state.exp_avg();
      auto& exp_avg_sq = state.exp_avg_sq();
      if (fusable(p, grad) && exp_avg.is_contiguous() && exp_avg_sq.is_contiguous()) {
        const AdamWCoefficients c{static_cast<float>(grad_scale),
                                  static_cast<float>(1 - options.lr() * options.weight_decay()),
                                  static_cast<float>(beta1),
                                  static_cast<float>(1 - beta1),
                                  static_cast<float>(beta2),
                                  static_cast<float>(1 - beta2),
                                  static_cast<float>(std::sqrt(bias_correction2)),
                                  static_cast<float>(options.eps()),
                                  static_cast<float>(step_size)};
        float* param = p.data_ptr<float>();
        const float* g = grad.data_ptr<float>();
        float* m = exp_avg.data_ptr<float>();
        float* v = exp_avg_sq.data_ptr<float>();
        adamw_update(param, g, m, v, p.numel(), c);
        continue;
      }
      // Elsewhere (another device or dtype, a strided tensor) libtorch's own operations.
      const auto scaled = grad_scale == 1.0 ? grad : grad * grad_scale;
      if (options.weight_decay() != 0) p.mul_(1 - options.lr() * options.weight_decay());
      exp_avg.mul_(beta1).add_(scaled, 1 - beta1);
      exp_avg_sq.mul_(beta2).addcmul_(scaled, scaled, 1 - beta2);
      const auto denom = (exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
      p.addcdiv_(exp_avg, denom, -step_size);
    }
  }
}

GradientClip gradient_clip(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  GradientClip clip;
  if (norms.empty()) return clip;
  clip.norm = torch::stack(norms).norm(2).item<double>();
  const double coefficient = max_norm / (clip.norm + 1e-6);
  if (coefficient < 1) clip.scale = coefficient;
  return clip;
}

}  // namespace garden::train
