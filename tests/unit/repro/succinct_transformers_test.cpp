// The succinct-transformers criteria on hand-made figures: the sizes of the recorded quick
// run (docs/repro/succinct-transformers.md, n = 1..6) pass every criterion, and for each
// criterion a change of one figure fails it (and only it).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro {
namespace {

Json succinct_size_row(int n, const std::string& single, bool single_built, const std::string& segments,
                       bool segments_built, int64_t program_size, int64_t uhat_nonzero) {
  return {{"n", n},
          {"min_dfa_single", single},
          {"min_dfa_single_explicit", single_built},
          {"min_dfa_segments", segments},
          {"min_dfa_segments_explicit", segments_built},
          {"rnn_state_bits", std::log2(std::stod(single))},  // log2 of C_n's minimal DFA size
          {"program_size", program_size},
          {"uhat_nonzero_weights", uhat_nonzero},
          {"uhat_weight_bits", 2}};
}

Json succinct_passing() {
  Json sizes = Json::array();
  sizes.push_back(succinct_size_row(1, "23", true, "25", true, 128, 509));
  sizes.push_back(succinct_size_row(2, "211", true, "244", true, 155, 650));
  sizes.push_back(succinct_size_row(3, "8451", true, "9439", true, 183, 791));
  sizes.push_back(succinct_size_row(4, "5308419", true, "5636014", true, 212, 949));
  sizes.push_back(succinct_size_row(5, "828928688131", false, "-", false, 242, 1099));
  sizes.push_back(succinct_size_row(6, "8282588089095588675587", false, "-", false, 273, 1241));
  return {{"sizes", sizes}, {"disagreements", 0}, {"words_checked", 77942664}, {"uhat_words", 1176380}};
}

TEST(SuccinctTransformersCriteria, PassOnTheRecordedSizes) {
  const auto criteria = criteria_of("succinct-transformers", succinct_passing());
  ASSERT_EQ(criteria.size(), 6u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
}

TEST(SuccinctTransformersCriteria, EachFailsOnItsOwnFigure) {
  // sizes[i] is the row of n = i + 1.
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"one language", [](Json& f) { f["disagreements"] = 1; }},
      {"spec's table", [](Json& f) { f["sizes"][1]["min_dfa_segments"] = "245"; }},
      {"spec's table", [](Json& f) { f["sizes"][2]["min_dfa_segments_explicit"] = false; }},
      {"spec's table", [](Json& f) { f["sizes"] = Json::array({f["sizes"][0], f["sizes"][1]}); }},  // a run to n = 2
      // n = 4 lies outside the table: only the path form |W_4| + 2 = 5,308,419 is broken.
      {"|W_n| + 2", [](Json& f) { f["sizes"][3]["min_dfa_single"] = "5308418"; }},
      {"polynomially", [](Json& f) { f["sizes"][5]["program_size"] = 400; }},        // last ratio 1.65
      {"polynomially", [](Json& f) { f["sizes"][2]["uhat_nonzero_weights"] = 700; }},  // ratios 1.08 then 1.36
      {"doubly exponentially", [](Json& f) { f["sizes"][4]["rnn_state_bits"] = 30.0; }},  // 30 / 22.3 < 1.5
      {"fixed precision", [](Json& f) { f["sizes"][5]["uhat_weight_bits"] = 3; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = succinct_passing();
    change(figures);
    expect_only_failing(criteria_of("succinct-transformers", figures), name);
  }
}

TEST(SuccinctTransformersCriteria, TheRangeOfNComesFromTheFigures) {
  // A smoke-sized run (n = 1..4, C_4 by its closed form) is judged on the n it has.
  Json figures = succinct_passing();
  figures["sizes"].erase(5);
  figures["sizes"].erase(4);
  figures["sizes"][3]["min_dfa_single_explicit"] = false;
  figures["sizes"][3]["min_dfa_segments"] = "-";
  figures["sizes"][3]["min_dfa_segments_explicit"] = false;
  for (const auto& c : criteria_of("succinct-transformers", figures))
    EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
  // Growth needs two n: with one, the claim cannot be judged.
  figures["sizes"] = Json::array({figures["sizes"][0]});
  Result r;
  r.criteria = criteria_of("succinct-transformers", figures);
  decide_verdict(r);
  EXPECT_EQ(r.verdict, Verdict::inconclusive);
}

TEST(SuccinctTransformersCriteria, AMissingFigureThrows) {
  Json figures = succinct_passing();
  figures.erase("disagreements");
  EXPECT_THROW(criteria_of("succinct-transformers", figures), Error);
  figures = succinct_passing();
  figures["sizes"][5].erase("uhat_weight_bits");
  EXPECT_THROW(criteria_of("succinct-transformers", figures), Error);
  figures = succinct_passing();
  figures.erase("sizes");
  EXPECT_THROW(criteria_of("succinct-transformers", figures), Error);
}

}  // namespace
}  // namespace garden::repro
