// The ANCE criteria on hand-made figures: a set that passes every criterion, and for each
// criterion a change of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro {
namespace {

const char* const kAnce = "ance";

Json arm(std::vector<double> mrr, std::vector<double> overlap) {
  return {{"mrr10", mrr}, {"ndcg10", mrr}, {"recall100", {0.9, 0.9}}, {"overlap", overlap}, {"seconds", {60, 60}}};
}

// 2,000 documents, K = 50: chance 0.025. 0: best MRR@10 0.30 >= 0.05. i: ANCE 0.30, 0.31
// above every baseline on both seeds, mean 30.5 >= best baseline (bm25+inbatch, 29.0) + 1.
// ii: ANCE-negative gradient norms 10x and 20x the in-batch ones. iii: ANCE overlap 0.6 >=
// 2 x BM25's 0.2; in-batch 0.03 <= 0.05.
Json ance_passing() {
  Json figures = {{"documents", 2000}, {"seeds", 2}, {"overlap_k", 50}, {"overlap_chance", 0.025},
                  {"arms",
                   {{"inbatch", arm({0.20, 0.21}, {0.03, 0.03})},
                    {"bm25", arm({0.25, 0.26}, {0.2, 0.2})},
                    {"bm25+inbatch", arm({0.28, 0.30}, {0.25, 0.25})},
                    {"ance", arm({0.30, 0.31}, {0.6, 0.6})}}}};
  figures["arms"]["ance"]["ance_grad_norm"] = {1.0, 2.0};
  figures["arms"]["ance"]["inbatch_grad_norm"] = {0.1, 0.1};
  return figures;
}

TEST(AnceCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kAnce, ance_passing());
  ASSERT_EQ(criteria.size(), 4u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
  EXPECT_TRUE(criteria[0].gate);
}

TEST(AnceCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"0. the encoder learns the task", [](Json& f) {  // ANCE still 3 points ahead of every baseline
         for (const auto* name : {"inbatch", "bm25", "bm25+inbatch"}) f["arms"][name]["mrr10"] = {0.01, 0.01};
         f["arms"]["ance"]["mrr10"] = {0.04, 0.04};
       }},
      {"i. ANCE beats every baseline", [](Json& f) { f["arms"]["inbatch"]["mrr10"] = {0.20, 0.32}; }},  // one seed above ANCE
      {"i. ANCE beats every baseline", [](Json& f) { f["arms"]["bm25+inbatch"]["mrr10"] = {0.295, 0.305}; }},  // within 1 point
      {"ii. after the warm-up", [](Json& f) { f["arms"]["ance"]["inbatch_grad_norm"] = {0.1, 0.3}; }},  // seed 2: 6.7x
      {"iii. training negatives match", [](Json& f) { f["arms"]["bm25"]["overlap"] = {0.35, 0.35}; }},
      {"iii. training negatives match", [](Json& f) { f["arms"]["inbatch"]["overlap"] = {0.06, 0.06}; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = ance_passing();
    change(figures);
    expect_only_failing(criteria_of(kAnce, figures), name);
  }
}

TEST(AnceCriteria, MissingFiguresAreAnErrorNotAPass) {
  Json figures = ance_passing();
  figures["arms"]["ance"].erase("ance_grad_norm");
  EXPECT_THROW(criteria_of(kAnce, figures), Error);
}

}  // namespace
}  // namespace garden::repro
