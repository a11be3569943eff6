// The gated-attention criteria on hand-made figures: a set that passes every criterion, and
// for each criterion a change of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro::gated_attention_test {
namespace {

Json arm(double val_loss, double f_attn, double m_act, double gate_mean, std::vector<double> gates, int64_t spikes) {
  return {{"val_loss", val_loss}, {"f_attn_mean", f_attn}, {"m_act_mean", m_act}, {"gate_mean", gate_mean},
          {"gate_mean_by_eval", gates}, {"loss_spikes", spikes}};
}

Json backcopy_arm(double sink, double residual_peak, double copy_accuracy) {
  return {{"bos_share_dormant_max", sink}, {"residual_peak", residual_peak}, {"copy_accuracy", copy_accuracy}};
}

Json passing() {
  return {{"BB baseline", backcopy_arm(0.90, 3.0, 0.995)},
          {"BB headwise", backcopy_arm(0.30, 2.0, 0.99)},
          {"BB elementwise", backcopy_arm(0.20, 2.9, 0.986)},
          {"baseline", arm(1.80, 0.40, 30.0, 0.0, {}, 0)},
          {"headwise", arm(1.79, 0.30, 20.0, 0.4, {0.5, 0.4}, 0)},
          {"elementwise", arm(1.805, 0.05, 10.0, 0.3, {0.5, 0.3}, 0)},
          {"baseline@1e-2", arm(1.95, 0.40, 300.0, 0.0, {}, 3)},
          {"elementwise@1e-2", arm(1.90, 0.10, 100.0, 0.3, {0.5, 0.3}, 1)},
          {"baseline@1e-2 (seed+1)", arm(1.94, 0.40, 310.0, 0.0, {}, 2)},
          {"elementwise@1e-2 (seed+1)", arm(1.92, 0.10, 110.0, 0.3, {0.5, 0.3}, 2)}};
}

TEST(GatedAttentionCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of("gated-attention", passing());
  ASSERT_EQ(criteria.size(), 9u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed && c.judged) << c.description << ": " << c.measured;
}

TEST(GatedAttentionCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"language model's sink", [](Json& f) { f["elementwise"]["f_attn_mean"] = 0.201; }},
      {"massive activations", [](Json& f) { f["elementwise"]["m_act_mean"] = 30.0; }},
      {"sparse", [](Json& f) { f["elementwise"]["gate_mean_by_eval"] = {0.3, 0.31}; }},
      {"sparse", [](Json& f) { f["elementwise"]["gate_mean"] = 0.5; }},
      {"validation loss", [](Json& f) { f["elementwise"]["val_loss"] = 1.8101; }},
      {"stabilises", [](Json& f) { f["elementwise@1e-2"]["loss_spikes"] = 4; }},
      {"stabilises", [](Json& f) { f["elementwise@1e-2"]["val_loss"] = 1.95; }},
      // One seed against: the mean over seeds would still favour the gate (1.90 + 1.945 vs
      // 1.95 + 1.94), but a small-margin claim must hold on each seed.
      {"stabilises", [](Json& f) { f["elementwise@1e-2 (seed+1)"]["val_loss"] = 1.945; }},
      {"stabilises", [](Json& f) { f["elementwise@1e-2 (seed+1)"]["loss_spikes"] = 3; }},
      {"sink on Bigram-Backcopy", [](Json& f) { f["BB baseline"]["bos_share_dormant_max"] = 0.49; }},
      {"removes the Bigram-Backcopy sink", [](Json& f) { f["BB elementwise"]["bos_share_dormant_max"] = 0.46; }},
      {"residual peak", [](Json& f) { f["BB elementwise"]["residual_peak"] = 3.0; }},
      // Within one point: 98.6 against 99.5 passes, 98.4 does not.
      {"copying", [](Json& f) { f["BB elementwise"]["copy_accuracy"] = 0.984; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = passing();
    change(figures);
    expect_only_failing(criteria_of("gated-attention", figures), name);
  }
}

TEST(GatedAttentionCriteria, TheBigramBackcopySinkIsThePrecondition) {
  Json figures = passing();
  figures["BB baseline"]["bos_share_dormant_max"] = 0.3;
  Result r;
  r.criteria = criteria_of("gated-attention", figures);
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::inconclusive);
}

TEST(GatedAttentionCriteria, ALanguageModelWithoutASinkLeavesItsSinkCheckUnjudged) {
  Json figures = passing();
  figures["baseline"]["f_attn_mean"] = 0.149;
  figures["elementwise"]["f_attn_mean"] = 0.149;  // would fail the halving if it were judged
  Result r;
  r.criteria = criteria_of("gated-attention", figures);
  int unjudged = 0;
  for (const auto& c : r.criteria) unjudged += c.judged ? 0 : 1;
  EXPECT_EQ(unjudged, 1);
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::reproduced);
}

TEST(GatedAttentionCriteria, ArmsAreReadByNameNotPosition) {
  Json figures = passing();
  Json swapped = figures;
  swapped["baseline"] = figures["elementwise"];
  swapped["elementwise"] = figures["baseline"];
  Result r;
  r.criteria = criteria_of("gated-attention", swapped);
  decide_verdict(r);
  EXPECT_NE(r.verdict, Verdict::reproduced);
  figures.erase("elementwise@1e-2 (seed+1)");
  EXPECT_THROW(criteria_of("gated-attention", figures), Error);
  figures = passing();
  figures.erase("elementwise@1e-2");
  EXPECT_THROW(criteria_of("gated-attention", figures), Error);
}

}  // namespace
}  // namespace garden::repro::gated_attention_test
