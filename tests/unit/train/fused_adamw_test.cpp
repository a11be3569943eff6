#include "garden/train/fused_adamw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "garden/train/adamw_kernel.h"

namespace garden::train::fused_adamw_checks {
namespace {

// Leaves of several shapes: one above the 32k-element chunk (so the update runs in parallel
// chunks), small ones, a 1-d gain, and a transposed (strided) leaf that takes the fallback.
std::vector<torch::Tensor> make_parameters(uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> ps{torch::randn({300, 257}), torch::randn({17, 5}), torch::randn({64}), torch::randn({9, 6}).t()};
  for (auto& p : ps) p = p.detach().requires_grad_(true);
  return ps;
}

std::vector<torch::Tensor> clones(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) {
    auto c = torch::empty_strided(p.sizes(), p.strides());
    c.copy_(p.detach());
    out.push_back(c.requires_grad_(true));
  }
  return out;
}

std::vector<torch::optim::OptimizerParamGroup> groups(const std::vector<torch::Tensor>& ps) {
  auto options = [](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(3e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> g;
  g.emplace_back(std::vector<torch::Tensor>{ps[0], ps[1], ps[3]}, options(0.1));
  g.emplace_back(std::vector<torch::Tensor>{ps[2]}, options(0.0));
  return g;
}

// Gradients of a loss that is the same function of both copies; `grow` makes them large
// enough that clipping at 1.0 scales them.
void set_gradients(const std::vector<torch::Tensor>& ps, int step, double grow) {
  for (size_t i = 0; i < ps.size(); ++i) {
    torch::manual_seed(100 * static_cast<uint64_t>(step) + i);
    auto g = torch::randn(ps[i].sizes()) * grow;
    if (ps[i].grad().defined()) {
      ps[i].mutable_grad().copy_(g);
    } else {
      auto into = torch::empty_strided(ps[i].sizes(), ps[i].strides());
      into.copy_(g);
      ps[i].mutable_grad() = into;
    }
  }
}

void expect_close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double tolerance) {
  for (size_t i = 0; i < a.size(); ++i) {
    const double gap = (a[i].detach() - b[i].detach()).abs().max().item<double>();
    EXPECT_LE(gap, tolerance) << "parameter " << i;
  }
}

TEST(FusedAdamW, MatchesLibtorchAdamWWithDecayGroupsAndClipping) {
  for (const double grow : {0.001, 10.0}) {  // unclipped, then clipped on every step
    const auto reference = make_parameters(1);
    const auto fused_params = clones(reference);
    torch::optim::AdamW slow(groups(reference), torch::optim::AdamWOptions(3e-2));
    FusedAdamW fast(groups(fused_params), torch::optim::AdamWOptions(3e-2));
    for (int step = 1; step <= 6; ++step) {
      set_gradients(reference, step, grow);
      set_gradients(fused_params, step, grow);
      const auto before = fused_params[0].grad().clone();
      const double norm = torch::nn::utils::clip_grad_norm_(reference, 1.0);
      const auto clip = gradient_clip(fused_params, 1.0);
      EXPECT_NEAR(clip.norm, norm, 1e-9 * norm);
      if (grow > 1) EXPECT_LT(clip.scale, 1.0);
      else EXPECT_EQ(clip.scale, 1.0);
      slow.step();
      fast.step_scaled(clip.scale);
      EXPECT_TRUE(torch::equal(fused_params[0].grad(), before)) << "the gradients are left as they are";
      expect_close(fused_params, reference, 2e-6);
    }
    // The parameters moved: the comparison is not between two copies that stood still.
    EXPECT_GT((fused_params[0].detach() - make_parameters(1)[0]).abs().max().item<double>(), 0.05);
  }
}

TEST(FusedAdamW, StateRoundTripsWithLibtorchAdamW) {
  // Saved by the fused optimizer, loaded into libtorch's (and back): both continue alike.
  const auto a = make_parameters(2);
  const auto b = clones(a);
  FusedAdamW fused(groups(a), torch::optim::AdamWOptions(3e-2));
  torch::optim::AdamW plain(groups(b), torch::optim::AdamWOptions(3e-2));
  for (int step = 1; step <= 3; ++step) {
    set_gradients(a, step, 1.0);
    fused.step();
  }
  std::stringstream saved;
  {
    torch::serialize::OutputArchive archive;
    fused.save(archive);
    archive.save_to(saved);
  }
  for (size_t i = 0; i < a.size(); ++i) b[i].detach().copy_(a[i].detach());
  {
    torch::serialize::InputArchive archive;
    archive.load_from(saved);
    plain.load(archive);
  }
  for (int step = 4; step <= 5; ++step) {
    set_gradients(a, step, 1.0);
    set_gradients(b, step, 1.0);
    fused.step();
    plain.step();
  }
  expect_close(a, b, 2e-6);
}

TEST(AdamWKernel, OneElementByHand) {
  // Step 1 from zero moments: m = 0.1 g, v = 0.05 g^2, bias corrections 0.1 and 0.05, so the
  // update is lr * g / (|g| + eps') = lr * sign(g) up to eps; decay first multiplies by 0.99.
  float param = 2.0f, exp_avg = 0.0f, exp_avg_sq = 0.0f;
  const float grad = -4.0f;
  const AdamWCoefficients c{0.5f, 0.99f, 0.9f, 0.1f, 0.95f, 0.05f, std::sqrt(0.05f), 1e-8f, 0.1f / 0.1f};
  adamw_update(&param, &grad, &exp_avg, &exp_avg_sq, 1, c);
  EXPECT_FLOAT_EQ(exp_avg, 0.1f * -2.0f);
  EXPECT_FLOAT_EQ(exp_avg_sq, 0.05f * 4.0f);
  // step_size 1.0 (lr 0.1 / bias correction 0.1): 1.98 - (-0.2) / (sqrt(0.2) / sqrt(0.05) + 1e-8) = 1.98 + 0.1
  EXPECT_NEAR(param, 1.98f + 0.1f, 1e-6);
}

}  // namespace
}  // namespace garden::train::fused_adamw_checks
