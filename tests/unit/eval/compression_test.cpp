// Compression rate (eval/compression.h): a uniform model codes every token in log2(V) bits,
// a trained-looking model's rate equals a slow per-token sum of -log2 p, prompts are given and
// not coded, and bits per byte divide by the text's UTF-8 size.
#include "garden/eval/compression.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"
#include "test_helpers.h"

namespace garden::eval {
namespace {

TEST(CompressionRate, AUniformModelCodesEveryTokenInLog2VocabBits) {
  auto config = testing::tiny_config();
  const text::ByteTokenizer bytes;
  config.vocab = bytes.vocab_size();
  config.max_seq = 32;
  model::Transformer uniform(config);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : uniform->parameters()) p.zero_();  // every logit 0
  }
  const std::vector<std::string> lines = {"abc", "caf\xc3\xa9 au lait"};
  const auto rate = compression_rate_of_lines(uniform, bytes, lines);
  EXPECT_NEAR(rate.bits_per_token, std::log2(259.0), 1e-5);
  // Tokens: each line's bytes and its end of text (BOS is given).
  EXPECT_EQ(rate.tokens, 3 + 1 + 13 + 1);
  EXPECT_EQ(rate.bytes, 3 + 13);
  EXPECT_NEAR(rate.bits_per_byte, std::log2(259.0) * 18 / 16, 1e-5);
  // Responses: the prompt is given, only the completion and its end of text are coded.
  const auto responses = compression_rate_of_responses(uniform, bytes, {"prompt that is not coded"}, {"xy"});
  EXPECT_EQ(responses.tokens, 3);
  EXPECT_EQ(responses.bytes, 2);
  EXPECT_NEAR(responses.bits_per_token, std::log2(259.0), 1e-5);
}

TEST(CompressionRate, EqualsASlowSumOfMinusLog2P) {
  torch::manual_seed(3);
  model::Transformer m(testing::tiny_config());
  // Two rows of different lengths (padded in one batch), counted tokens chosen by hand.
  std::vector<train::TokenRow> rows = {{{1, 4, 2, 7, 3}, {0, 0, 1, 1, 1}}, {{1, 9, 5}, {0, 1, 1}}};
  const auto rate = compression_rate(m, rows, 10, 2);
  double bits = 0;
  int64_t counted = 0;
  torch::NoGradGuard no_grad;
  m->eval();
  for (const auto& row : rows) {
    const auto input = torch::tensor(row.tokens, torch::kLong).unsqueeze(0);
    const auto log_probs = torch::log_softmax(m->forward(input).logits[0], -1);
    for (size_t i = 1; i < row.tokens.size(); ++i) {
      if (row.counted[i] == 0) continue;
      bits -= log_probs[static_cast<int64_t>(i - 1)][row.tokens[i]].item<double>() / std::log(2.0);
      ++counted;
    }
  }
  EXPECT_EQ(rate.tokens, counted);
  EXPECT_NEAR(rate.bits_per_token, bits / static_cast<double>(counted), 1e-4);
  EXPECT_NEAR(rate.bits_per_byte, bits / 10, 1e-4);
  // One row at a time gives the same figure as batches of two.
  EXPECT_NEAR(compression_rate(m, rows, 10, 1).bits_per_token, rate.bits_per_token, 1e-5);
}

TEST(CompressionRate, RefusesEmptyAndTooLongInput) {
  model::Transformer m(testing::tiny_config());
  EXPECT_THROW(compression_rate(m, {}, 0), Error);
  train::TokenRow long_row;
  long_row.tokens.assign(40, 1);
  long_row.counted.assign(40, 1);
  EXPECT_THROW(compression_rate(m, {long_row}, 40), Error);
}

}  // namespace
}  // namespace garden::eval
