// GritLM's model side: the attention codes and the cb mask, one set of weights read both ways,
// pooling over the text only, the format pieces appended to a SentencePiece model, the grown
// vocabulary, the folder round trip, and generation from cached states (exact from causal
// states, not from bidirectional ones).
#include "garden/model/grit.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/model/generation.h"
#include "garden/text/sentencepiece_model.h"
#include "test_helpers.h"
#include "tiny_grit.h"

namespace garden::model {
namespace {

TEST(GritAttention, TheCodesOfTheOfficialCodeAndNoOthers) {
  EXPECT_EQ(parse_grit_attention("bbcc").embedding, MaskMode::bidirectional);
  EXPECT_TRUE(parse_grit_attention("bbcc").generates);
  EXPECT_EQ(parse_grit_attention("cccc").embedding, MaskMode::causal);
  EXPECT_EQ(parse_grit_attention("bb").embedding, MaskMode::bidirectional);
  EXPECT_FALSE(parse_grit_attention("bb").generates);
  EXPECT_EQ(parse_grit_attention("cc").embedding, MaskMode::causal);
  EXPECT_EQ(parse_grit_attention("cb").embedding, MaskMode::causal_prefix);
  EXPECT_FALSE(parse_grit_attention("cb").generates);
  for (const char* bad : {"bc", "bbbb", "ccbb", "", "BBCC"}) EXPECT_THROW(parse_grit_attention(bad), Error) << bad;
}

// cb with an instruction of 2 tokens in 4: the instruction reads causally, the text reads all.
TEST(GritAttention, CausalPrefixMaskByHand) {
  const auto allowed = build_attention_mask(MaskMode::causal_prefix, 4, 4, 0, torch::ones({1, 4}, torch::kBool),
                                            torch::tensor({2}, torch::kLong))[0][0];
  const auto expected = torch::tensor({1, 0, 0, 0,  //
                                       1, 1, 0, 0,  //
                                       1, 1, 1, 1,  //
                                       1, 1, 1, 1},
                                      torch::kBool)
                            .view({4, 4});
  EXPECT_TRUE(torch::equal(allowed, expected)) << allowed;
  EXPECT_EQ(parse_mask_mode("causal_prefix"), MaskMode::causal_prefix);
}

// bbcc: the embedding forward lets token 0 read token 5, the generative forward of the same
// weights object does not.
TEST(GritAttention, OneWeightsObjectReadBothWays) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  Transformer backbone(testing::tiny_config());
  backbone->eval();
  const auto a = torch::tensor({{1, 2, 3, 4, 5, 6}}, torch::kLong), b = torch::tensor({{1, 2, 3, 4, 5, 9}}, torch::kLong);
  ForwardOptions embedding, generation;
  embedding.mask = parse_grit_attention("bbcc").embedding;
  generation.mask = MaskMode::causal;
  EXPECT_FALSE(torch::allclose(backbone->forward(a, embedding).hidden[0][0], backbone->forward(b, embedding).hidden[0][0]));
  EXPECT_TRUE(torch::allclose(backbone->forward(a, generation).hidden[0][0], backbone->forward(b, generation).hidden[0][0]));
}

// cb through the embedder: the instruction's states ignore the text, the text's first token
// reads the text's last one.
TEST(GritAttention, CbEmbedderReadsTheInstructionCausally) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  Transformer backbone(testing::tiny_config());
  EmbedderConfig config;
  config.mask = MaskMode::causal_prefix;
  Embedder embedder(backbone, config);
  embedder->eval();
  const auto pool_mask = torch::tensor({{0, 0, 1, 1, 1}}, torch::kLong), attention = torch::ones({1, 5}, torch::kLong);
  const auto a = torch::tensor({{1, 2, 3, 4, 5}}, torch::kLong), b = torch::tensor({{1, 2, 3, 4, 9}}, torch::kLong);
  ForwardOptions options;
  options.mask = MaskMode::causal_prefix;
  options.prefix_lengths = torch::tensor({2}, torch::kLong);
  const auto ha = backbone->forward(a, options).hidden, hb = backbone->forward(b, options).hidden;
  EXPECT_TRUE(torch::allclose(ha[0][1], hb[0][1]));   // instruction: causal
  EXPECT_FALSE(torch::allclose(ha[0][2], hb[0][2]));  // text: reads the later token
  // The embedder derives the instruction's length from the pool mask.
  const auto pooled = pool(ha, pool_mask, Pooling::mean);
  EXPECT_TRUE(torch::allclose(embedder->forward(a, attention, pool_mask), pooled, 1e-5, 1e-6));
}

