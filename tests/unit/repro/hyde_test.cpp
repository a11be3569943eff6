// The HyDE criteria on hand-made figures: a set that passes both, and for each a change of
// one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro {
namespace {

const char* const kHyde = "hyde";

Json hyde_scores(double ndcg, double recall) { return {{"ndcg10", ndcg}, {"recall100", recall}}; }

// HyDE N=8 0.30 against the encoder's 0.27 (+3 points), Recall 0.60 > 0.55; N=1 0.28.
Json hyde_passing() {
  return {{"mean",
           {{"encoder(query)", hyde_scores(0.27, 0.55)},
            {"HyDE N=8", hyde_scores(0.30, 0.60)},
            {"HyDE N=1", hyde_scores(0.28, 0.57)},
            {"HyDE N=8 without the query", hyde_scores(0.29, 0.58)},
            {"BM25", hyde_scores(0.40, 0.70)},
            {"BM25 on query + generated text", hyde_scores(0.41, 0.71)}}},
          {"seeds", 2}};
}

TEST(HydeCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kHyde, hyde_passing());
  ASSERT_EQ(criteria.size(), 2u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
}

TEST(HydeCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"1. HyDE beats the same encoder", [](Json& f) { f["mean"]["encoder(query)"]["ndcg10"] = 0.281; }},  // +1.9 points only
      {"1. HyDE beats the same encoder", [](Json& f) { f["mean"]["encoder(query)"]["recall100"] = 0.60; }},  // not higher
      {"2. more hypothetical documents help", [](Json& f) { f["mean"]["HyDE N=1"]["ndcg10"] = 0.301; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = hyde_passing();
    change(figures);
    expect_only_failing(criteria_of(kHyde, figures), name);
  }
}

TEST(HydeCriteria, MissingFiguresAreAnErrorNotAPass) {
  Json figures = hyde_passing();
  figures["mean"].erase("HyDE N=1");
  EXPECT_THROW(criteria_of(kHyde, figures), Error);
}

}  // namespace
}  // namespace garden::repro
