// Decoding: kv-cache logits equal full-forward logits for every mask/gate variant, the
// samplers on hand-computed distributions, seeds, stop tokens, forced prefixes, processors,
// and soft prompts (vectors in place of token embeddings).
#include "garden/model/generation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "test_helpers.h"

namespace garden::model {
namespace {

struct CacheCase {
  AttentionGate gate;
  MaskMode mask;
  Positions pos;
  int64_t kv_heads;
  GatePosition gate_position;
};

class KvCache : public ::testing::TestWithParam<CacheCase> {};

TEST_P(KvCache, StepwiseLogitsEqualFullForward) {
  const auto p = GetParam();
  auto c = testing::tiny_config(p.gate);
  c.pos = p.pos;
  c.n_kv_heads = p.kv_heads;
  c.gate_position = p.gate_position;
  torch::manual_seed(11);
  Transformer m(c);
  m->eval();
  auto tokens = torch::tensor({{1, 4, 2, 8, 5, 7, 3}}, torch::kLong);
  const int64_t prompt = 3;  // prefilled in one call (the prefix in prefix mode)
  ForwardOptions full;
  full.mask = p.mask;
  if (p.mask == MaskMode::prefix) full.prefix_lengths = torch::tensor({prompt}, torch::kLong);
  auto expected = m->forward(tokens, full).logits;  // [1,7,V]

  KVCache cache;
  ForwardOptions prefill = full;
  prefill.cache = &cache;
  auto got = m->forward(tokens.narrow(1, 0, prompt), prefill).logits;
  EXPECT_TRUE(torch::allclose(got, expected.narrow(1, 0, prompt), 1e-5, 1e-5));
  ForwardOptions step;
  step.cache = &cache;
  for (int64_t t = prompt; t < tokens.size(1); ++t) {
    auto logits = m->forward(tokens.narrow(1, t, 1), step).logits;
    EXPECT_TRUE(torch::allclose(logits[0][0], expected[0][t], 1e-5, 1e-5)) << "position " << t;
  }
  EXPECT_EQ(cache.length(), tokens.size(1));
}

INSTANTIATE_TEST_SUITE_P(
    Generation, KvCache,
    ::testing::Values(CacheCase{AttentionGate::none, MaskMode::causal, Positions::rope, 0, GatePosition::sdpa},
                      CacheCase{AttentionGate::headwise, MaskMode::causal, Positions::rope, 0, GatePosition::sdpa},
                      CacheCase{AttentionGate::elementwise, MaskMode::causal, Positions::rope, 0, GatePosition::sdpa},
                      CacheCase{AttentionGate::elementwise, MaskMode::causal, Positions::rope, 0, GatePosition::value},
                      CacheCase{AttentionGate::none, MaskMode::prefix, Positions::rope, 0, GatePosition::sdpa},
                      CacheCase{AttentionGate::headwise, MaskMode::prefix, Positions::rope, 0, GatePosition::sdpa},
                      CacheCase{AttentionGate::elementwise, MaskMode::prefix, Positions::learned, 0, GatePosition::sdpa},
                      CacheCase{AttentionGate::none, MaskMode::causal, Positions::learned, 0, GatePosition::sdpa},
                      CacheCase{AttentionGate::elementwise, MaskMode::causal, Positions::rope, 1, GatePosition::sdpa}));

TEST(FilterLogits, TopKAndTopPOnFourProbabilities) {
  // p = (0.5, 0.25, 0.15, 0.10) as logits log p.
  auto logits = torch::tensor({{0.5, 0.25, 0.15, 0.10}}).log();
  // top-k 2 keeps {0, 1}: renormalised (2/3, 1/3, 0, 0).
  auto k2 = torch::softmax(filter_logits(logits, 1.0, 2, 1.0), -1)[0];
  EXPECT_NEAR(k2[0].item<double>(), 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(k2[2].item<double>(), 0.0, 1e-12);
  // top-p 0.7: mass before token 1 is 0.5 < 0.7 (kept), before token 2 is 0.75 (dropped).
  auto p7 = torch::softmax(filter_logits(logits, 1.0, 0, 0.7), -1)[0];
  EXPECT_NEAR(p7[1].item<double>(), 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(p7[2].item<double>(), 0.0, 1e-12);
  // top-p 0.5 keeps only the top token (its own mass reaches 0.5).
  auto p5 = torch::softmax(filter_logits(logits, 1.0, 0, 0.5), -1)[0];
  EXPECT_NEAR(p5[0].item<double>(), 1.0, 1e-6);
  // temperature 2 halves the log-probabilities: p ~ sqrt(p).
  auto t2 = torch::softmax(filter_logits(logits, 2.0, 0, 1.0), -1)[0];
  const double z = std::sqrt(0.5) + std::sqrt(0.25) + std::sqrt(0.15) + std::sqrt(0.10);
  EXPECT_NEAR(t2[0].item<double>(), std::sqrt(0.5) / z, 1e-6);
}

Transformer small_model() {
  torch::manual_seed(12);
  return Transformer(testing::tiny_config(AttentionGate::elementwise));
}

TEST(Generate, GreedyEqualsArgmaxOfFullForward) {
  auto m = small_model();
  GenerateOptions o;
  o.temperature = 0;
  o.max_new_tokens = 5;
  auto out = generate(m, {1, 2}, o)[0].tokens;
  ASSERT_EQ(out.size(), 5u);
  std::vector<int64_t> seq{1, 2};
  torch::NoGradGuard no_grad;
  m->eval();
  for (int64_t expected : out) {
    auto logits = m->forward(torch::tensor(seq, torch::kLong).view({1, -1})).logits[0][-1];
    EXPECT_EQ(logits.argmax().item<int64_t>(), expected);
    seq.push_back(expected);
  }
}

TEST(Generate, SeedsMakeSamplesReproducibleAndBatchedEqualsSingle) {
  auto m = small_model();
  GenerateOptions o;
  o.max_new_tokens = 6;
  o.n_samples = 3;
  o.seed = 42;
  auto batch = generate(m, {1, 2, 3}, o);
  auto again = generate(m, {1, 2, 3}, o);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(batch[i].tokens, again[i].tokens);
  // Sample i of a batch uses seed + i: the same as a batch of one with that seed.
  GenerateOptions single = o;
  single.n_samples = 1;
  single.seed = 43;
  EXPECT_EQ(generate(m, {1, 2, 3}, single)[0].tokens, batch[1].tokens);
}

TEST(Generate, RowsSplitBetweenThreadsDecodeAsOneBatch) {
  // 40 samples on two threads decode as two groups of 20 rows, each a batch of its own on one
  // thread; on_token (a no-op here) keeps them one batch on both threads. Every sample's tokens,
  // stops and top log-probabilities are the same either way: the rows never meet. The same
  // for generate_batch's 32 prompts, whose rows start from caches and logits of their own.
  auto c = testing::tiny_config();
  c.pos = Positions::rope;
  c.max_seq = 32;
  torch::manual_seed(8);
  Transformer m(c);
  {
    // Peaked next-token distributions that depend on the context, so that a row decoded from
    // another row's state or generator would draw other tokens.
    torch::NoGradGuard no_grad;
    m->token_embedding->weight.mul_(8);
  }
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  GenerateOptions o;
  o.n_samples = 40;
  o.max_new_tokens = 10;
  o.seed = 3;
  o.stop_tokens = {4};
  o.top_logprobs = 2;
  GenerateOptions one_batch = o;
  one_batch.on_token = [](int64_t, int64_t) { return false; };
  EXPECT_EQ(decode_threads(m, 40, o), 2);
  EXPECT_EQ(decode_threads(m, 40, one_batch), 1);
  EXPECT_EQ(decode_threads(m, 4, o), 2);  // the rows decoder runs this model: from 2 rows a thread
  EXPECT_EQ(decode_threads(m, 3, o), 1);
  auto layer_norm_config = c;
  layer_norm_config.norm = Norm::layernorm;
  Transformer layer_norm(layer_norm_config);
  EXPECT_EQ(decode_threads(layer_norm, 31, o), 1);  // decode_step_rows: from 16 rows a thread
  EXPECT_EQ(decode_threads(layer_norm, 32, o), 2);
  const auto split = generate(m, {1, 2, 3}, o), whole = generate(m, {1, 2, 3}, one_batch);
  ASSERT_EQ(split.size(), 40u);
  ASSERT_EQ(whole.size(), 40u);
  int stopped = 0;
  for (size_t i = 0; i < split.size(); ++i) {
    EXPECT_EQ(split[i].tokens, whole[i].tokens) << "sample " << i;
    EXPECT_EQ(split[i].finish_reason, whole[i].finish_reason) << "sample " << i;
    ASSERT_EQ(split[i].top_logprobs.size(), whole[i].top_logprobs.size());
    for (size_t t = 0; t < split[i].top_logprobs.size(); ++t)
      for (size_t k = 0; k < 2; ++k) {
        EXPECT_EQ(split[i].top_logprobs[t][k].token, whole[i].top_logprobs[t][k].token);
        EXPECT_NEAR(split[i].top_logprobs[t][k].logprob, whole[i].top_logprobs[t][k].logprob, 1e-5);
      }
    stopped += split[i].finish_reason == "stop";
  }
  EXPECT_GT(stopped, 0);  // the stop token ended some samples early
  // Sample i still draws with seed + i: sample 25 (the second group's) as a batch of one.
  GenerateOptions alone = o;
  alone.n_samples = 1;
  alone.seed = 28;
  EXPECT_EQ(generate(m, {1, 2, 3}, alone)[0].tokens, split[25].tokens);
  // generate_batch's rows start from their own prompts' logits: 32 prompts of one length.
  std::vector<std::vector<int64_t>> prompts;
  std::vector<uint64_t> seeds;
  for (int64_t i = 0; i < 32; ++i) {
    prompts.push_back({1, i % 10, (i * 3) % 7});
    seeds.push_back(static_cast<uint64_t>(100 + i));
  }
  GenerateOptions per_prompt = o;
  per_prompt.n_samples = 1;
  GenerateOptions per_prompt_one_batch = one_batch;
  per_prompt_one_batch.n_samples = 1;
  const auto batch_split = generate_batch(m, prompts, seeds, per_prompt),
             batch_whole = generate_batch(m, prompts, seeds, per_prompt_one_batch);
  ASSERT_EQ(batch_split.size(), 32u);
  for (size_t i = 0; i < 32; ++i) {
    EXPECT_EQ(batch_split[i].tokens, batch_whole[i].tokens) << "prompt " << i;
    ASSERT_EQ(batch_split[i].top_logprobs.size(), batch_whole[i].top_logprobs.size());
    for (size_t t = 0; t < batch_split[i].top_logprobs.size(); ++t)
      EXPECT_NEAR(batch_split[i].top_logprobs[t][0].logprob, batch_whole[i].top_logprobs[t][0].logprob, 1e-5) << "prompt " << i;
  }
  at::set_num_threads(1);
  EXPECT_EQ(decode_threads(m, 40, o), 1);
  at::set_num_threads(saved);
}

TEST(GenerateBatch, LeftPaddedPromptsDecodeAsEachPromptAlone) {
  // Prompts of different lengths in one batch, each with its own seed: under RoPE the tokens
  // and the stop equal those of generate() on the prompt alone, greedy and sampled.
  for (auto pos : {Positions::rope, Positions::learned}) {
    auto c = testing::tiny_config();
    c.pos = pos;
    c.max_seq = 32;
    torch::manual_seed(5);
    Transformer m(c);
    const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3, 4, 5}, {1, 7}, {1, 9, 9, 3}, {1}};
    const std::vector<uint64_t> seeds = {10, 20, 30, 40};
    for (double temperature : {0.0, 1.0}) {
      GenerateOptions o;
      o.max_new_tokens = 8;
      o.temperature = temperature;
      o.stop_tokens = {6};
      const auto batch = generate_batch(m, prompts, seeds, o);
      ASSERT_EQ(batch.size(), prompts.size());
      for (size_t i = 0; i < prompts.size(); ++i) {
        GenerateOptions alone = o;
        alone.seed = seeds[i];
        const auto expected = generate(m, prompts[i], alone)[0];
        EXPECT_EQ(batch[i].tokens, expected.tokens) << "prompt " << i << ", temperature " << temperature;
        EXPECT_EQ(batch[i].finish_reason, expected.finish_reason);
      }
    }
  }
  auto m = small_model();
  GenerateOptions o;
  EXPECT_THROW(generate_batch(m, {{1, 2}}, {1, 2}, o), Error);  // a seed per prompt
  EXPECT_THROW(generate_batch(m, {{}}, {1}, o), Error);
  o.n_samples = 2;
  EXPECT_THROW(generate_batch(m, {{1, 2}}, {1}, o), Error);
  EXPECT_TRUE(generate_batch(m, {}, {}, GenerateOptions{}).empty());
}

TEST(SampleRows, InverseCdfPerRowByHand) {
  // Row 0: cumulative 0.2, 0.5, 1.0. Row 1 has a zero-mass token, never drawn. Row 2 is
  // unnormalised (total 4): the uniform scales by the total.
  const auto probs = torch::tensor({{0.2, 0.3, 0.5}, {0.5, 0.0, 0.5}, {1.0, 1.0, 2.0}}, torch::kFloat64);
  const auto expect = [&](std::vector<double> u, std::vector<int64_t> want) {
    const auto got = sample_rows(probs, u);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[static_cast<int64_t>(i)].item<int64_t>(), want[i]) << "row " << i << " u " << u[i];
  };
  expect({0.1, 0.0, 0.0}, {0, 0, 0});
  expect({0.2, 0.5, 0.25}, {1, 2, 1});    // a target on a boundary belongs to the next token; 0.25 x 4 = 1 is token 0's end
  expect({0.6, 0.49, 0.4}, {2, 0, 1});
  expect({0.9999999, 0.9999999, 0.9999999}, {2, 2, 2});
  EXPECT_THROW(sample_rows(probs, {0.1}), Error);
}

TEST(SampleRows, LongRowsMatchCumsumAndSearchsorted) {
  // Rows longer than the 64-token blocks the sampler sums by, with zero-mass runs and a
  // zero-mass tail: every draw equals the written-out cumsum + searchsorted(right) in double,
  // and no uniform, however close to 1, draws a token of zero mass.
  torch::manual_seed(3);
  const int64_t n = 40, vocab = 1000;
  auto probs = torch::rand({n, vocab}, torch::kFloat32);
  probs.narrow(1, 100, 150).zero_();
  probs.narrow(1, vocab - 70, 70).zero_();
  std::vector<double> u(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) u[static_cast<size_t>(i)] = i + 1 == n ? std::nextafter(1.0, 0.0) : (i + 0.5) / n;
  const auto got = sample_rows(probs, u);
  const auto cdf = probs.to(torch::kFloat64).cumsum(1);
  for (int64_t i = 0; i < n; ++i) {
    const double target = u[static_cast<size_t>(i)] * cdf[i][-1].item<double>();
    const int64_t want = std::min(torch::searchsorted(cdf[i], torch::tensor({target}, torch::kFloat64), false, true)[0].item<int64_t>(),
                                  vocab - 71);
    EXPECT_EQ(got[i].item<int64_t>(), want) << "row " << i;
    EXPECT_GT(probs[i][got[i].item<int64_t>()].item<float>(), 0.0f) << "row " << i;
  }
}

TEST(SampleRows, ARowWithoutMassIsAnErrorNamingIt) {
  auto probs = torch::ones({3, 100}, torch::kFloat32);
  probs[1].zero_();
  EXPECT_THROW(
      {
        try {
          sample_rows(probs, {0.5, 0.5, 0.5});
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  probs[1].fill_(std::numeric_limits<float>::quiet_NaN());
  EXPECT_THROW(sample_rows(probs, {0.5, 0.5, 0.5}), Error);
}

TEST(SampleSoftmaxRows, DrawsFromLogitsAndARowWithoutAFiniteLogitIsAnErrorNamingIt) {
  // Logits log(0.2, 0.3, 0.5) and a -inf token: the draws of InverseCdfPerRowByHand.
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto logits = torch::tensor({{std::log(0.2f), std::log(0.3f), std::log(0.5f)}, {0.0f, neg_inf, 0.0f}});
  const auto got = sample_softmax_rows(logits, {0.6, 0.49});
  EXPECT_EQ(got[0].item<int64_t>(), 2);
  EXPECT_EQ(got[1].item<int64_t>(), 0);
  EXPECT_EQ(sample_softmax_rows(logits, {0.1, 0.51})[1].item<int64_t>(), 2);
  EXPECT_THROW(sample_softmax_rows(logits, {0.1}), Error);
  auto bad = torch::zeros({3, 10});
  bad[2][3] = std::numeric_limits<float>::quiet_NaN();
  testing::expect_error_containing([&] { sample_softmax_rows(bad, {0.5, 0.5, 0.5}); }, "row 2");
  bad[2].fill_(neg_inf);
  testing::expect_error_containing([&] { sample_softmax_rows(bad, {0.5, 0.5, 0.5}); }, "row 2");
}

TEST(Generate, SampledFirstTokensFollowTheModelsDistribution) {
  // 4000 samples of one token: each token's share within 4.5 standard errors of its
  // probability under the full forward's softmax at temperature 1.5.
  auto m = small_model();
  GenerateOptions o;
  o.max_new_tokens = 1;
  o.n_samples = 4000;
  o.temperature = 1.5;
  o.seed = 7;
  const auto samples = generate(m, {1, 2, 3}, o);
  torch::NoGradGuard no_grad;
  m->eval();
  const auto p = torch::softmax(m->forward(torch::tensor({{1, 2, 3}}, torch::kLong)).logits[0][-1].to(torch::kFloat64) / 1.5, -1);
  std::vector<double> counts(static_cast<size_t>(p.size(0)), 0.0);
  for (const auto& c : samples) counts[static_cast<size_t>(c.tokens.at(0))] += 1;
  for (size_t t = 0; t < counts.size(); ++t) {
    const double q = p[static_cast<int64_t>(t)].item<double>(), share = counts[t] / 4000.0;
    EXPECT_NEAR(share, q, 4.5 * std::sqrt(q * (1 - q) / 4000.0) + 1e-9) << "token " << t;
  }
}

TEST(Generate, StopTokensForcedPrefixAndProcessor) {
  auto m = small_model();
  GenerateOptions o;
  o.max_new_tokens = 20;
  o.forced_prefix = {7, 7};
  o.seed = 1;
  // The processor forbids everything but tokens 3 and 4; token 4 stops.
  o.logits_processor = [](torch::Tensor& logits, const std::vector<std::vector<int64_t>>&) {
    auto keep = torch::zeros_like(logits, torch::kBool);
    keep.index_put_({torch::indexing::Slice(), 3}, true);
    keep.index_put_({torch::indexing::Slice(), 4}, true);
    logits.masked_fill_(keep.logical_not(), -std::numeric_limits<float>::infinity());
  };
  o.stop_tokens = {4};
  auto c = generate(m, {1}, o)[0];
  ASSERT_GE(c.tokens.size(), 3u);
  EXPECT_EQ(c.tokens[0], 7);
  EXPECT_EQ(c.tokens[1], 7);
  for (size_t i = 2; i < c.tokens.size(); ++i) EXPECT_TRUE(c.tokens[i] == 3 || c.tokens[i] == 4);
  if (c.finish_reason == "stop") EXPECT_EQ(c.tokens.back(), 4);
  else EXPECT_EQ(c.tokens.size(), 22u);
}

// on_token sees every emitted token in order, per sample; returning true ends that sample
// there (finish "stop") without touching the others, and is ignored inside the forced prefix.
TEST(Generate, OnTokenStreamsEveryTokenAndCanEndOneSample) {
  auto m = small_model();
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.n_samples = 2;
  o.seed = 5;
  const auto plain = generate(m, {1, 2}, o);
  std::vector<std::vector<int64_t>> seen(2);
  o.forced_prefix = {};
  o.on_token = [&](int64_t sample, int64_t token) {
    seen[static_cast<size_t>(sample)].push_back(token);
    return sample == 0 && seen[0].size() == 3;  // sample 0 ends after its third token
  };
  const auto ended = generate(m, {1, 2}, o);
  EXPECT_EQ(seen[1], plain[1].tokens);
  EXPECT_EQ(ended[1].tokens, plain[1].tokens);
  ASSERT_EQ(ended[0].tokens.size(), 3u);
  EXPECT_EQ(ended[0].finish_reason, "stop");
  EXPECT_EQ(ended[0].tokens, std::vector<int64_t>(plain[0].tokens.begin(), plain[0].tokens.begin() + 3));
  GenerateOptions forced;
  forced.max_new_tokens = 2;
  forced.forced_prefix = {7, 7};
  forced.on_token = [](int64_t, int64_t token) { return token == 7; };  // inside the prefix: ignored
  EXPECT_GE(generate(m, {1}, forced)[0].tokens.size(), 3u);
}

TEST(Generate, BidirectionalIsRefused) {
  auto m = small_model();
  GenerateOptions o;
  o.mask = MaskMode::bidirectional;
  testing::expect_error_containing([&] { generate(m, {1}, o); }, "bidirectional");
}

// top_p 0 used to drop every token and fail inside libtorch ("probability tensor contains
// inf, nan or element < 0"); values outside their range are refused naming the option.
// Sampled completions record, at each step, the top log-probabilities of the model's own
// distribution (before temperature): equal to a full forward's log_softmax on the sampled path.
TEST(Generate, TopLogprobsAreTheFullForwardsOnTheSampledPath) {
  auto m = small_model();
  GenerateOptions o;
  o.temperature = 1.5;
  o.top_k = 3;
  o.max_new_tokens = 4;
  o.n_samples = 2;
  o.seed = 9;
  o.top_logprobs = 3;
  o.forced_prefix = {5};
  const auto completions = generate(m, {1, 2}, o);
  torch::NoGradGuard no_grad;
  m->eval();
  for (const auto& c : completions) {
    ASSERT_EQ(c.tokens.size(), 5u);
    ASSERT_EQ(c.top_logprobs.size(), 4u) << "none for the forced prefix";
    std::vector<int64_t> seq{1, 2, 5};
    for (size_t step = 0; step < 4; ++step) {
      auto logp = torch::log_softmax(m->forward(torch::tensor(seq, torch::kLong).view({1, -1})).logits[0][-1].to(torch::kFloat64), -1);
      auto [values, ids] = logp.topk(3);
      ASSERT_EQ(c.top_logprobs[step].size(), 3u);
      for (int64_t j = 0; j < 3; ++j) {
        EXPECT_EQ(c.top_logprobs[step][static_cast<size_t>(j)].token, ids[j].item<int64_t>());
        EXPECT_NEAR(c.top_logprobs[step][static_cast<size_t>(j)].logprob, values[j].item<double>(), 1e-5);
      }
      seq.push_back(c.tokens[step + 1]);
    }
  }
  o.top_logprobs = -1;
  testing::expect_error_containing([&] { generate(m, {1}, o); }, "--logprobs must be >= 0");
}

TEST(Generate, RefusesSamplingSettingsOutOfRange) {
  auto m = small_model();
  for (const double top_p : {0.0, -0.5, 1.5, std::nan("")}) {
    GenerateOptions o;
    o.top_p = top_p;
    testing::expect_error_containing([&] { generate(m, {1}, o); }, "--top-p must be in (0, 1], got");
  }
  GenerateOptions o;
  o.temperature = std::nan("");
  testing::expect_error_containing([&] { generate(m, {1}, o); }, "--temperature must be a finite number >= 0, got nan");
  o = {};
  o.top_k = -1;
  testing::expect_error_containing([&] { generate(m, {1}, o); }, "--top-k must be >= 0 (0 = off), got -1");
}

TEST(Score, ContinuationLogProbsMatchFullForward) {
  auto m = small_model();
  auto lp = score_continuation(m, {1, 2}, {3, 4});
  torch::NoGradGuard no_grad;
  m->eval();
  auto logp = torch::log_softmax(m->forward(torch::tensor({{1, 2, 3, 4}}, torch::kLong)).logits[0].to(torch::kFloat64), -1);
  EXPECT_NEAR(lp[0].item<double>(), logp[1][3].item<double>(), 1e-6);
  EXPECT_NEAR(lp[1].item<double>(), logp[2][4].item<double>(), 1e-6);
}

// Vectors given in place of token embeddings: the token embeddings of a sequence give that
// sequence's logits under every mask and with learned positions; gradients reach the vectors
// and nothing of the model is needed to train them; malformed vectors are refused.
TEST(SoftPrompt, TokenEmbeddingsGiveTheTokensLogits) {
  for (const auto pos : {Positions::rope, Positions::learned}) {
    auto c = testing::tiny_config(AttentionGate::elementwise);
    c.pos = pos;
    torch::manual_seed(13);
    Transformer m(c);
    m->eval();
    const auto tokens = torch::tensor({{1, 4, 2, 8, 5}, {3, 3, 7, 0, 0}}, torch::kLong);
    for (const auto mask : {MaskMode::causal, MaskMode::bidirectional}) {
      ForwardOptions plain;
      plain.mask = mask;
      plain.attention_mask = torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, torch::kLong);
      ForwardOptions soft = plain;
      soft.input_embeddings = m->token_embedding(tokens);
      EXPECT_TRUE(torch::allclose(m->forward({}, soft).logits, m->forward(tokens, plain).logits, 1e-6, 1e-6));
    }
  }
  auto m = small_model();
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  auto soft = torch::randn({1, 3, testing::tiny_config().d_model}, torch::requires_grad());
  ForwardOptions options;
  options.input_embeddings = soft;
  m->forward({}, options).logits.sum().backward();
  ASSERT_TRUE(soft.grad().defined());
  EXPECT_GT(soft.grad().abs().sum().item<double>(), 0);
  options.input_embeddings = torch::randn({1, 3, 5});
  testing::expect_error_containing([&] { m->forward({}, options); }, "input embeddings must be [batch, seq, 8]");
}

// Decoding from the token embeddings of a prompt is decoding from the prompt (greedy and
// sampled, several samples); a soft prompt of another width is refused.
TEST(SoftPrompt, DecodingFromEmbeddingsEqualsDecodingFromTokens) {
  auto m = small_model();
  const std::vector<int64_t> prompt{1, 5, 2, 9};
  for (const double temperature : {0.0, 1.0}) {
    GenerateOptions o;
    o.temperature = temperature;
    o.max_new_tokens = 6;
    o.n_samples = 3;
    o.seed = 4;
    torch::Tensor embedded;
    {
      torch::NoGradGuard no_grad;
      embedded = m->token_embedding(torch::tensor(prompt, torch::kLong));
    }
    const auto from_tokens = generate(m, prompt, o);
    const auto from_vectors = generate_from_embeddings(m, embedded, o);
    ASSERT_EQ(from_vectors.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(from_vectors[i].tokens, from_tokens[i].tokens) << "temperature " << temperature << " sample " << i;
  }
  testing::expect_error_containing([&] { generate_from_embeddings(m, torch::zeros({2, 5}), {}); }, "a soft prompt must be [length >= 1, 8]");
}

}  // namespace
}  // namespace garden::model
