// evaluate_text: its window and batch sizes are checked before any work.
#include "garden/eval/lm_metrics.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace garden::eval {
namespace {

// A batch of 0 windows used to advance by nothing and loop forever.
TEST(EvaluateText, RefusesABatchBelowOne) {
  model::TransformerConfig c = testing::tiny_config();
  c.vocab = text::ByteTokenizer().vocab_size();
  model::Transformer model(c);
  text::ByteTokenizer tokenizer;
  testing::expect_error_containing([&] { evaluate_text(model, tokenizer, "some text", 8, 0); }, "--batch must be >= 1, got 0");
  testing::expect_error_containing([&] { evaluate_text(model, tokenizer, "some text", 8, -3); }, "--batch must be >= 1, got -3");
}

}  // namespace
}  // namespace garden::eval
