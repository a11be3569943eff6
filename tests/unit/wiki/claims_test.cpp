#include "garden/wiki/claims.h"

#include <gtest/gtest.h>

#include "garden/wiki/reader.h"

namespace garden::wiki {
namespace {

TEST(WikiClaims, EveryTemplateIsReadBackByTheExtractor) {
  for (const auto attribute : kAttributes)
    for (const bool restate : {false, true}) {
      if (attribute == Attribute::population && restate) continue;  // population is never restated
      for (int variant = 0; variant < 3; ++variant) {
        const auto value = attribute == Attribute::mayor ? "Ada Morrow" : attribute == Attribute::population ? "5 to 20 thousand" : "Oska";
        const auto sentence = statement_sentence(attribute, "Bramwick", value, variant, restate);
        const auto claims = extract_prose_claims("2021-03-04 — news\nFiller.\n" + sentence + "\n", "2021-03-04", "doc-1");
        ASSERT_EQ(claims.size(), 1u) << sentence;
        EXPECT_EQ(claims[0].entity, "Bramwick");
        EXPECT_EQ(claims[0].value, value);
        EXPECT_EQ(claims[0].attribute, attribute);
        EXPECT_EQ(claims[0].line, 3);
        EXPECT_EQ(claims[0].date, "2021-03-04");
      }
    }
}

TEST(WikiClaims, DistractorsStateNothing) {
  EXPECT_TRUE(extract_prose_claims("Residents of Bramwick debated who should be the next mayor.\nVisitors from Oska attended the fair.\n", "", "d")
                  .empty());
}

TEST(WikiClaims, ClaimLinesRoundTripWithProvenance) {
  const Claim claim{.entity = "Bramwick", .attribute = Attribute::twin, .value = "Lyonne", .date = "2020-01-02", .source = "doc-0007", .line = 4};
  const auto line = claim_line(claim, "superseded");
  EXPECT_EQ(line, "- twin town of Bramwick: Lyonne (2020-01-02, superseded) ^[doc-0007:L4-L4]");
  const auto back = extract_page_claims("# Bramwick\n" + line + "\n");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], claim);
}

TEST(WikiClaims, ProseIsDatedByTheNearestDateLineAbove) {
  const auto claims = extract_any_claims("2019-01-01 — a\nBramwick elected Ada Morrow as mayor.\n2022-05-05 — b\nHugo Hale became mayor of Bramwick.\n");
  ASSERT_EQ(claims.size(), 2u);
  EXPECT_EQ(claims[0].date, "2019-01-01");
  EXPECT_EQ(claims[1].date, "2022-05-05");
}

TEST(WikiClaims, TokensAndChunks) {
  EXPECT_EQ(count_tokens("Hello, world! 2021-03-04"), 9);  // Hello , world ! 2021 - 03 - 04
  EXPECT_EQ(count_tokens(""), 0);
  const std::string text = "one two three\nfour five\nsix seven eight nine ten eleven\n";
  const auto chunks = chunk_by_tokens(text, 5);
  // Whole lines while they fit; the long line alone is cut between tokens.
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], "one two three\nfour five\n");
  EXPECT_EQ(chunks[1], "six seven eight nine ten\n");
  EXPECT_EQ(chunks[2], "eleven\n");
  for (const auto& c : chunks) EXPECT_LE(count_tokens(c), 5);
}

TEST(WikiReader, NewestClaimWinsAndCountsAreDistinctValues) {
  const std::string text =
      "- mayor of Bramwick: Ada Morrow (2019-01-01) ^[d1:L2-L2]\n"
      "- mayor of Bramwick: Hugo Hale (2022-01-01) ^[d2:L2-L2]\n"
      "- mayor of Bramwick: Ada Morrow (2020-01-01, restated) ^[d3:L2-L2]\n"
      "- river of Bramwick: Oska (2019-01-01) ^[d1:L3-L3]\n"
      "- river of Corford: Oska (2019-02-01) ^[d4:L3-L3]\n"
      "- river of Dunmere: Velda (2019-02-01) ^[d4:L4-L4]\n";
  EXPECT_EQ(read_answer(*parse_question("Who is the current mayor of Bramwick?"), text).answer, "Hugo Hale");
  EXPECT_EQ(read_answer(*parse_question("How many different mayors has Bramwick had?"), text).answer, "2");
  EXPECT_EQ(read_answer(*parse_question("Which towns lie on the river Oska?"), text).answer, "Bramwick, Corford");
  EXPECT_EQ(read_answer(*parse_question("Which other towns lie on the same river as Corford?"), text).answer, "Bramwick");
  EXPECT_EQ(read_answer(*parse_question("What is the population of Bramwick?"), text).answer, "");
  EXPECT_FALSE(parse_question("What is the capital of France?"));
}

}  // namespace
}  // namespace garden::wiki
