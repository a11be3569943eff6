// What the embedding reproductions (llm2vec, matryoshka, nv-embed) start from: the shared
// base LM and the settings of the short fine-tuning runs they train. They score their
// models with the embedding suite (eval/embedding_suite.h).
#pragma once

#include "garden/repro/reproduction.h"
#include "garden/train/base_lm.h"
#include "garden/train/trainer.h"

namespace garden::repro {

// The shared tiny base LM for the run's seed (built and cached on first use); at smoke
// scale a toy one (400 pieces, 10 steps).
train::BaseLm shared_base_lm(const Context& ctx);

// A short fine-tuning run: weight decay 0.01, no periodic evaluation, a checkpoint only at
// the end. `bf16`: under bf16 autocast, as a run from a base pretrained that way (v2) does:
// on a CPU with bf16 support a step takes less than half the fp32 time, which is what keeps
// the quick runs from base v2 inside their budget.
train::TrainConfig finetune_config(int64_t steps, int64_t batch, double lr, int64_t warmup, uint64_t seed, bool bf16);

// One value per scale, with a separate quick value for a base larger than v1: a fine-tuning
// step from v2 (5.6x the parameters) costs several times one from v1, so a quick run from
// v2 takes fewer steps to stay inside the 10-minute budget. Smoke and full do not depend on
// the base.
template <typename T>
T pick_for_base(const Context& ctx, T smoke, T quick_v1, T quick_larger, T full) {
  return ctx.scale == Scale::quick && ctx.base_recipe != "v1" ? quick_larger : ctx.pick(smoke, quick_v1, full);
}

}  // namespace garden::repro
