#include "garden/retrieval/training_pairs.h"

#include <gtest/gtest.h>


namespace garden::retrieval {
namespace {

TEST(TrainingPairs, TitleBecomesTheQueryAndItsCopyLeavesTheBody) {
  Collection c;
  c.corpus = {{"1", "Wing flutter at speed", "wing flutter at SPEED . an experimental study of flutter on thin swept wings"},
              {"2", "Short", "a body long enough to count for anything at all here"},
              {"3", "A proper title here", "too short"},
              {"4", "Boundary layer transition", "measurements of transition on a flat plate in a quiet wind tunnel"}};
  const auto pairs = title_body_pairs(c);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].doc_id, "1");
  EXPECT_EQ(pairs[0].query, "Wing flutter at speed");
  EXPECT_EQ(pairs[0].positive, ". an experimental study of flutter on thin swept wings");
  EXPECT_EQ(pairs[1].positive, "measurements of transition on a flat plate in a quiet wind tunnel");
}

TEST(TrainingPairs, LeadSentenceBecomesTheQueryOfUntitledDocuments) {
  Collection c;
  c.corpus = {{"1", "", "maternal glucose levels . correlation coefficients have been determined between the levels of glucose"},
              {"2", "", "Plasma was sampled daily. the samples were frozen and analysed later in one batch at the end"},
              {"3", "", "compact memories have flexible capacities a digital data storage system with capacity up to bits and random and or sequential access is described"},
              {"4", "", "too short . to count"}};
  const auto pairs = lead_sentence_pairs(c, 12, 8);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].query, "maternal glucose levels");  // a detached full stop ends the sentence and is dropped
  EXPECT_EQ(pairs[0].positive, "correlation coefficients have been determined between the levels of glucose");
  EXPECT_EQ(pairs[1].query, "Plasma was sampled daily.");
  EXPECT_EQ(pairs[1].positive, "the samples were frozen and analysed later in one batch at the end");
  // No full stop within 12 words: the first 12 words are the query.
  EXPECT_EQ(pairs[2].query, "compact memories have flexible capacities a digital data storage system with capacity");
  EXPECT_EQ(pairs[2].positive, "up to bits and random and or sequential access is described");
  EXPECT_EQ(pairs[2].doc_id, "3");
}

}  // namespace
}  // namespace garden::retrieval
