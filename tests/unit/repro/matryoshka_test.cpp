// The Matryoshka criteria on hand-made figures: a set that passes every criterion, and for
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

const char* const kMatryoshka = "matryoshka";

// E1 stores top-1 as fractions; E2 stores nDCG@10 x 100, null where FF is not defined.
Json matryoshka_passing() {
  const Json e1 = {
      {"widths", {4, 8, 16, 32, 64}},
      {"linear",
       {{"MRL", {0.50, 0.60, 0.70, 0.75, 0.80}},
        // MRL-E-4 is 5 points below FF-4: only widths from 8 are held to FF - 2.
        {"MRL-E", {0.45, 0.59, 0.69, 0.74, 0.79}},
        {"FF-64 truncated", {0.20, 0.30, 0.50, 0.70, 0.80}},
        {"SVD of FF-64", {0.25, 0.35, 0.55, 0.70, 0.79}}}},
      {"ff_linear", {0.50, 0.60, 0.70, 0.75, 0.80}}};
  // Means over the two collections: MRL-16 35, FF-16 35.5, truncated FF-128 at 16 17.5;
  // MRL-128 43, FF-128 43.25.
  const Json e2 = {
      {"widths", {8, 16, 32, 64, 128}},
      {"collections", Json::array({"cranfield", "npl"})},
      {"ndcg",
       {{"MRL", {{"cranfield", {30.0, 40.0, 45.0, 48.0, 50.0}}, {"npl", {20.0, 30.0, 33.0, 35.0, 36.0}}}},
        {"FF", {{"cranfield", Json::array({nullptr, 41.0, nullptr, nullptr, 50.5})},
                {"npl", Json::array({nullptr, 30.0, nullptr, nullptr, 36.0})}}},
        {"FF-128 truncated", {{"cranfield", {10.0, 20.0, 35.0, 45.0, 50.5}}, {"npl", {5.0, 15.0, 25.0, 33.0, 36.0}}}}}},
      // In the order of "collections": against exact 128-d search at 50 and 36.
      {"adaptive", {50.2, 35.8}},
      {"funnel", {49.6, 36.3}},
      {"flops_ratio_adaptive", 6.8},
      {"flops_ratio_funnel", 12.1},
      {"ms_per_query", {{"exact", 0.5}, {"adaptive", 0.3}, {"funnel", 0.2}}},
      {"cost_collection", "npl"},
      {"cost_docs", 11429}};
  return {{"e1", e1}, {"e2", e2}};
}

TEST(MatryoshkaCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kMatryoshka, matryoshka_passing());
  ASSERT_EQ(criteria.size(), 3u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
}

TEST(MatryoshkaCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      // MRL-16 68 < FF-16 70 - 1.
      {"1. MRL matches", [](Json& f) { f["e1"]["linear"]["MRL"][2] = 0.68; }},
      // MRL-E-8 57 < FF-8 60 - 2.
      {"1. MRL matches", [](Json& f) { f["e1"]["linear"]["MRL-E"][1] = 0.57; }},
      // Truncated FF-64 at 8 is 51, only 9 below MRL-8 60.
      {"1. MRL matches", [](Json& f) { f["e1"]["linear"]["FF-64 truncated"][1] = 0.51; }},
      // Mean FF-16 (41 + 35) / 2 = 38 > MRL-16 35 + 2.
      {"2. MRL retrieves", [](Json& f) { f["e2"]["ndcg"]["FF"]["npl"][1] = 35.0; }},
      // Mean MRL-16 (36 + 30) / 2 = 33 < FF-16 35.5 - 2 (still 15.5 above truncated FF-128).
      {"2. MRL retrieves", [](Json& f) { f["e2"]["ndcg"]["MRL"]["cranfield"][1] = 36.0; }},
      // Mean FF-128 (53 + 36) / 2 = 44.5 > MRL-128 43 + 1.
      {"2. MRL retrieves", [](Json& f) { f["e2"]["ndcg"]["FF"]["cranfield"][4] = 53.0; }},
      // Mean truncated FF-128 at 16 (46 + 15) / 2 = 30.5 > MRL-16 35 - 5.
      {"2. MRL retrieves", [](Json& f) { f["e2"]["ndcg"]["FF-128 truncated"]["cranfield"][1] = 46.0; }},
      // |36.6 - 36| > 0.5 on npl.
      {"3. Adaptive retrieval", [](Json& f) { f["e2"]["adaptive"][1] = 36.6; }},
      // |49.4 - 50| > 0.5 on cranfield.
      {"3. Adaptive retrieval", [](Json& f) { f["e2"]["funnel"][0] = 49.4; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = matryoshka_passing();
    change(figures);
    expect_only_failing(criteria_of(kMatryoshka, figures), name);
  }
}

TEST(MatryoshkaCriteria, AdaptiveAndFunnelFollowTheCollectionsOrder) {
  Json figures = matryoshka_passing();
  figures["e2"]["collections"] = Json::array({"npl", "cranfield"});
  expect_only_failing(criteria_of(kMatryoshka, figures), "3. Adaptive retrieval");
}

TEST(MatryoshkaCriteria, MissingFiguresThrow) {
  const std::vector<std::function<void(Json&)>> removals = {
      [](Json& f) { f.erase("e2"); },
      [](Json& f) { f["e1"]["linear"].erase("MRL-E"); },
      [](Json& f) { f["e1"]["ff_linear"] = Json::array({0.5, 0.6}); },
      [](Json& f) { f["e2"].erase("collections"); },
      [](Json& f) { f["e2"]["ndcg"]["FF"].erase("npl"); },
      // FF is only defined at 16 and 128: a null there cannot be compared.
      [](Json& f) { f["e2"]["ndcg"]["FF"]["cranfield"][1] = nullptr; },
      [](Json& f) { f["e2"]["ms_per_query"].erase("funnel"); },
  };
  for (const auto& remove : removals) {
    Json figures = matryoshka_passing();
    remove(figures);
    EXPECT_THROW(criteria_of(kMatryoshka, figures), Error);
  }
}

}  // namespace
}  // namespace garden::repro
