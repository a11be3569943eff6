#include "garden/model/embedder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "garden/core/error.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

using testing::tiny_embedder;

TEST(Embedder, BatchExcludesTheInstructionFromPoolingAndEndsWithEos) {
  const text::ByteTokenizer tok;
  const auto batch = make_embedding_batch(tok, {"ab", "abcd"}, "Q: ", 64, CaseFolding::none);
  ASSERT_EQ(batch.tokens.sizes(), (std::vector<int64_t>{2, 3 + 4 + 1}));
  EXPECT_EQ(batch.tokens[0][5].item<int64_t>(), tok.eos_id());
  EXPECT_EQ(batch.tokens[0][6].item<int64_t>(), tok.pad_id());
  EXPECT_EQ(batch.attention_mask[0].sum().item<int64_t>(), 6);
  EXPECT_EQ(batch.pool_mask[0].sum().item<int64_t>(), 3);  // "ab" + EOS
  EXPECT_EQ(batch.pool_mask[1].narrow(0, 0, 3).sum().item<int64_t>(), 0);
  // Truncation cuts the text, never the instruction or EOS.
  const auto cut = make_embedding_batch(tok, {"abcdefghij"}, "Q: ", 6, CaseFolding::none);
  EXPECT_EQ(cut.tokens.size(1), 6);
  EXPECT_EQ(cut.tokens[0][5].item<int64_t>(), tok.eos_id());
  EXPECT_EQ(cut.pool_mask[0].sum().item<int64_t>(), 3);
  EXPECT_THROW(make_embedding_batch(tok, {"x"}, "a very long instruction", 6, CaseFolding::none), Error);
}

TEST(Embedder, InstructionChangesTokensButIsNotPooled) {
  const text::ByteTokenizer tok;
  auto embedder = tiny_embedder(Pooling::mean);
  embedder->eval();
  // The text attends to the instruction, so an instruction changes the vector although its
  // own tokens are not pooled; padding changes nothing.
  const auto plain = encode_texts(embedder, tok, {"hello"}, "", 4);
  const auto instructed = encode_texts(embedder, tok, {"hello"}, "Find: ", 4);
  EXPECT_FALSE(torch::allclose(plain, instructed, 1e-4, 1e-5));
  const auto alone = encode_texts(embedder, tok, {"hi"}, "", 4);
  const auto padded = encode_texts(embedder, tok, {"hi", "a much longer text that pads the first"}, "", 4);
  EXPECT_TRUE(torch::allclose(alone[0], padded[0], 1e-5, 1e-6));
}

TEST(Embedder, EncodingKeepsInputOrderAndUnitNorm) {
  const text::ByteTokenizer tok;
  auto embedder = tiny_embedder(Pooling::latent_attention);
  const std::vector<std::string> texts = {"a long first text here", "b", "medium text", "cc"};
  const auto all = encode_texts(embedder, tok, texts, "", 2);
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_TRUE(torch::allclose(all[static_cast<int64_t>(i)], encode_texts(embedder, tok, {texts[i]}, "", 1)[0], 1e-5, 1e-6)) << i;
  EXPECT_TRUE(torch::allclose(all.norm(2, 1), torch::ones({4}), 1e-5, 1e-5));
}

