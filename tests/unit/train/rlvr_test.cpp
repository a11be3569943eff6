// RL with verifiable rewards (train/objectives/policy_gradient.h, train/rlvr.h): advantages by
// hand, the clipped surrogate's gradient against finite differences and where the clip stops
// it, the KL estimate, completion rows and log-probabilities against per-sequence scoring,
// seeded sampling, and GRPO that learns a trivially verifiable task.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "garden/core/error.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/train/objectives/policy_gradient.h"
#include "garden/train/rlvr.h"
#include "garden/train/run_folder.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

TEST(PolicyGradient, GroupAdvantagesByHand) {
  // GRPO: a group of equal rewards gets zeros (no NaN from a zero deviation); each group sums to zero.
  const auto grpo = advantages({1, 1, 1, 1, 1, 0, 0, 0}, 4, AdvantageKind::grpo);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(grpo[static_cast<size_t>(i)], 0.0);
  const double sd = std::sqrt((0.75 * 0.75 + 3 * 0.25 * 0.25) / 3);  // unbiased, mean 0.25
  EXPECT_NEAR(grpo[4], 0.75 / (sd + 1e-6), 1e-12);
  EXPECT_NEAR(grpo[5], -0.25 / (sd + 1e-6), 1e-12);
  EXPECT_NEAR(grpo[4] + grpo[5] + grpo[6] + grpo[7], 0.0, 1e-12);
  // RLOO, G = 4: r_i minus the mean of the other three.
  const auto rloo = advantages({1, 0, 0, 1}, 4, AdvantageKind::rloo);
  EXPECT_NEAR(rloo[0], 1 - 1.0 / 3, 1e-12);
  EXPECT_NEAR(rloo[1], 0 - 2.0 / 3, 1e-12);
  EXPECT_NEAR(rloo[3], 1 - 1.0 / 3, 1e-12);
  // Reinforce++: normalised over the whole batch, not per group.
  const auto rpp = advantages({1, 1, 0, 0}, 2, AdvantageKind::reinforce_pp);
  const double batch_sd = std::sqrt(4 * 0.25 / 3);
  EXPECT_NEAR(rpp[0], 0.5 / (batch_sd + 1e-6), 1e-12);
  EXPECT_NEAR(rpp[2], -0.5 / (batch_sd + 1e-6), 1e-12);
  EXPECT_THROW(advantages({1, 0, 1}, 2, AdvantageKind::grpo), Error);
  EXPECT_THROW(advantages({1}, 1, AdvantageKind::grpo), Error);
  EXPECT_THROW(parse_advantage("ppo"), Error);
  EXPECT_EQ(parse_advantage("reinforce++"), AdvantageKind::reinforce_pp);
}

// A tiny policy: free logits theta [B,T,V]; log-probs of fixed targets.
struct TinyPolicy : torch::nn::Module {
  torch::Tensor theta;
  TinyPolicy() { theta = register_parameter("theta", torch::randn({3, 4, 5}, torch::kFloat64)); }
  torch::Tensor log_probs(const torch::Tensor& targets) { return torch::log_softmax(theta, -1).gather(2, targets.unsqueeze(2)).squeeze(2); }
};

TEST(PolicyGradient, SurrogateGradientMatchesFiniteDifferences) {
  torch::manual_seed(1);
  TinyPolicy policy;
  const auto targets = torch::randint(0, 5, {3, 4}, torch::kLong);
  const auto mask = torch::tensor({1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1}, torch::kFloat64).view({3, 4});
  const auto adv = torch::tensor({1.5, -0.7, 0.3}, torch::kFloat64);
  // The sampling policy differs a little from the current one, so some ratios leave the clip range.
  const auto old = (policy.log_probs(targets) + 0.3 * torch::randn({3, 4}, torch::kFloat64)).detach();
  for (const auto aggregation : {LossAggregation::token, LossAggregation::sequence}) {
    testing::expect_gradients_match(policy, [&] {
      return clipped_surrogate_loss(policy.log_probs(targets), old, adv, mask, 0.2, 0.28, aggregation) +
             0.1 * k3_kl(policy.log_probs(targets), old, mask, aggregation);
    });
  }
}

