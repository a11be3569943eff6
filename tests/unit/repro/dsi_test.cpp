// The DSI criteria on hand-made figures: a set that passes every criterion, and for each
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

const char* const kDsi = "dsi";

Json split(double seen, double indexed_only, double all, double invalid = 0) {
  return {{"seen", {{"queries", 60}, {"hits1", seen / 4}, {"hits10", seen}}},
          {"indexed_only", {{"queries", 60}, {"hits1", indexed_only / 4}, {"hits10", indexed_only}}},
          {"all", {{"queries", 120}, {"hits1", all / 4}, {"hits10", all}}},
          {"invalid_share", invalid}};
}

Json arm(const Json& constrained, double memorisation, const Json& unconstrained = nullptr) {
  Json a = {{"constrained", constrained}, {"memorisation", memorisation}};
  if (!unconstrained.is_null()) a["unconstrained"] = unconstrained;
  return a;
}

// 300 documents: chance 0.0333. 0: seen 0.3 and 0.6 >= 0.1. 1: memorisation 0.95, 0.99. 2:
// retrieval-only 0.05 < 0.1, multitask 0.4 >= 0.333. 3: semantic (0.5 + 0.6) / 2 >= naive
// (0.4 + 0.45) / 2. 4: multitask 0.35 > sequential 0.2. 5: no invalid docid, constrained >=
// unconstrained.
Json dsi_passing() {
  return {{"documents", 300},
          {"chance_hits10", 10.0 / 300},
          {"arms",
           {{"naive, seed 0", arm(split(0.3, 0.4, 0.35), 0.95, split(0.3, 0.3, 0.3, 0.2))},
            {"semantic, seed 0", arm(split(0.6, 0.5, 0.55), 0.99, split(0.5, 0.5, 0.5, 0.1))},
            {"naive, seed 1", arm(split(0.3, 0.45, 0.4), 0.94)},
            {"semantic, seed 1", arm(split(0.6, 0.6, 0.6), 0.98)},
            {"naive, retrieval only", arm(split(0.3, 0.05, 0.2), 0.01)},
            {"semantic, retrieval only", arm(split(0.3, 0.2, 0.25), 0.01)},
            {"naive, sequential", arm(split(0.3, 0.1, 0.2), 0.5)}}}};
}

TEST(DsiCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kDsi, dsi_passing());
  ASSERT_EQ(criteria.size(), 6u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
  EXPECT_TRUE(criteria[0].gate);
}

TEST(DsiCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"0. the DSI learns retrieval", [](Json& f) { f["arms"]["naive, seed 0"]["constrained"]["seen"]["hits10"] = 0.09; }},
      {"1. memorisation", [](Json& f) { f["arms"]["semantic, seed 0"]["memorisation"] = 0.89; }},
      {"2. indexing is necessary", [](Json& f) { f["arms"]["naive, retrieval only"]["constrained"]["indexed_only"]["hits10"] = 0.1; }},
      {"2. indexing is necessary", [](Json& f) {
         f["arms"]["naive, seed 0"]["constrained"]["indexed_only"]["hits10"] = 0.3;  // < 10 x chance; semantic still wins 3.
       }},
      {"3. docid structure", [](Json& f) { f["arms"]["semantic, seed 1"]["constrained"]["indexed_only"]["hits10"] = 0.3; }},
      {"4. mixing", [](Json& f) { f["arms"]["naive, sequential"]["constrained"]["all"]["hits10"] = 0.35; }},
      {"5. constrained decoding", [](Json& f) { f["arms"]["naive, seed 0"]["constrained"]["invalid_share"] = 0.01; }},
      {"5. constrained decoding", [](Json& f) { f["arms"]["semantic, seed 0"]["unconstrained"]["all"]["hits10"] = 0.56; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = dsi_passing();
    change(figures);
    expect_only_failing(criteria_of(kDsi, figures), name);
  }
}

TEST(DsiCriteria, MissingFiguresAreAnErrorNotAPass) {
  Json figures = dsi_passing();
  figures["arms"].erase("naive, sequential");
  EXPECT_THROW(criteria_of(kDsi, figures), Error);
}

}  // namespace
}  // namespace garden::repro
