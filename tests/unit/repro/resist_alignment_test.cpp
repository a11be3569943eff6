// The resist-alignment criteria on hand-made figures: a set that passes every criterion, and
// for each criterion a change of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro {
namespace resist_alignment_criteria {
namespace {

const char* const kSlug = "resist-alignment";

Json row(int64_t n_pos, std::vector<int64_t> n_neg, std::vector<double> s) { return {{"n_pos", n_pos}, {"n_neg", n_neg}, {"s", s}}; }

Json pair(int k, int l, double forward, double inverse, double fe, double ie) {
  return {{"k", k}, {"l", l}, {"forward", forward}, {"inverse", inverse}, {"forward_excess", fe}, {"inverse_excess", ie}};
}

// s0 = 0. Drops at n_neg = 100 of 0.1, 0.2, 0.3, 0.4 (rising with n_pos); half of each gain is
// lost at n_neg 200, 150, 100 and 50: n_1/2 / n_pos 0.8, 0.3, 0.1, 0.025, falling and < 1.
Json passing() {
  return {{"s0", 0.0},
          {"grid",
           {row(250, {0, 25, 50, 100, 200, 250, 400}, {0.4, 0.38, 0.35, 0.3, 0.2, 0.15, 0.1}),
            row(500, {0, 25, 50, 100, 150, 200, 400, 500}, {0.6, 0.55, 0.5, 0.4, 0.3, 0.25, 0.2, 0.1}),
            row(1000, {0, 25, 50, 100, 200, 400, 1000}, {0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1}),
            row(2000, {0, 25, 50, 100, 200, 400, 2000}, {1.0, 0.8, 0.5, 0.6, 0.4, 0.3, 0.1})}},
          {"pairs", {pair(1, 2, 2.0, 1.9, 0.5, 0.4), pair(1, 3, 2.1, 1.8, 0.6, 0.3), pair(2, 3, 2.0, 2.05, 0.5, 0.45)}},
          {"probe",
           {{{"size", 25}, {"delta_align", 0.3}, {"delta_held", 0.1}, {"delta_pretrain", 0.01}},
            {{"size", 50}, {"delta_align", 0.5}, {"delta_held", 0.2}, {"delta_pretrain", -0.02}}}}};
}

TEST(ResistAlignmentCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kSlug, passing());
  ASSERT_EQ(criteria.size(), 3u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
}

TEST(ResistAlignmentCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"a. resistance", [](Json& f) { f["pairs"][0]["inverse"] = 2.1; }},          // raw: 1 of 3
      {"a. resistance", [](Json& f) { f["pairs"][2]["inverse_excess"] = 0.55; }},  // excess: 2 of 3
      {"b. rebound", [](Json& f) { f["grid"][3]["s"][3] = 0.95; }},                // the largest drop falls below the others
      {"b. rebound", [](Json& f) {                                                 // the largest never loses half its gain
         f["grid"][3]["s"] = {1.0, 0.9, 0.85, 0.55, 0.6, 0.55, 0.51};
       }},
      {"c. elasticity", [](Json& f) { f["probe"][1]["delta_held"] = -0.2; }},       // the held-out rate improves
      {"c. elasticity", [](Json& f) { f["probe"][0]["delta_pretrain"] = 0.03; }},   // only 3.3x
  };
  for (const auto& [name, change] : breaks) {
    Json figures = passing();
    change(figures);
    expect_only_failing(criteria_of(kSlug, figures), name);
  }
}

}  // namespace
}  // namespace resist_alignment_criteria
}  // namespace garden::repro