TEST(PolicyGradient, ClipStopsTheGradientOnlyInTheClippedDirection) {
  const auto mask = torch::ones({1, 1}, torch::kFloat64);
  const auto grad_at = [&](double log_ratio, double advantage) {
    auto logp = torch::full({1, 1}, log_ratio, torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true));
    clipped_surrogate_loss(logp, torch::zeros({1, 1}, torch::kFloat64), torch::tensor({advantage}, torch::kFloat64), mask, 0.2, 0.2,
                           LossAggregation::token)
        .backward();
    return logp.grad().item<double>();
  };
  EXPECT_EQ(grad_at(std::log(1.5), 1.0), 0.0);    // ratio above 1 + eps, advantage positive: clipped
  EXPECT_EQ(grad_at(std::log(0.5), -1.0), 0.0);   // ratio below 1 - eps, advantage negative: clipped
  EXPECT_NEAR(grad_at(std::log(0.5), 1.0), -0.5, 1e-12);  // pushing back into range still has a gradient: -A rho
  EXPECT_NEAR(grad_at(std::log(1.5), -1.0), 1.5, 1e-12);
  EXPECT_NEAR(grad_at(0.0, 2.0), -2.0, 1e-12);    // on-policy: the policy gradient -A
  // The KL estimate is zero for equal policies and positive otherwise.
  EXPECT_EQ(k3_kl(torch::zeros({1, 1}), torch::zeros({1, 1}), torch::ones({1, 1}), LossAggregation::token).item<double>(), 0.0);
  EXPECT_GT(k3_kl(torch::zeros({1, 1}), torch::full({1, 1}, -0.5), torch::ones({1, 1}), LossAggregation::token).item<double>(), 0.0);
}

TEST(PolicyGradient, SequenceMeanWeighsResponsesAlike) {
  const auto values = torch::tensor({1.0, 1.0, 1.0, 4.0, 0.0, 0.0}, torch::kFloat64).view({2, 3});
  const auto mask = torch::tensor({1.0, 1.0, 1.0, 1.0, 0.0, 0.0}, torch::kFloat64).view({2, 3});
  EXPECT_NEAR(aggregate_tokens(values, mask, LossAggregation::token).item<double>(), 7.0 / 4, 1e-12);
  EXPECT_NEAR(aggregate_tokens(values, mask, LossAggregation::sequence).item<double>(), (1.0 + 4.0) / 2, 1e-12);
}

