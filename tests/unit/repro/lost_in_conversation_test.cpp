// The lost-in-conversation criteria on hand-made figures: a set that passes every criterion,
// and for each criterion a change of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro {
namespace {

const char* const kSlug = "lost-in-conversation";

Json setting(double p, double a, double u) { return {{"P", p}, {"A", a}, {"U", u}}; }

// Default mix: FULL 80 (U 20), SHARDED 50 (U 60, A 90 vs 100: A drops 0.10, P 0.375);
// CONCAT 76 >= 72; RECAP 60 > 50; T=0: FULL U 0, SHARDED U 40 >= 30. Drops 0.5, 0.375, 0.2.
Json passing() {
  return {{"settings",
           {{"full", setting(80, 100, 20)},
            {"concat", setting(76, 100, 20)},
            {"sharded", setting(50, 90, 60)},
            {"recap", setting(60, 100, 50)},
            {"snowball", setting(55, 95, 55)},
            {"full T=0", setting(82, 82, 0)},
            {"sharded T=0", setting(52, 80, 40)}}},
          {"drop_P", {{"0%", 0.5}, {"10%", 0.375}, {"30%", 0.2}}},
          {"drop_A", 0.10}};
}

TEST(LostInConversationCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kSlug, passing());
  ASSERT_EQ(criteria.size(), 7u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
  EXPECT_TRUE(criteria[0].gate);
}

TEST(LostInConversationCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"0. the assistant solves", [](Json& f) {  // FULL below 50; CONCAT, drops and ratios still hold
         f["settings"]["full"]["P"] = 45;
         f["settings"]["concat"]["P"] = 45;
         f["settings"]["recap"]["P"] = 60;
         f["drop_A"] = 0.0;
       }},
      {"1. the FULL -> SHARDED drop shrinks", [](Json& f) { f["drop_P"]["10%"] = 0.53; }},  // rises by more than 0.02
      {"1. the FULL -> SHARDED drop shrinks", [](Json& f) { f["drop_P"]["30%"] = 0.50; }},  // not strictly below 0%
      {"2. unreliability rises", [](Json& f) { f["settings"]["full"]["U"] = 41; }},        // 60 < 1.5 x 41
      {"2. unreliability rises", [](Json& f) {                                              // 1.5x but below the floor of 20
         f["settings"]["sharded"]["U"] = 19;
         f["settings"]["full"]["U"] = 10;
         f["settings"]["sharded T=0"]["U"] = 10;
       }},
      {"3. aptitude falls less", [](Json& f) { f["drop_A"] = 0.40; }},
      {"4. CONCAT keeps", [](Json& f) { f["settings"]["concat"]["P"] = 71; }},
      {"5. RECAP recovers", [](Json& f) { f["settings"]["recap"]["P"] = 50; }},
      {"6. at temperature 0", [](Json& f) { f["settings"]["full T=0"]["U"] = 10; }},
      {"6. at temperature 0", [](Json& f) { f["settings"]["sharded T=0"]["U"] = 29; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = passing();
    change(figures);
    expect_only_failing(criteria_of(kSlug, figures), name);
  }
}

TEST(LostInConversationCriteria, MissingFiguresAreAnErrorNotAPass) {
  Json figures = passing();
  figures["settings"].erase("recap");
  EXPECT_THROW(criteria_of(kSlug, figures), Error);
}

}  // namespace
}  // namespace garden::repro
