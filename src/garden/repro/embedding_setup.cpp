#include "garden/repro/embedding_setup.h"

namespace garden::repro {

train::BaseLm shared_base_lm(const Context& ctx) {
  train::BaseLmOptions options = train::base_lm_recipe(ctx.base_recipe);
  options.seed = ctx.seed;
  if (ctx.scale == Scale::smoke) {
    // The whole pipeline in seconds: a small vocabulary, a few steps.
    options.vocab = 400;
    options.steps = 10;
    options.batch = 4;
    options.seq = 32;
    options.tokenizer_sentences = 20000;
  }
  return train::ensure_base_lm(ctx.cache, ctx.data_root, options, false, ctx.quiet);
}

train::TrainConfig finetune_config(int64_t steps, int64_t batch, double lr, int64_t warmup, uint64_t seed, bool bf16) {
  train::TrainConfig tc;
  tc.steps = steps;
  tc.batch = batch;
  tc.lr = lr;
  tc.warmup = warmup;
  tc.weight_decay = 0.01;
  tc.eval_every = 0;
  tc.checkpoint_every = 0;
  tc.seed = seed;
  tc.bf16 = bf16;
  return tc;
}

}  // namespace garden::repro