TEST(Rlvr, CompletionRowsMaskTheCompletionAndItsEnd) {
  text::ByteTokenizer bytes;
  const auto rows = completion_rows(bytes, {"ab", "c"}, {"x", "yz"});
  // Row 0: BOS a b x EOS -> inputs BOS a b x, targets a b x EOS, counted x and EOS.
  EXPECT_EQ(rows.input.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(rows.target[0][2].item<int64_t>(), 'x');
  EXPECT_EQ(rows.target[0][3].item<int64_t>(), bytes.eos_id());
  EXPECT_EQ(rows.mask[0].sum().item<double>(), 2.0);
  EXPECT_EQ(rows.mask[0][1].item<double>(), 0.0);
  // Row 1: BOS c y z EOS -> counted y, z, EOS.
  EXPECT_EQ(rows.mask[1].sum().item<double>(), 3.0);
  EXPECT_EQ(rows.counted(), 5);
  EXPECT_THROW(completion_rows(bytes, {"a"}, {}), Error);
}

TEST(Rlvr, LogProbsAndPerplexitiesEqualScoringEachSequenceAlone) {
  torch::manual_seed(2);
  model::Transformer model(testing::byte_config());
  text::ByteTokenizer bytes;
  const std::vector<std::string> prompts{"3 4 5 to 35:", "1 2"}, completions{" (3+4)*5=35", "!"};
  torch::NoGradGuard no_grad;
  model->eval();
  const auto rows = completion_rows(bytes, prompts, completions);
  const auto log_probs = completion_log_probs(model, rows);
  const auto ppl = completion_perplexities(model, bytes, prompts, completions, 1);
  for (size_t r = 0; r < prompts.size(); ++r) {
    auto continuation = bytes.encode(completions[r]);
    continuation.push_back(bytes.eos_id());
    const auto reference = model::score_continuation(model, prompt_tokens(bytes, prompts[r]), continuation);
    EXPECT_NEAR(log_probs[static_cast<int64_t>(r)].sum().item<double>(), reference.sum().item<double>(), 1e-4);
    EXPECT_NEAR(ppl[r], std::exp(-reference.mean().item<double>()), 1e-3 * ppl[r]);
  }
}

TEST(Rlvr, SamplingIsSeededPerCompletionWhateverTheBatch) {
  torch::manual_seed(3);
  model::Transformer model(testing::byte_config());
  text::ByteTokenizer bytes;
  const std::vector<std::string> prompts{"1 2 3 to 6:", "9 9 9 to 162:", "5"};
  SamplingOptions options{1.0, 1.0, 6, 512};
  const auto all = sample_completions(model, bytes, prompts, 4, options, 11);
  options.batch_rows = 3;  // one prompt at a time
  EXPECT_EQ(sample_completions(model, bytes, prompts, 4, options, 11), all);
  EXPECT_NE(sample_completions(model, bytes, prompts, 4, options, 12), all);
  ASSERT_EQ(all.size(), 3u);
  for (const auto& group : all) EXPECT_EQ(group.size(), 4u);
  EXPECT_THROW(sample_completions(model, bytes, prompts, 0, options, 1), Error);
}

TEST(Rlvr, GrpoLearnsAVerifiableTaskAndKeepsTheAskedModels) {
  // Reward: the completion starts with a digit. An untrained byte model writes one first about
  // 10 times in 259; a handful of GRPO steps at a high learning rate make it the rule.
  torch::manual_seed(4);
  model::Transformer model(testing::byte_config());
  VerifiableTask task;
  for (int i = 0; i < 8; ++i) task.prompts.push_back(std::to_string(i) + " to:");
  task.verify = [](size_t, const std::string& completion) { return !completion.empty() && completion[0] >= '0' && completion[0] <= '9'; };
  RlOptions options;
  options.group = 8;
  options.prompts = 4;
  options.max_new_tokens = 3;
  options.temperature = 1.0;
  options.eval_problems = 8;
  options.eval_samples = 8;
  options.save_at = {10, 20};
  TrainConfig config;
  config.steps = 20;
  config.lr = 3e-2;
  config.min_lr_ratio = 1.0;
  config.warmup = 1;
  config.weight_decay = 0;
  config.eval_every = 10;
  config.checkpoint_every = 10;
  testing::TempDir dir;
  const auto result = train_rl(model, "bytes", task, task, options, config, dir.path() / "rl", false, true);
  EXPECT_EQ(result.train.steps_done, 20);
  ASSERT_EQ(result.saved.size(), 2u);
  for (const auto& saved : result.saved) EXPECT_TRUE(std::filesystem::exists(saved / "model.safetensors")) << saved;
  EXPECT_GT(result.trained_tokens, 0);
  // The held-out pass@1 logged at steps 10 and 20: it rises.
  std::ifstream metrics(dir.path() / "rl" / "metrics.jsonl");
  std::vector<double> pass1;
  for (std::string line; std::getline(metrics, line);) {
    const auto j = Json::parse(line);
    if (j.value("kind", "") == "eval") {
      ASSERT_TRUE(j.contains("reward") && j.contains("entropy")) << line;
      pass1.push_back(j["held_out_pass1"].get<double>());
    }
  }
  ASSERT_EQ(pass1.size(), 2u);
  EXPECT_GT(pass1[1], 0.9);
  EXPECT_GT(pass1[1], pass1[0] - 1e-9);
  // A model to keep at a step no evaluation reaches is refused up front.
  options.save_at = {3};
  EXPECT_THROW(train_rl(model, "bytes", task, task, options, config, dir.path() / "rl2", false, true), Error);
}

}  // namespace
}  // namespace garden::train
