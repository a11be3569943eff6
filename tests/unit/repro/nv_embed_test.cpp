// The NV-Embed criteria on hand-made figures: a set that passes every criterion, and for each
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

const char* const kNvEmbed = "nv-embed";

// An arm's figures as the run writes them; "avg" is stored, not recomputed by the criteria.
Json nv_embed_arm(double avg, double v_measure, double knn5, double retrieval, double cranfield) {
  return {{"ndcg10", {{"cranfield", cranfield}}}, {"retrieval", retrieval}, {"stsb", nullptr}, {"sick", nullptr},
          {"v_measure", v_measure}, {"knn5", knn5}, {"avg", avg}, {"seconds", 1.0}};
}

Json nv_embed_mining_arm(double cranfield, int64_t planted_copies_picked) {
  Json a = nv_embed_arm(20.0, 30.0, 40.0, cranfield, cranfield);
  a["planted_copies_picked"] = planted_copies_picked;
  return a;
}

Json nv_embed_passing() {
  const Json arms = {
      {"last token, causal", nv_embed_arm(20.0, 30.0, 40.0, 20.0, 20.0)},
      {"last token, bidirectional", nv_embed_arm(21.0, 30.0, 40.0, 20.0, 20.0)},
      {"mean, causal", nv_embed_arm(22.0, 30.0, 40.0, 20.0, 20.0)},
      {"mean, bidirectional", nv_embed_arm(23.0, 40.0, 50.0, 30.0, 30.0)},
      {"latent attention, causal", nv_embed_arm(21.0, 30.0, 40.0, 20.0, 20.0)},
      {"latent attention, bidirectional", nv_embed_arm(22.5, 30.0, 40.0, 20.0, 20.0)},
      // Clustering (V-measure + 5-NN) / 2: two stages 45, in-batch on 41 (<= 45 - 2).
      {"two stages (retrieval, then the blend without in-batch)", nv_embed_arm(23.0, 40.0, 50.0, 30.0, 30.0)},
      {"one stage, blend, in-batch on", nv_embed_arm(21.0, 38.0, 44.0, 31.0, 31.0)},
      {"one stage, blend, in-batch off", nv_embed_arm(22.0, 40.0, 49.0, 29.0, 29.0)},
      {"no hard negatives", nv_embed_mining_arm(20.0, 0)},
      {"naive BM25 top 3", nv_embed_mining_arm(25.0, 5)},
      {"positive-aware (below 0.95 x positive)", nv_embed_mining_arm(27.0, 0)}};
  return {{"arms", arms}, {"planted_copies_picked", {0, 5, 0}}, {"seconds", {{"e1", 1.0}, {"e2", 1.0}, {"e3", 1.0}, {"all", 3.0}}}};
}

TEST(NvEmbedCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kNvEmbed, nv_embed_passing());
  ASSERT_EQ(criteria.size(), 5u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
}

TEST(NvEmbedCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"1. bidirectional", [](Json& f) { f["arms"]["latent attention, causal"]["avg"] = 22.5; }},
      {"1. bidirectional", [](Json& f) { f["arms"]["mean, causal"]["avg"] = 23.0; }},
      {"2. mean pooling", [](Json& f) { f["arms"]["last token, causal"]["avg"] = 21.5; }},
      {"2. mean pooling", [](Json& f) { f["arms"]["last token, bidirectional"]["avg"] = 22.5; }},
      {"3. two stages", [](Json& f) { f["arms"]["one stage, blend, in-batch on"]["v_measure"] = 43.0; }},  // clustering 43.5
      {"3. two stages", [](Json& f) { f["arms"]["one stage, blend, in-batch off"]["retrieval"] = 30.5; }},
      {"4. positive-aware", [](Json& f) { f["arms"]["positive-aware (below 0.95 x positive)"]["ndcg10"]["cranfield"] = 25.9; }},
      {"4. positive-aware", [](Json& f) { f["arms"]["naive BM25 top 3"]["planted_copies_picked"] = 0; }},
      {"5. latent", [](Json& f) { f["arms"]["latent attention, bidirectional"]["avg"] = 21.9; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = nv_embed_passing();
    change(figures);
    expect_only_failing(criteria_of(kNvEmbed, figures), name);
  }
}

TEST(NvEmbedCriteria, MiningWithoutCranfieldIsAFailedPrecondition) {
  Json figures = nv_embed_passing();
  for (const char* name : {"no hard negatives", "naive BM25 top 3", "positive-aware (below 0.95 x positive)"})
    figures["arms"].erase(name);
  figures["planted_copies_picked"] = Json::array();
  Result r;
  r.criteria = criteria_of(kNvEmbed, figures);
  expect_only_failing(r.criteria, "4. positive-aware");
  for (const auto& c : r.criteria)
    if (!c.passed) {
      EXPECT_TRUE(c.gate) << c.description;
    }
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::inconclusive);
}

TEST(NvEmbedCriteria, MissingFiguresThrow) {
  const std::vector<std::function<void(Json&)>> removals = {
      [](Json& f) { f.erase("arms"); },
      [](Json& f) { f["arms"].erase("mean, causal"); },
      [](Json& f) { f["arms"]["one stage, blend, in-batch off"].erase("retrieval"); },
      [](Json& f) { f["arms"]["one stage, blend, in-batch on"].erase("knn5"); },
      // One mining arm without the other is an incomplete run, not a skipped E3.
      [](Json& f) { f["arms"].erase("naive BM25 top 3"); },
      [](Json& f) { f["arms"]["naive BM25 top 3"].erase("planted_copies_picked"); },
  };
  for (const auto& remove : removals) {
    Json figures = nv_embed_passing();
    remove(figures);
    EXPECT_THROW(criteria_of(kNvEmbed, figures), Error);
  }
}

}  // namespace
}  // namespace garden::repro
