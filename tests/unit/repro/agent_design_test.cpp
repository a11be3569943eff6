// The agent-design criteria on hand-made figures: a set that passes every criterion, and for
// each criterion a change of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro::agent_design_test {
namespace {

const char* const kSlug = "agent-design";

Json arm(double retention, double summaries, double hits_clean) {
  return {{"retention", retention}, {"summarisation_calls", summaries}, {"cache_hit_rate_without_compaction", hits_clean}, {"raw_tokens", 20000}};
}

// Staged 70 >= truncation 30 + 20 and >= summarise-everything 40 - 5; 2 <= 0.5 x 5 summariser
// calls; 100% hits; 30,000 >= 3 x 1,000 parent tokens at equal success; every permission case
// passes; one ask before resume and one after.
Json passing() {
  return {{"context", {{"budget", 4000}, {"arms", {{"truncation", arm(30, 0, 0)}, {"summarise_everything", arm(40, 5, 100)}, {"staged", arm(70, 2, 100)}}}}},
          {"delegation", {{"summaries", {{"parent_peak_tokens", 1000}, {"success", 100}}}, {"full_histories", {{"parent_peak_tokens", 30000}, {"success", 100}}}}},
          {"permissions", {{"cases", 115}, {"passed", 115}, {"property_violations", 0}, {"injection_denied", true}}},
          {"resume", {{"asks_first_session", 1}, {"asks_after_resume", 1}}}};
}

TEST(AgentDesignCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kSlug, passing());
  ASSERT_EQ(criteria.size(), 7u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
  EXPECT_TRUE(criteria[0].gate);
}

TEST(AgentDesignCriteria, EachFailsOnItsOwnFigure) {
  const auto staged = [](Json& f) -> Json& { return f["context"]["arms"]["staged"]; };
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"0. the sessions overflow", [&](Json& f) { staged(f)["raw_tokens"] = 7999; }},
      {"1. staged compaction retains", [&](Json& f) { staged(f)["retention"] = 49; }},  // below truncation + 20
      {"1. staged compaction retains", [](Json& f) { f["context"]["arms"]["summarise_everything"]["retention"] = 76; }},
      {"2. with at most half", [&](Json& f) { staged(f)["summarisation_calls"] = 2.6; }},
      {"3. the prefix cache hits", [&](Json& f) { staged(f)["cache_hit_rate_without_compaction"] = 79.9; }},
      {"4. summary-only delegation", [](Json& f) { f["delegation"]["full_histories"]["parent_peak_tokens"] = 2999; }},
      {"4. summary-only delegation", [](Json& f) { f["delegation"]["full_histories"]["success"] = 90; }},
      {"5. the deny-first permission suite", [](Json& f) { f["permissions"]["passed"] = 114; }},
      {"5. the deny-first permission suite", [](Json& f) { f["permissions"]["property_violations"] = 1; }},
      {"5. the deny-first permission suite", [](Json& f) { f["permissions"]["injection_denied"] = false; }},
      {"6. a resumed session asks again", [](Json& f) { f["resume"]["asks_after_resume"] = 0; }},
      {"6. a resumed session asks again", [](Json& f) { f["resume"]["asks_first_session"] = 2; }},  // the grant did not hold
  };
  for (const auto& [name, change] : breaks) {
    Json figures = passing();
    change(figures);
    expect_only_failing(criteria_of(kSlug, figures), name);
  }
}

TEST(AgentDesignCriteria, MissingFiguresAreAnErrorNotAPass) {
  Json figures = passing();
  figures["context"]["arms"].erase("summarise_everything");
  EXPECT_THROW(criteria_of(kSlug, figures), Error);
  figures = passing();
  figures.erase("resume");
  EXPECT_THROW(criteria_of(kSlug, figures), Error);
}

}  // namespace
}  // namespace garden::repro::agent_design_test
