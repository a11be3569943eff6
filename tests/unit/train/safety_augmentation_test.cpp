// Safety-recovery augmentation (train/safety_augmentation.h): the harmful prefix is never a
// target, the refusal always is, k stays within bounds, and about half the rows are augmented.
#include "garden/train/safety_augmentation.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

TEST(SafetyAugmentation, PrefixMaskedRefusalCountedKInBounds) {
  const text::ByteTokenizer bytes;
  std::vector<SafetyTriple> triples;
  for (int i = 0; i < 400; ++i) triples.push_back({fmt::format("Q{}", i), "harmful answer", "no."});
  SafetyAugmentation options;
  options.max_prefix = 5;
  const auto out = safety_augmentation_rows(bytes, triples, options, 3);
  ASSERT_EQ(out.rows.size(), 400u);
  int64_t augmented = 0;
  for (size_t i = 0; i < out.rows.size(); ++i) {
    const auto& row = out.rows[i];
    const int64_t k = out.prefix_tokens[i];
    const auto prompt = bytes.encode(triples[i].prompt);
    const int64_t prompt_end = 1 + static_cast<int64_t>(prompt.size());  // BOS + prompt
    ASSERT_EQ(static_cast<int64_t>(row.tokens.size()), prompt_end + k + 3 + 1);  // + prefix + "no." + EOS
    EXPECT_GE(k, 0);
    EXPECT_LE(k, 5);
    augmented += k > 0 ? 1 : 0;
    for (int64_t j = 0; j < prompt_end + k; ++j) EXPECT_EQ(row.counted[static_cast<size_t>(j)], 0) << "row " << i << " token " << j;
    for (size_t j = static_cast<size_t>(prompt_end + k); j < row.tokens.size(); ++j) EXPECT_EQ(row.counted[j], 1);
    // The prefix is the harmful response's first k tokens.
    for (int64_t j = 0; j < k; ++j) EXPECT_EQ(row.tokens[static_cast<size_t>(prompt_end + j)], static_cast<int64_t>("harmful answer"[j]));
    EXPECT_EQ(row.tokens.back(), bytes.eos_id());
  }
  EXPECT_NEAR(static_cast<double>(augmented) / 400, 0.5, 0.08);
  // Every k in 1..5 occurs.
  for (int64_t k = 1; k <= 5; ++k) EXPECT_NE(std::find(out.prefix_tokens.begin(), out.prefix_tokens.end(), k), out.prefix_tokens.end());
  // Probability 0 is plain SFT on refusals, probability 1 always prefixes.
  options.probability = 0;
  for (const int64_t k : safety_augmentation_rows(bytes, triples, options, 3).prefix_tokens) EXPECT_EQ(k, 0);
  options.probability = 1;
  for (const int64_t k : safety_augmentation_rows(bytes, triples, options, 3).prefix_tokens) EXPECT_GT(k, 0);
  options.probability = 1.5;
  EXPECT_THROW(safety_augmentation_rows(bytes, triples, options, 3), Error);
}

TEST(SafetyAugmentation, ReadsTriplesAndNamesABadLine) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "ok.jsonl", R"({"prompt": "a", "harmful": "b", "refusal": "c"})" "\n");
  const auto triples = read_safety_triples(dir.path() / "ok.jsonl");
  ASSERT_EQ(triples.size(), 1u);
  EXPECT_EQ(triples[0].harmful, "b");
  write_file_atomic(dir.path() / "bad.jsonl", R"({"prompt": "a", "harmful": "b", "refusal": "c"})" "\n" R"({"prompt": "a"})" "\n");
  try {
    read_safety_triples(dir.path() / "bad.jsonl");
    FAIL() << "a line without 'refusal' was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace garden::train
