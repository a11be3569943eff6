#include "garden/wiki/evolving_facts.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include "garden/core/error.h"
#include "garden/wiki/reader.h"

namespace garden::wiki {
namespace {

TEST(EvolvingFacts, MatchesTheSpecsShapeAndIsSeeded) {
  const auto facts = generate_evolving_facts({});
  EXPECT_EQ(facts.sources.size(), 240u);
  EXPECT_EQ(facts.questions.size(), 300u);
  EXPECT_EQ(facts.contradictions.size(), 20u);
  std::map<std::string, int> per_type;
  for (const auto& q : facts.questions) ++per_type[q.type];
  EXPECT_EQ(per_type["Q1"], 120);
  EXPECT_EQ(per_type["Q2"], 60);
  EXPECT_EQ(per_type["Q3"], 60);
  EXPECT_EQ(per_type["Q4"], 60);
  // About 30% of statements update an earlier value and about 10% restate one.
  const double updates = static_cast<double>(facts.updates) / static_cast<double>(facts.statements);
  const double restated = static_cast<double>(facts.restatements) / static_cast<double>(facts.statements);
  EXPECT_GT(updates, 0.2);
  EXPECT_LT(updates, 0.4);
  EXPECT_GT(restated, 0.05);
  EXPECT_LT(restated, 0.2);
  for (const auto& s : facts.sources) {
    const auto tokens = count_tokens(s.text);
    EXPECT_GE(tokens, 60) << s.id;
    EXPECT_LE(tokens, 170) << s.id;
  }
  EXPECT_EQ(generate_evolving_facts({}).sources[17].text, facts.sources[17].text);
  EvolvingFactsOptions other;
  other.seed = 1;
  EXPECT_NE(generate_evolving_facts(other).sources[17].text, facts.sources[17].text);
}

TEST(EvolvingFacts, TheSourcesStateExactlyTheTruthAndAnswerEveryQuestion) {
  EvolvingFactsOptions options;
  options.towns = 24;
  options.sources = 96;
  options.rivers = 8;
  options.contradictions = 6;
  options.questions = 100;
  const auto facts = generate_evolving_facts(options);
  std::vector<Claim> extracted;
  std::string all;
  for (const auto& s : facts.sources) {
    const auto claims = extract_prose_claims(s.text, source_date(s.text), s.id);
    extracted.insert(extracted.end(), claims.begin(), claims.end());
    all += s.text;
  }
  auto truth = facts.truth;
  const auto order = [](const Claim& a, const Claim& b) { return std::tie(a.source, a.line) < std::tie(b.source, b.line); };
  std::sort(truth.begin(), truth.end(), order);
  std::sort(extracted.begin(), extracted.end(), order);
  EXPECT_EQ(extracted, truth);
  // Reading every source at once answers every question but the contradicted ones (none is asked).
  for (const auto& q : facts.questions) {
    const auto parsed = parse_question(q.text);
    ASSERT_TRUE(parsed) << q.text;
    EXPECT_TRUE(answer_matches(read_answer(*parsed, all).answer, q.answer)) << q.text << " gold " << q.answer;
  }
  // Each contradiction is two sources on one date naming different mayors of one town.
  for (const auto& c : facts.contradictions) {
    std::set<std::string> values;
    for (const auto& t : truth)
      if (t.entity == c.entity && t.attribute == Attribute::mayor && t.date == c.date) values.insert(t.value);
    EXPECT_EQ(values.size(), 2u) << c.entity;
  }
}

TEST(EvolvingFacts, AnswersMatchAsSetsIgnoringCase) {
  EXPECT_TRUE(answer_matches("Corford, bramwick", "Bramwick, Corford"));
  EXPECT_FALSE(answer_matches("Bramwick", "Bramwick, Corford"));
  EXPECT_FALSE(answer_matches("", ""));
  EXPECT_TRUE(answer_matches(" 3 ", "3"));
}

TEST(EvolvingFacts, RefusesImpossibleSizes) {
  EvolvingFactsOptions bad;
  bad.rivers = 40;
  EXPECT_THROW(generate_evolving_facts(bad), Error);
  bad = {};
  bad.sources = 10;
  EXPECT_THROW(generate_evolving_facts(bad), Error);
}

}  // namespace
}  // namespace garden::wiki