// The embedding is the mean of the text's final states alone: instruction and format tokens
// are read but not pooled, and a changed text changes the embedding.
TEST(GritPooling, MeanOverTheTextOnly) {
  torch::NoGradGuard no_grad;
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path());
  const auto& tok = *grit.tokenizer;
  const auto row = grit_embedding_row(tok, grit_embedding_prefix("where city"), "river stone", 64);
  EXPECT_EQ(row.tokens[static_cast<size_t>(row.pool_from) - 1], tok.encode(grit_embedding_prefix("where city")).back());
  ForwardOptions options;
  options.mask = MaskMode::bidirectional;
  const auto t = static_cast<int64_t>(row.tokens.size());
  const auto tokens = torch::tensor(row.tokens, torch::kLong).view({1, t});
  const auto hidden = grit.backbone()->forward(tokens, options).hidden[0];
  const auto text_mean = hidden.narrow(0, row.pool_from, t - row.pool_from).mean(0);
  const auto expected = text_mean / text_mean.norm();
  const auto states = grit_row_states(grit.embedder, row, MaskMode::bidirectional);
  EXPECT_TRUE(torch::allclose(states.embedding, expected, 1e-5, 1e-6));
  const auto batch = make_embedding_batch(tok, {"river stone"}, grit_embedding_prefix("where city"), 64, CaseFolding::none);
  EXPECT_TRUE(torch::allclose(grit.embedder->forward(batch.tokens, batch.attention_mask, batch.pool_mask)[0], expected, 1e-5, 1e-6));
  const auto other = grit_row_states(grit.embedder, grit_embedding_row(tok, grit_embedding_prefix("where city"), "river house", 64),
                                     MaskMode::bidirectional);
  EXPECT_FALSE(torch::allclose(states.embedding, other.embedding, 1e-4, 1e-5));
}

// weighted_mean: the k-th pooled token weighs k, whatever comes before it (instruction, left padding).
TEST(GritPooling, WeightedMeanCountsPooledTokensOnly) {
  const auto h = torch::tensor({9.0, 9.0, 7.0, 7.0, 1.0, 0.0, 0.0, 1.0}, torch::kFloat64).view({1, 4, 2});
  const auto m = torch::tensor({0, 0, 1, 1}, torch::kLong).view({1, 4});  // left padding, then an instruction
  const auto expected = torch::tensor({{1.0, 2.0}}, torch::kFloat64);       // (1*(1,0) + 2*(0,1)) / 3
  EXPECT_TRUE(torch::allclose(pool(h, m, Pooling::weighted_mean), expected / expected.norm()));
}

TEST(GritTokenizer, FormatPiecesAreAppendedWholeAndOldIdsStay) {
  testing::TempDir dir;
  const auto lm = testing::tiny_sentencepiece_lm(dir.path());
  const text::SentencePieceTokenizer before(dir.path() / "tok.model");
  const auto ids = text::append_user_pieces(dir.path() / "tok.model", dir.path() / "grit.model", {kUserPiece, kEmbedPiece, kAssistantPiece});
  const text::SentencePieceTokenizer after(dir.path() / "grit.model");
  const int64_t v = before.vocab_size();
  EXPECT_EQ(ids, (std::vector<int64_t>{v, v + 1, v + 2}));
  EXPECT_EQ(after.vocab_size(), v + 3);
  EXPECT_EQ(after.piece_to_id(kEmbedPiece), v + 1);
  EXPECT_EQ(after.encode("river stone founded 1712"), before.encode("river stone founded 1712"));
  const auto formatted = after.encode(grit_embedding_prefix("where") + "river");
  EXPECT_NE(std::find(formatted.begin(), formatted.end(), v), formatted.end());
  EXPECT_NE(std::find(formatted.begin(), formatted.end(), v + 1), formatted.end());
  EXPECT_EQ(after.decode(after.encode("river")), "river");
  // Appending again adds nothing: the pieces are there.
  EXPECT_EQ(text::append_user_pieces(dir.path() / "grit.model", dir.path() / "again.model", {kEmbedPiece}), (std::vector<int64_t>{v + 1}));
  EXPECT_EQ(text::SentencePieceTokenizer(dir.path() / "again.model").vocab_size(), v + 3);
}

TEST(GritVocabulary, GrownRowsStartAtTheMeanAndOldLogitsStay) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  Transformer model(testing::tiny_config());
  model->eval();
  auto grown = grow_vocabulary(model, 14);
  grown->eval();
  const auto old = model->token_embedding->weight, now = grown->token_embedding->weight;
  EXPECT_TRUE(torch::equal(now.narrow(0, 0, 11), old));
  for (int64_t i = 11; i < 14; ++i) EXPECT_TRUE(torch::allclose(now[i], old.mean(0)));
  const auto tokens = torch::tensor({{1, 4, 2, 7}}, torch::kLong);
  EXPECT_TRUE(torch::allclose(grown->forward(tokens).logits.narrow(2, 0, 11), model->forward(tokens).logits, 1e-5, 1e-6));
  EXPECT_THROW(grow_vocabulary(model, 10), Error);
}

