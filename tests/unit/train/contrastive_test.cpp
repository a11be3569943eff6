#include "garden/train/objectives/contrastive.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"

namespace garden::train {
namespace {

TEST(Contrastive, InfoNceEqualsAHandComputedThreeByThreeCase) {
  const auto q = torch::eye(3, torch::kFloat64);
  const auto p = torch::tensor({1.0, 0.0, 0.0, 0.6, 0.8, 0.0, 0.0, 0.0, 1.0}, torch::kFloat64).view({3, 3});
  // Cosines s[i][j] = p_j[i]: rows (1, .6, 0), (0, .8, 0), (0, 0, 1); tau = 0.5.
  const double tau = 0.5;
  auto term = [&](double a, double b, double c, double own) {
    return std::log(std::exp(a / tau) + std::exp(b / tau) + std::exp(c / tau)) - own / tau;
  };
  const double expected = (term(1, 0.6, 0, 1) + term(0, 0.8, 0, 0.8) + term(0, 0, 1, 1)) / 3;
  ContrastiveOptions o;
  o.temperature = tau;
  EXPECT_NEAR(info_nce(q, p, {}, o).item<double>(), expected, 1e-12);
  // Scaling an input does not matter: scores are cosines.
  EXPECT_NEAR(info_nce(q * 3, p * 0.5, {}, o).item<double>(), expected, 1e-12);
}

TEST(Contrastive, GradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  const auto q = torch::randn({4, 5}, torch::kFloat64).requires_grad_(true);
  const auto p = torch::randn({4, 5}, torch::kFloat64).requires_grad_(true);
  const auto n = torch::randn({4, 2, 5}, torch::kFloat64).requires_grad_(true);
  ContrastiveOptions o;
  o.temperature = 0.1;
  info_nce(q, p, n, o).backward();
  const double h = 1e-6;
  for (const auto& x : {q, p, n}) {
    auto flat = x.detach().view({-1});
    for (int64_t i = 0; i < flat.numel(); i += 3) {
      const double saved = flat[i].item<double>();
      flat[i] = saved + h;
      const double up = info_nce(q.detach(), p.detach(), n.detach(), o).item<double>();
      flat[i] = saved - h;
      const double down = info_nce(q.detach(), p.detach(), n.detach(), o).item<double>();
      flat[i] = saved;
      EXPECT_NEAR(x.grad().view({-1})[i].item<double>(), (up - down) / (2 * h), 1e-6);
    }
  }
}

TEST(Contrastive, InBatchSwitchAndPositiveAwareFilter) {
  torch::manual_seed(3);
  // Positives close to their queries (cosine near 1), negatives random: the filter keeps these.
  const auto q = torch::randn({3, 4}, torch::kFloat64), p = q + 0.1 * torch::randn({3, 4}, torch::kFloat64);
  const auto n = torch::randn({3, 2, 4}, torch::kFloat64);
  ContrastiveOptions only_hard;
  only_hard.in_batch = false;
  // Without in-batch negatives query i sees its positive and its own two negatives only.
  const auto unit = [](const torch::Tensor& x) { return x / x.norm(2, -1, true); };
  const auto s_pos = (unit(q) * unit(p)).sum(-1), s_neg = torch::einsum("bc,bkc->bk", {unit(q), unit(n)});
  const auto expected =
      (torch::logsumexp(torch::cat({s_pos.unsqueeze(1), s_neg}, 1) / 0.05, 1) - s_pos / 0.05).mean().item<double>();
  EXPECT_NEAR(info_nce(q, p, n, only_hard).item<double>(), expected, 1e-10);
  // A hard negative that is a copy of the positive is dropped by the 0.95 filter.
  auto with_copy = torch::cat({n, p.unsqueeze(1)}, 1);
  ContrastiveOptions filtered = only_hard;
  filtered.filter_margin = 0.95;
  EXPECT_NEAR(info_nce(q, p, with_copy, filtered).item<double>(), expected, 1e-10);
  EXPECT_GT(info_nce(q, p, with_copy, only_hard).item<double>(), expected + 1e-3);
  EXPECT_THROW(info_nce(q, p, {}, only_hard), Error);
}

TEST(Contrastive, MatryoshkaWithOneFullWidthIsThePlainLoss) {
  torch::manual_seed(4);
  const auto q = torch::randn({5, 8}, torch::kFloat64), p = torch::randn({5, 8}, torch::kFloat64);
  ContrastiveOptions o;
  const double plain = info_nce(q, p, {}, o).item<double>();
  EXPECT_NEAR(matryoshka_info_nce(q, p, {}, {8}, {}, o).item<double>(), plain, 1e-12);
  const double prefix = info_nce(q.narrow(1, 0, 2), p.narrow(1, 0, 2), {}, o).item<double>();
  EXPECT_NEAR(matryoshka_info_nce(q, p, {}, {2, 8}, {0.5, 2.0}, o).item<double>(), 0.5 * prefix + 2 * plain, 1e-12);
  EXPECT_THROW(matryoshka_info_nce(q, p, {}, {4, 2}, {}, o), Error);
  EXPECT_THROW(matryoshka_info_nce(q, p, {}, {16}, {}, o), Error);
}

// Coordinates past the largest width never reach the loss, and every prefix is re-normalised:
// scaling one prefix's coordinates (which changes the full vector's direction) leaves that
// prefix's term unchanged.
TEST(Contrastive, MatryoshkaPrefixesAreRenormalisedAndTheTailGetsNoGradient) {
  torch::manual_seed(6);
  const auto q = torch::randn({4, 8}, torch::kFloat64).requires_grad_(true), p = torch::randn({4, 8}, torch::kFloat64);
  ContrastiveOptions o;
  matryoshka_info_nce(q, p, {}, {2, 4}, {}, o).backward();
  EXPECT_EQ(q.grad().narrow(1, 4, 4).abs().max().item<double>(), 0.0);
  EXPECT_GT(q.grad().narrow(1, 0, 4).abs().max().item<double>(), 0.0);
  torch::NoGradGuard no_grad;
  const auto scaled = q.detach().clone();
  scaled.narrow(1, 0, 2).mul_(7.0);
  EXPECT_NEAR(matryoshka_info_nce(scaled, p, {}, {2}, {}, o).item<double>(), matryoshka_info_nce(q, p, {}, {2}, {}, o).item<double>(), 1e-12);
}

TEST(Contrastive, PairwiseNllOnHandValuesAndItsGradient) {
  // f+ = <q,d+> = 2, f- = <q,d-> = 0: log(1 + e^-2) = 0.126928.
  const auto q = torch::tensor({1.0, 0.0}, torch::kFloat64).view({1, 2}).requires_grad_(true);
  const auto p = torch::tensor({2.0, 5.0}, torch::kFloat64).view({1, 2}).requires_grad_(true);
  const auto n = torch::tensor({0.0, 3.0}, torch::kFloat64).view({1, 2}).requires_grad_(true);
  const auto loss = pairwise_nll(q, p, n);
  ASSERT_EQ(loss.sizes(), torch::IntArrayRef({1}));
  EXPECT_NEAR(loss.item<double>(), std::log1p(std::exp(-2.0)), 1e-12);
  EXPECT_NEAR(loss.item<double>(), 0.126928, 1e-6);
  loss.sum().backward();
  // dl/df+ = -sigmoid(f- - f+); f+ = q . p, so dl/dp = -sigmoid(-2) q and dl/dn = +sigmoid(-2) q.
  const double s = 1 / (1 + std::exp(2.0));
  EXPECT_NEAR(p.grad()[0][0].item<double>(), -s, 1e-12);
  EXPECT_NEAR(n.grad()[0][0].item<double>(), s, 1e-12);
  EXPECT_NEAR(p.grad()[0][1].item<double>(), 0, 1e-12);
  // Inner products, not cosines: scaling a vector changes the loss.
  EXPECT_GT(std::abs(pairwise_nll(q.detach() * 3, p.detach(), n.detach()).item<double>() - loss.item<double>()), 1e-3);
  EXPECT_THROW(pairwise_nll(q, p, torch::zeros({2, 2}, torch::kFloat64)), Error);
}

TEST(Contrastive, PairwiseNllGradientsMatchFiniteDifferences) {
  torch::manual_seed(4);
  const auto q = torch::randn({3, 4}, torch::kFloat64).requires_grad_(true);
  const auto p = torch::randn({3, 4}, torch::kFloat64).requires_grad_(true);
  const auto n = torch::randn({3, 4}, torch::kFloat64).requires_grad_(true);
  pairwise_nll(q, p, n).mean().backward();
  const double h = 1e-6;
  for (const auto& x : {q, p, n}) {
    auto flat = x.detach().view({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double saved = flat[i].item<double>();
      flat[i] = saved + h;
      const double up = pairwise_nll(q.detach(), p.detach(), n.detach()).mean().item<double>();
      flat[i] = saved - h;
      const double down = pairwise_nll(q.detach(), p.detach(), n.detach()).mean().item<double>();
      flat[i] = saved;
      EXPECT_NEAR(x.grad().view({-1})[i].item<double>(), (up - down) / (2 * h), 1e-8);
    }
  }
}

TEST(Contrastive, InfoNceOnInnerProducts) {
  // Dot products at temperature 1: row i's logits are q_i . p_j (in-batch) and q_i . n_i.
  const auto q = torch::tensor({1.0, 0.0, 0.0, 2.0}, torch::kFloat64).view({2, 2});
  const auto p = torch::tensor({3.0, 0.0, 1.0, 1.0}, torch::kFloat64).view({2, 2});
  const auto n = torch::tensor({0.0, 4.0, 1.0, 0.0}, torch::kFloat64).view({2, 1, 2});
  ContrastiveOptions o;
  o.temperature = 1;
  o.cosine = false;
  // Row 0: positive 3, in-batch 1, hard 0. Row 1: positive 2, in-batch 0, hard 0.
  const double row0 = std::log(std::exp(3.0) + std::exp(1.0) + std::exp(0.0)) - 3;
  const double row1 = std::log(std::exp(2.0) + std::exp(0.0) + std::exp(0.0)) - 2;
  EXPECT_NEAR(info_nce(q, p, n, o).item<double>(), (row0 + row1) / 2, 1e-12);
}

TEST(Contrastive, HardestInBatchPicksTheTopOtherPositiveNotExcluded) {
  // Scores q_i . p_j: row 0 (5, 3, 4), row 1 (1, 2, 0), row 2 (0, 0, 9).
  const auto q = torch::eye(3, torch::kFloat64);
  const auto p = torch::tensor({5.0, 1.0, 0.0, 3.0, 2.0, 0.0, 4.0, 0.0, 9.0}, torch::kFloat64).view({3, 3});
  auto excluded = torch::zeros({3, 3}, torch::kBool);
  // Row 0: not itself (5), so p_2 (4). Row 1: p_0 (1) over p_2 (0). Row 2: both others score 0: the first.
  EXPECT_TRUE(torch::equal(hardest_in_batch(q, p, excluded), torch::tensor({2, 0, 0}, torch::kLong)));
  excluded[0][2] = true;  // p_2 is judged relevant to query 0: its next best is p_1
  excluded[1][0] = true;
  excluded[1][2] = true;  // nothing left for query 1
  EXPECT_TRUE(torch::equal(hardest_in_batch(q, p, excluded), torch::tensor({1, -1, 0}, torch::kLong)));
  EXPECT_THROW(hardest_in_batch(q, p, torch::zeros({2, 2}, torch::kBool)), Error);
}

}  // namespace
}  // namespace garden::train
