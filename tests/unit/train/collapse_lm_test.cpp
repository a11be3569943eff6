// The language-model path of model collapse (train/collapse_lm.h): blocks, the real-data mix,
// distinct-n and per-block perplexity by hand, the text split, and a tiny end-to-end run.
#include "garden/train/collapse_lm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/model/model_folder.h"
#include "test_files.h"
#include "test_helpers.h"

namespace garden::train {
namespace {

TEST(CollapseLm, BlocksDropTheTailAndTheMixTakesExactlyRhoRealBlocks) {
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const auto blocks = cut_blocks(tokens, 4);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[1], (std::vector<int64_t>{5, 6, 7, 8}));

  std::vector<std::vector<int64_t>> real, synthetic;
  for (int64_t i = 0; i < 10; ++i) {
    real.push_back({i});
    synthetic.push_back({100 + i});
  }
  const auto [mixed, real_count] = mix_real_blocks(synthetic, real, 0.3, 7);
  EXPECT_EQ(real_count, 3);
  int64_t from_real = 0;
  for (size_t i = 0; i < mixed.size(); ++i) {
    EXPECT_TRUE(mixed[i] == real[i] || mixed[i] == synthetic[i]) << "block " << i << " moved";
    from_real += mixed[i] == real[i];
  }
  EXPECT_EQ(from_real, 3);
  EXPECT_EQ(mix_real_blocks(synthetic, real, 0.0, 7).first, synthetic);
}

TEST(CollapseLm, DistinctNCountsUniqueNgramsWithinBlocks) {
  const std::vector<std::vector<int64_t>> blocks = {{1, 2, 1, 2}, {3}};
  EXPECT_DOUBLE_EQ(distinct_n(blocks, 1), 3.0 / 5);  // 1, 2, 3 of five tokens
  EXPECT_DOUBLE_EQ(distinct_n(blocks, 2), 2.0 / 3);  // 12, 21, 12: no bigram across blocks
  EXPECT_DOUBLE_EQ(distinct_n({{4}}, 2), 0.0);
}

TEST(CollapseLm, BlockPerplexityIsTheExpOfTheMeanNllAfterBos) {
  torch::manual_seed(4);
  model::Transformer m(testing::tiny_config());
  m->eval();
  const std::vector<std::vector<int64_t>> blocks = {{3, 4, 5}, {6, 7, 8}};
  const auto ppl = block_perplexities(m, blocks, 1, 1);
  ASSERT_EQ(ppl.size(), 2u);
  torch::NoGradGuard no_grad;
  const auto lp = torch::log_softmax(m->forward(torch::tensor({1, 6, 7}, torch::kLong).view({1, -1})).logits[0], -1);
  const double nll = -(lp[0][6].item<double>() + lp[1][7].item<double>() + lp[2][8].item<double>()) / 3;
  EXPECT_NEAR(ppl[1], std::exp(nll), 1e-4);
  EXPECT_NEAR(block_perplexities(m, blocks, 1, 2)[1], ppl[1], 1e-4);  // batching changes nothing
}

TEST(CollapseLm, TheTextSplitsByLinesNinetyFiveFive) {
  const text::ByteTokenizer tok;
  std::string text;
  for (int i = 0; i < 100; ++i) text += "line " + std::to_string(i % 10) + "\n";
  const auto data = split_collapse_text(tok, text, 0);
  EXPECT_EQ(data.train.size(), 90u * 7);  // "line k" and a newline per line
  EXPECT_EQ(data.valid.size(), 5u * 7);
  EXPECT_EQ(data.test.size(), 5u * 7);
  EXPECT_EQ(split_collapse_text(tok, text, 100).train.size(), 100u);
  const auto short_eval = split_collapse_text(tok, text, 0, 20);
  EXPECT_EQ(short_eval.valid.size(), 20u);
  EXPECT_EQ(short_eval.test.size(), 20u);
  EXPECT_EQ(short_eval.train.size(), 90u * 7);
}

TEST(CollapseLm, ATinyRunTrainsEveryGenerationOnItsOwnContinuations) {
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  torch::manual_seed(2);
  auto config = testing::tiny_config();
  config.vocab = tok.vocab_size();
  config.max_seq = 32;
  model::Transformer pretrained(config);
  model::save_model(dir.path() / "pretrained", pretrained, "bytes");
  std::string text;
  for (int i = 0; i < 200; ++i) text += i % 2 ? "the cat sat\n" : "a dog ran\n";
  const auto data = split_collapse_text(tok, text, 0);
  LmCollapseOptions o{.generations = 2, .real_fraction = 0.25, .beam_width = 2, .block = 8, .epochs = 2, .batch = 8, .lr = 1e-2};
  std::vector<int64_t> seen;
  const auto stats = run_lm_collapse(dir.path() / "pretrained", data, o, dir.path() / "run", true,
                                     [&](const GenerationStats& g) { seen.push_back(g.generation); });
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2}));
  const auto blocks = static_cast<int64_t>(data.train.size()) / 8;
  EXPECT_EQ(stats[0].real_blocks, blocks);
  for (const auto& g : stats) {
    EXPECT_EQ(g.blocks, blocks);
    EXPECT_EQ(static_cast<int64_t>(g.sequence_ppl.size()), blocks);
    EXPECT_GE(g.best_epoch, 1);
    EXPECT_LE(g.best_epoch, 2);
    EXPECT_TRUE(std::isfinite(g.test_ppl));
    EXPECT_EQ(g.distinct.size(), 3u);
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "run" / ("gen-" + std::to_string(g.generation)) / "model" / "model.safetensors"));
  }
  EXPECT_EQ(stats[1].real_blocks, std::llround(0.25 * static_cast<double>(blocks)));
  // Generation 0 learns the real text: its test perplexity is far below the vocabulary size.
  EXPECT_LT(stats[0].test_ppl, 30);
  // A rerun with fewer generations in the same folder leaves none of the earlier ones beyond.
  o.generations = 0;
  run_lm_collapse(dir.path() / "pretrained", data, o, dir.path() / "run", true);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "run" / "gen-0"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "run" / "gen-1"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "run" / "gen-2"));
  o.beam_width = 1000;
  testing::expect_error_containing([&] { run_lm_collapse(dir.path() / "pretrained", data, o, dir.path() / "run2", true); },
                                   "--beam-width");
  o.beam_width = 2;
  o.start_from = "sideways";
  testing::expect_error_containing([&] { run_lm_collapse(dir.path() / "pretrained", data, o, dir.path() / "run2", true); },
                                   "--start-from");
}

}  // namespace
}  // namespace garden::train