TEST(GritFolder, SavedAndLoadedWithItsAttentionAndPieces) {
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path(), "cb", Pooling::weighted_mean);
  save_grit(dir.path() / "model", grit.embedder, grit.tokenizer_spec, grit.attention);
  EXPECT_TRUE(is_grit_folder(dir.path() / "model"));
  EXPECT_FALSE(is_grit_folder(dir.path() / "lm"));
  auto loaded = load_grit(dir.path() / "model");
  EXPECT_EQ(loaded.attention.code, "cb");
  EXPECT_EQ(loaded.embedder->config().mask, MaskMode::causal_prefix);
  EXPECT_EQ(loaded.embedder->config().pooling, Pooling::weighted_mean);
  EXPECT_GE(loaded.tokenizer->piece_to_id(kAssistantPiece), 0);
  EXPECT_THROW(load_grit(dir.path() / "lm"), Error);
}

// Generating after the causal states of a prompt's first row equals generating from the whole
// prompt, token by token for 16 greedy tokens; bidirectional states of the same row do not
// give the same next-token logits.
TEST(GritStates, CausalStatesContinueExactlyBidirectionalOnesDoNot) {
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path());
  const auto& tok = *grit.tokenizer;
  const auto first = grit_embedding_row(tok, grit_embedding_prefix(""), "river stone founded in north city", 64);
  const auto second = grit_embedding_row(tok, grit_embedding_prefix("where"), "green house", 64);
  const auto cue = grit_answer_cue(tok);
  const auto prompt = grit_rag_prompt(second, first, RagOrder::doc_first, cue);
  std::vector<int64_t> rest = second.tokens;
  rest.insert(rest.end(), cue.begin(), cue.end());
  GenerateOptions greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 16;
  const auto whole = generate(grit.backbone(), prompt, greedy).at(0).tokens;
  const auto causal = grit_row_states(grit.embedder, first, MaskMode::causal).states;
  EXPECT_EQ(generate_from_states(grit.backbone(), causal, rest, greedy).at(0).tokens, whole);
  const auto full_logits = next_token_logits(grit.backbone(), {}, prompt);
  EXPECT_LT((next_token_logits(grit.backbone(), causal, rest) - full_logits).abs().max().item<double>(), 1e-4);
  const auto bidirectional = grit_row_states(grit.embedder, first, MaskMode::bidirectional).states;
  EXPECT_GT((next_token_logits(grit.backbone(), bidirectional, rest) - full_logits).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(generate_from_states(grit.backbone(), causal, {}, greedy), Error);
}

TEST(GritStates, SavedStatesLoadBackAndJoin) {
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path());
  const auto row = grit_embedding_row(*grit.tokenizer, "", "river stone", 64);
  const auto states = grit_row_states(grit.embedder, row, MaskMode::bidirectional).states;
  save_states(dir.path() / "f32.safetensors", states, torch::kFloat32);
  save_states(dir.path() / "bf16.safetensors", states, torch::kBFloat16);
  const auto exact = load_states(dir.path() / "f32.safetensors"), rounded = load_states(dir.path() / "bf16.safetensors");
  ASSERT_EQ(exact.keys.size(), states.keys.size());
  for (size_t l = 0; l < states.keys.size(); ++l) {
    EXPECT_TRUE(torch::equal(exact.keys[l], states.keys[l]));
    EXPECT_TRUE(torch::equal(exact.values[l], states.values[l]));
    EXPECT_TRUE(torch::allclose(rounded.keys[l], states.keys[l], 1e-2, 1e-2));
  }
  const auto joined = concat_states(exact, rounded);
  EXPECT_EQ(joined.length(), 2 * states.length());
  EXPECT_THROW(load_states(dir.path() / "missing.safetensors"), Error);
}

TEST(GritRagPrompt, RowsInOrderThenTheCue) {
  const EmbeddingRow query{{1, 2}, 1}, document{{3, 4, 5}, 1};
  const std::vector<int64_t> cue{9};
  EXPECT_EQ(grit_rag_prompt(query, document, RagOrder::query_first, cue), (std::vector<int64_t>{1, 2, 3, 4, 5, 9}));
  EXPECT_EQ(grit_rag_prompt(query, document, RagOrder::doc_first, cue), (std::vector<int64_t>{3, 4, 5, 1, 2, 9}));
  EXPECT_THROW(parse_rag_order("middle"), Error);
}

}  // namespace
}  // namespace garden::model