// Token rows (text tokens + EOS) embed as encode_texts embeds the texts, in input order,
// whatever the batch; rows over max_tokens are refused.
TEST(Embedder, TokenRowsEqualTexts) {
  const text::ByteTokenizer tok;
  auto embedder = tiny_embedder(Pooling::mean);
  const std::vector<std::string> texts = {"a long first text here", "b", "medium text"};
  std::vector<std::vector<int64_t>> rows;
  for (const auto& t : texts) {
    rows.push_back(tok.encode(t));
    rows.back().push_back(tok.eos_id());
  }
  const auto expected = encode_texts(embedder, tok, texts, "", 2);
  EXPECT_TRUE(torch::allclose(encode_token_rows(embedder, rows, tok.pad_id(), 2), expected, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(encode_token_rows(embedder, rows, tok.pad_id(), 8), expected, 1e-5, 1e-6));
  std::vector<std::vector<int64_t>> too_long{std::vector<int64_t>(static_cast<size_t>(embedder->config().max_tokens) + 1, 5)};
  EXPECT_THROW(encode_token_rows(embedder, too_long, tok.pad_id(), 2), Error);
}

TEST(Embedder, SaveAndLoadGiveTheSameVectors) {
  auto embedder = tiny_embedder(Pooling::latent_attention);
  const auto dir = std::filesystem::temp_directory_path() / ("garden-embedder-test-" + std::to_string(::getpid()));
  save_embedder(dir, embedder, "bytes");
  auto loaded = load_embedder(dir);
  EXPECT_EQ(loaded.embedder->config().pooling, Pooling::latent_attention);
  const text::ByteTokenizer tok;
  EXPECT_TRUE(torch::equal(encode_texts(embedder, tok, {"same text"}, "", 1),
                           encode_texts(loaded.embedder, *loaded.tokenizer, {"same text"}, "", 1)));
  std::filesystem::remove_all(dir);
  EXPECT_THROW(load_embedder(dir), Error);
}

TEST(Embedder, CaseFoldingLowersTextsInCapitalsOnly) {
  EXPECT_EQ(fold_case("THE ALLIES AFTER NASSAU, 1960", CaseFolding::all_caps), "the allies after nassau, 1960");
  EXPECT_EQ(fold_case("NATO and the U.S. Nuclear Force", CaseFolding::all_caps), "NATO and the U.S. Nuclear Force");
  // 9 of 10 letters upper case is the threshold; 8 of 9 is below it.
  EXPECT_EQ(fold_case("ABCDEFGHIj", CaseFolding::all_caps), "abcdefghij");
  EXPECT_EQ(fold_case("ABCDEFGHi", CaseFolding::all_caps), "ABCDEFGHi");
  EXPECT_EQ(fold_case("USA", CaseFolding::all_caps), "USA");  // too few letters to tell
  EXPECT_EQ(fold_case("NATO and the U.S.", CaseFolding::all), "nato and the u.s.");
  EXPECT_EQ(fold_case("CAF\xC3\x89 NOIR", CaseFolding::all), "caf\xC3\x89 noir");  // UTF-8 bytes untouched
  EXPECT_EQ(fold_case("NATO", CaseFolding::none), "NATO");
  EXPECT_THROW(parse_case_folding("lower"), Error);
  for (const auto f : {CaseFolding::none, CaseFolding::all_caps, CaseFolding::all}) EXPECT_EQ(parse_case_folding(to_string(f)), f);
}

TEST(Embedder, BatchesFoldTheTextButNotTheInstruction) {
  const text::ByteTokenizer tok;
  const auto folded = make_embedding_batch(tok, {"RADAR ECHOES"}, "Q: ", 64, CaseFolding::all_caps);
  const auto lower = make_embedding_batch(tok, {"radar echoes"}, "Q: ", 64, CaseFolding::none);
  EXPECT_TRUE(torch::equal(folded.tokens, lower.tokens));  // "Q: " keeps its capital
  EXPECT_FALSE(torch::equal(make_embedding_batch(tok, {"RADAR ECHOES"}, "Q: ", 64, CaseFolding::none).tokens, lower.tokens));
}

TEST(Embedder, ConfigKeepsTheCaseFoldingAndOldConfigsHaveNone) {
  EmbedderConfig config;
  config.case_folding = CaseFolding::all_caps;
  EXPECT_EQ(EmbedderConfig::from_json(config.to_json(), "t").case_folding, CaseFolding::all_caps);
  Json old = EmbedderConfig{}.to_json();
  old.erase("case_folding");
  EXPECT_EQ(EmbedderConfig::from_json(old, "t").case_folding, CaseFolding::none);
  old["case_folding"] = "upper";
  EXPECT_THROW(EmbedderConfig::from_json(old, "t"), Error);
}

TEST(Embedder, AnceHeadIsLayerNormOfTheProjectionScoredByInnerProduct) {
  EmbedderConfig e;
  e.projection = 8;
  e.projection_layernorm = true;
  e.unit_vectors = false;
  auto embedder = testing::tiny_embedder_with(e);
  const text::ByteTokenizer tok;
  const auto batch = make_embedding_batch(tok, {"a query", "a longer document"}, "", 64, CaseFolding::none);
  const auto out = embedder->forward(batch.tokens, batch.attention_mask, batch.pool_mask);
  // g(x) = LN(W h + b), h the pooled vector, not normalised afterwards.
  ForwardOptions options;
  options.mask = MaskMode::bidirectional;
  options.attention_mask = batch.attention_mask;
  options.compute_logits = false;
  const auto pooled = pool(embedder->backbone->forward(batch.tokens, options).hidden, batch.pool_mask, Pooling::mean);
  const auto z = embedder->projection(pooled);
  const auto expected = (z - z.mean(-1, true)) / torch::sqrt(z.var(-1, false, true) + 1e-5);  // the LayerNorm's initial gain 1, bias 0
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-5));
  EXPECT_GT(out.norm(2, -1).min().item<double>(), 2.0);  // about sqrt(8): no unit vectors
  // The head's settings survive a save and load; old configs have neither.
  const auto back = EmbedderConfig::from_json(e.to_json(), "t");
  EXPECT_TRUE(back.projection_layernorm);
  EXPECT_FALSE(back.unit_vectors);
  Json old = EmbedderConfig{}.to_json();
  old.erase("projection_layernorm");
  old.erase("score");
  EXPECT_FALSE(EmbedderConfig::from_json(old, "t").projection_layernorm);
  EXPECT_TRUE(EmbedderConfig::from_json(old, "t").unit_vectors);
  Json no_projection = EmbedderConfig{}.to_json();
  no_projection["projection_layernorm"] = true;
  testing::expect_error_containing([&] { EmbedderConfig::from_json(no_projection, "t"); }, "needs a projection");
  old["score"] = "l2";
  testing::expect_error_containing([&] { EmbedderConfig::from_json(old, "t"); }, "cosine or dot");
  // A cosine embedder with the same head gives unit vectors.
  e.unit_vectors = true;
  auto unit = testing::tiny_embedder_with(e);
  EXPECT_TRUE(torch::allclose(unit->forward(batch.tokens, batch.attention_mask, batch.pool_mask).norm(2, -1), torch::ones({2}), 1e-5, 1e-5));
}

