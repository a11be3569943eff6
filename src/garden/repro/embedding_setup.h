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

}  // namespace garden::repro
