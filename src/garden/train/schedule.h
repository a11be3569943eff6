// Learning-rate schedule: linear warmup from 0 to lr over `warmup` steps, then cosine decay
// to lr * min_lr_ratio at the last step (nanoGPT / LLaMA recipe).
#pragma once

#include <cstdint>

namespace garden::train {

double cosine_lr(int64_t step, int64_t total_steps, int64_t warmup, double lr, double min_lr_ratio);

}  // namespace garden::train
