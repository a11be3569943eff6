// The GritLM criteria on hand-made figures: a set that passes all five, and for each a change
// of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "garden/repro/reproduction.h"
#include "repro_test_helpers.h"

namespace garden::repro {
namespace {

const char* const kGritSlug = "gritlm";

Json grit_arm(double embedding, double perplexity) { return {{"embedding_score", embedding}, {"perplexity", perplexity}}; }
Json grit_match(double match) { return {{"match", match}, {"top1", 0.9}}; }

Json grit_passing() {
  return {{"arms",
           {{"Emb.-only (bbcc, mean)", grit_arm(30.0, 90.0)},
            {"Gen.-only", grit_arm(10.0, 20.0)},
            {"GRIT (bbcc, mean)", grit_arm(29.0, 21.0)},
            {"GRIT (cccc, last token)", grit_arm(25.0, 21.0)},
            {"GRIT (cccc, weighted mean)", grit_arm(27.0, 21.0)}}},
          {"rag",
           {{"No RAG", grit_match(0.05)},
            {"RAG (query first)", grit_match(0.60)},
            {"RAG (doc first)", grit_match(0.55)},
            {"Query caching", grit_match(0.50)},
            {"Doc caching", grit_match(0.40)},
            {"Query-Doc caching", grit_match(0.20)},
            {"Doc-Query caching", grit_match(0.10)}}},
          {"exactness", {{"doc_causal", 1e-6}, {"query_causal", 2e-6}, {"doc_embedding", 0.5}, {"query_embedding", 0.3}}},
          {"latency", {{"long_tokens", 4000}, {"long", {{"doc_gain", 0.7}, {"query_gain", 0.5}}}, {"short", {{"doc_gain", 0.05}, {"query_gain", 0.1}}}}}};
}

TEST(GritlmCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of(kGritSlug, grit_passing());
  ASSERT_EQ(criteria.size(), 5u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
}

TEST(GritlmCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      {"1. one model does both", [](Json& f) { f["arms"]["GRIT (bbcc, mean)"]["embedding_score"] = 28.4; }},  // 1.6 below Emb.-only
      {"1. one model does both", [](Json& f) { f["arms"]["GRIT (bbcc, mean)"]["perplexity"] = 22.1; }},       // > 1.10 x Gen.-only
      {"1. one model does both", [](Json& f) { f["arms"]["Emb.-only (bbcc, mean)"]["perplexity"] = 29.0; }},  // < 1.5 x Gen.-only
      {"1. one model does both", [](Json& f) { f["arms"]["Gen.-only"]["embedding_score"] = 24.5; }},          // within 5 of GRIT
      {"2. bidirectional attention with mean pooling", [](Json& f) { f["arms"]["GRIT (cccc, last token)"]["embedding_score"] = 29.0; }},
      {"3. causal states cached are exact", [](Json& f) { f["exactness"]["doc_causal"] = 2e-4; }},
      {"3. causal states cached are exact", [](Json& f) { f["exactness"]["query_embedding"] = 5e-5; }},
      {"4. caching saves time", [](Json& f) { f["latency"]["long"]["query_gain"] = 0.35; }},
      {"4. caching saves time", [](Json& f) { f["latency"]["short"]["doc_gain"] = 0.2; }},
      {"5. retrieval helps", [](Json& f) { f["rag"]["No RAG"]["match"] = 0.56; }},
      {"5. retrieval helps", [](Json& f) { f["rag"]["Doc-Query caching"]["match"] = 0.55; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = grit_passing();
    change(figures);
    expect_only_failing(criteria_of(kGritSlug, figures), name);
  }
}

TEST(GritlmCriteria, MissingFiguresAreAnErrorNotAPass) {
  Json figures = grit_passing();
  figures["rag"].erase("No RAG");
  EXPECT_THROW(criteria_of(kGritSlug, figures), Error);
}

}  // namespace
}  // namespace garden::repro
