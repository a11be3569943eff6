// A tiny GritLM for the tests: a SentencePiece tokenizer trained on a few hundred made-up
// lines, a d=16 RoPE LM over it saved as a model folder, and the GritLM made from that folder
// (the three format pieces appended, the vocabulary grown). Weights are random: the tests
// check wiring and exactness, not quality.
#pragma once

#include <filesystem>
#include <string>

#include "garden/core/files.h"
#include "garden/model/grit.h"
#include "garden/model/model_folder.h"
#include "garden/text/tokenizer.h"

namespace garden::testing {

// Writes dir/lm (a model folder with its tokenizer) and returns its path.
inline std::filesystem::path tiny_sentencepiece_lm(const std::filesystem::path& dir) {
  std::string lines;
  const char* words[] = {"river", "stone", "founded", "city", "where", "when", "word", "means", "light", "house", "north", "green"};
  for (int i = 0; i < 300; ++i)
    lines += std::string(words[i % 12]) + " " + words[(i * 5 + 3) % 12] + " " + words[(i * 7 + 1) % 12] + " " + std::to_string(1700 + i) + ".\n";
  write_file_atomic(dir / "text.txt", lines);
  text::TokenizerTrainOptions options;
  options.inputs = {dir / "text.txt"};
  options.vocab = 320;
  text::train_tokenizer(options, dir / "tok.model");
  model::TransformerConfig config;
  config.vocab = text::SentencePieceTokenizer(dir / "tok.model").vocab_size();
  config.d_model = 16;
  config.n_layers = 2;
  config.n_heads = 2;
  config.d_ff = 32;
  config.max_seq = 64;
  torch::manual_seed(5);
  model::Transformer lm(config);
  model::save_model(dir / "lm", lm, (dir / "tok.model").string());
  return dir / "lm";
}

inline model::LoadedGrit tiny_grit(const std::filesystem::path& dir, const std::string& attention = "bbcc",
                                   model::Pooling pooling = model::Pooling::mean) {
  const auto lm = tiny_sentencepiece_lm(dir);
  auto grit = model::grit_from_lm(lm, model::parse_grit_attention(attention), pooling, 64, dir / "grit.model");
  grit.embedder->eval();
  return grit;
}

}  // namespace garden::testing
