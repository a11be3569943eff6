// The base LM recipes shrunk to seconds for the tests: the same sources and code path, a toy
// model and vocabulary.
#pragma once

#include <string>

#include "garden/train/base_lm.h"

namespace garden::train::testing_recipes {

inline BaseLmOptions tiny(const std::string& recipe) {
  auto o = base_lm_recipe(recipe);
  o.vocab = 400;
  o.steps = 2;
  o.batch = 2;
  o.seq = 16;
  o.tokenizer_sentences = 20000;
  o.d_model = 16;
  o.layers = 1;
  o.heads = 2;
  return o;
}

}  // namespace garden::train::testing_recipes
