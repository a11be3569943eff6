#include "garden/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace garden::train {

double cosine_lr(int64_t step, int64_t total_steps, int64_t warmup, double lr, double min_lr_ratio) {
  // step counts from 1; step `warmup` reaches the full lr.
  if (warmup > 0 && step <= warmup) return lr * static_cast<double>(step) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
  const double progress = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  const double min_lr = lr * min_lr_ratio;
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace garden::train
