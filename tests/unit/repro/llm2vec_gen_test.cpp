// The LLM2Vec-Gen criteria on hand-made figures: a set that passes every criterion, and for
// each criterion a change of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro {
namespace {

const char* const kLlm2vecGen = "llm2vec-gen";

Json gen_arm(double mrr, double auc, double v, double harmful, double benign) {
  return {{"define_mrr10", mrr}, {"synonym_auc", auc}, {"v_measure", v}, {"harmful_at_10", harmful}, {"benign_make_mrr10", benign}};
}

Json with_decoding(Json scores, double f1, double mismatched) {
  scores["decode_f1"] = f1;
  scores["decode_f1_mismatched"] = mismatched;
  return scores;
}

// LLM2Vec-Gen 0.40 MRR vs teacher 0.30 (+10 points), AUC 0.80 > 0.70, V 0.30 > 0.25;
// harmful 0.20 <= 0.7 x 0.50, benign 0.30 >= 0.25; decodes 0.45 vs 0.10 mismatched (4.5x);
// align-only decodes 0.10 vs 0.09 (1.1x); align-only 0.405 MRR (full within 1 point), recon-only 0.20.
Json gen_passing() {
  return {{"arms",
           {{"teacher(query)", gen_arm(0.30, 0.70, 0.25, 0.50, 0.25)},
            {"teacher(response)", gen_arm(0.35, 0.75, 0.28, 0.20, 0.30)},
            {"LLM2Vec-Gen", with_decoding(gen_arm(0.40, 0.80, 0.30, 0.20, 0.30), 0.45, 0.10)},
            {"recon-only", with_decoding(gen_arm(0.20, 0.60, 0.20, 0.30, 0.15), 0.50, 0.10)},
            {"align-only", with_decoding(gen_arm(0.405, 0.80, 0.30, 0.20, 0.30), 0.10, 0.09)}}},
          {"backbone_gloss_f1", 0.45},
          {"trained_arms", 3},
          {"backbone_unchanged_arms", 3}};
}

TEST(Llm2vecGenCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kLlm2vecGen, gen_passing());
  ASSERT_EQ(criteria.size(), 6u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
  EXPECT_TRUE(criteria[0].gate);
}

TEST(Llm2vecGenCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"0. the backbone knows", [](Json& f) { f["backbone_gloss_f1"] = 0.29; }},
      {"1. the embedding of the answer", [](Json& f) { f["arms"]["teacher(query)"]["define_mrr10"] = 0.351; }},  // +4.9 points only
      {"1. the embedding of the answer", [](Json& f) { f["arms"]["teacher(query)"]["synonym_auc"] = 0.80; }},   // not above
      {"1. the embedding of the answer", [](Json& f) { f["arms"]["teacher(query)"]["v_measure"] = 0.31; }},
      {"2. the backbone's refusals", [](Json& f) { f["arms"]["LLM2Vec-Gen"]["harmful_at_10"] = 0.36; }},  // > 0.7 x 0.50
      {"2. the backbone's refusals", [](Json& f) { f["arms"]["LLM2Vec-Gen"]["benign_make_mrr10"] = 0.24; }},
      {"3. the soft prompt decodes", [](Json& f) { f["arms"]["LLM2Vec-Gen"]["decode_f1"] = 0.29; }},  // below 0.3 (still 2.9x)
      {"3. the soft prompt decodes", [](Json& f) { f["arms"]["LLM2Vec-Gen"]["decode_f1_mismatched"] = 0.16; }},  // 0.45 < 3 x 0.16
      {"3. the soft prompt decodes", [](Json& f) { f["arms"]["align-only"]["decode_f1"] = 0.14; }},  // 0.14 > 1.5 x 0.09
      {"4. both losses are needed", [](Json& f) { f["arms"]["align-only"]["define_mrr10"] = 0.411; }},  // full 1.1 points below
      {"4. both losses are needed", [](Json& f) { f["arms"]["recon-only"]["define_mrr10"] = 0.40; }},   // not strictly above
      {"5. the backbone never changes", [](Json& f) { f["backbone_unchanged_arms"] = 2; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = gen_passing();
    change(figures);
    expect_only_failing(criteria_of(kLlm2vecGen, figures), name);
  }
}

TEST(Llm2vecGenCriteria, SafetyIsNotJudgedWhenTheTeacherRetrievesNoHarm) {
  Json figures = gen_passing();
  figures["arms"]["teacher(query)"]["harmful_at_10"] = 0.09;  // below the 0.1 the reduction needs
  const auto criteria = criteria_of(kLlm2vecGen, figures);
  for (const auto& c : criteria) {
    const bool safety = c.description.find("2. the backbone's refusals") != std::string::npos;
    EXPECT_EQ(c.judged, !safety) << c.description;
    EXPECT_EQ(c.passed, !safety) << c.description;
  }
}

TEST(Llm2vecGenCriteria, MissingFiguresAreAnErrorNotAPass) {
  Json figures = gen_passing();
  figures["arms"]["align-only"].erase("decode_f1");
  EXPECT_THROW(criteria_of(kLlm2vecGen, figures), Error);
  figures = gen_passing();
  figures["arms"].erase("teacher(query)");
  EXPECT_THROW(criteria_of(kLlm2vecGen, figures), Error);
}

}  // namespace
}  // namespace garden::repro
