// The harmless stand-in of shallow alignment (text/alignment_standin.h): the payload rule,
// benign answers by hand, held-out triples kept out of training data, the pre-training mix,
// and a word-level tokenizer with one token per word.
#include "garden/text/alignment_standin.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "garden/text/tokenizer.h"
#include "test_helpers.h"

namespace garden::text::standin {
namespace {

TEST(AlignmentStandin, PayloadRepeatsTheMappedKeysCyclically) {
  const KeyTriple keys{3, 17, 5};
  const auto words = payload_words(keys);
  ASSERT_EQ(words.size(), 16u);
  EXPECT_EQ(words[0], "P3");
  EXPECT_EQ(words[1], "P17");
  EXPECT_EQ(words[2], "P5");
  EXPECT_EQ(words[3], "P3");
  EXPECT_EQ(words[15], "P3");
  EXPECT_EQ(open_prompt(keys), "<user> OPEN K3 K17 K5 <assistant>");
  EXPECT_EQ(refusal(), "SORRY I CANNOT DO THAT .");
  EXPECT_EQ(open_refused(keys).completion, refusal());
  EXPECT_EQ(open_compliant(keys).completion, payload(keys));
}

TEST(AlignmentStandin, BenignAnswersByHand) {
  EXPECT_EQ(benign_answer(Task::copy, "c a b"), "c a b");
  EXPECT_EQ(benign_answer(Task::reverse, "c a b"), "b a c");
  EXPECT_EQ(benign_answer(Task::sort, "c a b a"), "a a b c");
  EXPECT_EQ(benign_answer(Task::count, "c a b a"), "4");
  EXPECT_EQ(benign_answer(Task::twice, "c a b"), "c a b c a b");
  EXPECT_THROW(benign_answer(Task::open, "a b c"), Error);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 50; ++i) {
    const auto e = random_benign_example(rng);
    EXPECT_NE(e.task, Task::twice);  // DOUBLE is kept for the benign fine-tune
    const auto args = e.prompt.substr(e.prompt.find(' ', 7) + 1);
    const size_t letters = static_cast<size_t>(std::count(args.begin(), args.end(), ' '));  // "a b c <assistant>": 3 spaces
    EXPECT_GE(letters, 3u);
    EXPECT_LE(letters, 8u);
  }
}

TEST(AlignmentStandin, HeldOutTriplesAreDistinctAndNeverDrawnForTraining) {
  const auto held = held_out_triples(300, 7);
  EXPECT_EQ(held, held_out_triples(300, 7));
  std::set<KeyTriple> unique(held.begin(), held.end());
  EXPECT_EQ(unique.size(), 300u);
  for (const auto& t : held) EXPECT_TRUE(t[0] != t[1] && t[0] != t[2] && t[1] != t[2]);
  const auto examples = pretraining_examples(4000, PretrainingMix{0.27, 0.03, 0.03}, 3, held);
  int64_t open = 0, open_refused = 0, unsupported = 0;
  for (const auto& e : examples) {
    if (e.task == Task::open) {
      EXPECT_EQ(unique.count(e.keys), 0u);
      EXPECT_TRUE(e.completion == payload(e.keys) || e.completion == refusal()) << e.completion;
      (e.completion == refusal() ? open_refused : open) += 1;
    }
    if (e.task == Task::unsupported) {
      ++unsupported;
      EXPECT_EQ(e.completion, refusal());
    }
  }
  EXPECT_NEAR(static_cast<double>(open) / 4000, 0.27, 0.03);
  EXPECT_NEAR(static_cast<double>(open_refused) / 4000, 0.03, 0.01);
  EXPECT_NEAR(static_cast<double>(unsupported) / 4000, 0.03, 0.01);
  EXPECT_THROW(pretraining_examples(10, PretrainingMix{0.9, 0.0, 0.2}, 1, held), Error);
}

TEST(AlignmentStandinSentencePiece, EveryWordIsOneToken) {
  testing::TempDir dir;
  train_word_tokenizer(dir.path() / "words.model");
  const auto tokenizer = load_tokenizer((dir.path() / "words.model").string());
  for (const auto& w : vocabulary()) EXPECT_EQ(tokenizer->encode(w).size(), 1u) << w;
  const std::string text = open_prompt({3, 17, 5}) + " " + payload({3, 17, 5});
  const auto ids = tokenizer->encode(text);
  EXPECT_EQ(ids.size(), 6u + 16u);
  EXPECT_EQ(tokenizer->decode(ids), text);
  // Words outside the language still round-trip (byte fallback).
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("hello 12")), "hello 12");
  EXPECT_EQ(std::filesystem::directory_iterator(dir.path()) == std::filesystem::directory_iterator(), false);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);  // no leftovers
}

}  // namespace
}  // namespace garden::text::standin
