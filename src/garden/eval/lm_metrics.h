// Language-model metrics on held-out text: mean loss (nats/token), perplexity, and bits per
// byte = total nats / (ln 2 * UTF-8 bytes of the text), which compares models whose
// tokenizers differ.
#pragma once

#include <string>

#include "garden/core/json.h"
#include "garden/model/transformer.h"
#include "garden/text/tokenizer.h"

namespace garden::eval {

struct LmMetrics {
  double loss = 0;           // nats per predicted token
  double perplexity = 0;
  double bits_per_byte = 0;
  int64_t tokens = 0;        // predicted tokens
  int64_t bytes = 0;
  Json to_json() const;
};

// Scores `text` in windows of `seq` tokens (each window starts with BOS and predicts
// seq-1... tokens of text; windows do not overlap), `batch` windows at a time.
LmMetrics evaluate_text(model::Transformer& model, const text::Tokenizer& tokenizer, const std::string& text,
                        int64_t seq, int64_t batch);

}  // namespace garden::eval