TEST(Embedder, Bf16EncodingStaysWithinRoundingOfFloat32AndTheConfigKeepsIt) {
  EmbedderConfig config;
  config.bf16 = true;
  EXPECT_TRUE(EmbedderConfig::from_json(config.to_json(), "t").bf16);
  Json old = EmbedderConfig{}.to_json();
  old.erase("bf16");
  EXPECT_FALSE(EmbedderConfig::from_json(old, "t").bf16);  // models saved before the field

  const text::ByteTokenizer tok;
  auto embedder = tiny_embedder(Pooling::mean);
  embedder->eval();
  const std::vector<std::string> texts = {"radar echoes", "the boundary layer", "a", "heat transfer in a slip flow"};
  const auto fp32 = encode_texts(embedder, tok, texts, "", 2);
  embedder->set_bf16(true);
  const auto bf16 = encode_texts(embedder, tok, texts, "", 2);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat32);
  EXPECT_FALSE(torch::equal(fp32, bf16));  // the products did run in bf16
  // Unit vectors either way; bf16 keeps 8 significant bits, so cosines stay near 1.
  EXPECT_GT((fp32 * bf16).sum(1).min().item<double>(), 0.999);
  EXPECT_NEAR(bf16.norm(2, 1).min().item<double>(), 1.0, 1e-5);
}

}  // namespace
}  // namespace garden::model
