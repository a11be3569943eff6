#include "garden/retrieval/training_pairs.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "garden/core/error.h"

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

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

TEST(TrainingPairs, IndependentCropsAreSpansOfTheirDocumentWithinTheLengthBounds) {
  Collection c;
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += fmt::format("w{} ", i);
  c.corpus = {{"long", "", long_text}, {"tiny", "", "only five words are here"}, {"titled", "Title words", "and then a body of some twelve words in all to crop"}};
  CropOptions o;
  o.per_document = 50;
  o.seed = 3;
  const auto pairs = independent_crop_pairs(c, o);
  ASSERT_EQ(pairs.size(), 100u);  // "tiny" has fewer than 2 x 5 words
  const auto all = split_words(long_text);
  bool different = false;
  for (const auto& p : pairs) {
    if (p.doc_id != "long") continue;
    for (const auto* span : {&p.query, &p.positive}) {
      const auto words = split_words(*span);
      // 10%..50% of 200 words, clamped to at most 64.
      EXPECT_GE(words.size(), 20u);
      EXPECT_LE(words.size(), 64u);
      // A contiguous span: consecutive word numbers.
      const int first = std::stoi(words.front().substr(1));
      for (size_t i = 0; i < words.size(); ++i) EXPECT_EQ(words[i], all[static_cast<size_t>(first) + i]);
    }
    different = different || p.query != p.positive;
  }
  EXPECT_TRUE(different);  // the two crops are drawn independently
  // The title is part of the text that is cropped; short documents give spans of min_words.
  for (const auto& p : pairs)
    if (p.doc_id == "titled") {
      EXPECT_GE(split_words(p.query).size(), 5u);
    }
  EXPECT_EQ(independent_crop_pairs(c, o)[7].query, pairs[7].query);  // seeded
  o.min_ratio = 0.6;
  EXPECT_THROW(independent_crop_pairs(c, o), Error);
}

TEST(TrainingPairs, InverseClozeTakesASentenceOutOfItsContext) {
  Collection c;
  std::string text;  // 20 sentences of 5 numbered words: "s0w0 s0w1 s0w2 s0w3 s0w4." ...
  for (int s = 0; s < 20; ++s)
    for (int w = 0; w < 5; ++w) text += fmt::format("s{}w{}{}", s, w, w == 4 ? ". " : " ");
  c.corpus = {{"long", "", text}, {"one", "", "Just one sentence of several words here."}};
  const auto all = split_words(text);
  const auto position = [&](const std::string& word) { return std::find(all.begin(), all.end(), word) - all.begin(); };
  IctOptions o;
  o.per_document = 40;
  o.context_words = 30;
  o.keep_sentence = 0;
  o.seed = 5;
  const auto removed = inverse_cloze_pairs(c, o);
  ASSERT_EQ(removed.size(), 40u);  // "one" has a single sentence
  std::set<std::string> queries;
  for (const auto& p : removed) {
    const auto q = split_words(p.query), ctx = split_words(p.positive);
    ASSERT_EQ(q.size(), 5u);
    EXPECT_EQ(q.front().substr(q.front().find('w')), "w0");  // a whole sentence
    EXPECT_EQ(ctx.size(), 30u);
    for (const auto& w : q) EXPECT_EQ(std::count(ctx.begin(), ctx.end(), w), 0) << "the sentence stays out of its context";
    // The context is the words right before and right after the sentence, balanced where the
    // document allows.
    const auto begin = position(q.front()), end = position(q.back()) + 1;
    const auto before = std::min<std::ptrdiff_t>(begin, 15 + std::max<std::ptrdiff_t>(0, 15 - (100 - end))), after = 30 - before;
    EXPECT_EQ(ctx.front(), all[static_cast<size_t>(before > 0 ? begin - before : end)]);
    EXPECT_EQ(ctx.back(), all[static_cast<size_t>(after > 0 ? end + after - 1 : begin - 1)]);
    queries.insert(p.query);
  }
  EXPECT_GT(queries.size(), 10u);
  o.keep_sentence = 1;
  for (const auto& p : inverse_cloze_pairs(c, o)) {
    EXPECT_NE(p.positive.find(p.query), std::string::npos) << "kept in its context";
    EXPECT_EQ(split_words(p.positive).size(), 30u);
  }
  o.keep_sentence = 0;
  EXPECT_EQ(inverse_cloze_pairs(c, o)[9].query, removed[9].query);  // seeded
  o.context_words = 4;
  EXPECT_THROW(inverse_cloze_pairs(c, o), Error);
}

}  // namespace
}  // namespace garden::retrieval
