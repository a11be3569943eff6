// Vectors from a model folder: a generative embedder (LLM2Vec-Gen) loads through the same
// EmbeddingModel as an embedder, encodes exactly as encode_generative_texts does, reads
// documents with the corpus instruction, and is refused by commands that need an embedder.
#include "garden/retrieval/model_vectors.h"

#include <gtest/gtest.h>

#include "garden/model/generative_embedder.h"
#include "garden/text/tokenizer.h"
#include "test_files.h"
#include "test_helpers.h"

namespace garden::retrieval {
namespace {

TEST(EmbeddingModel, LoadsAGenerativeEmbedderFolder) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  torch::manual_seed(3);
  model::GenerativeEmbedderConfig config;
  config.special_tokens = 2;
  config.embedding_dims = 6;
  model::GenerativeEmbedder gen(model::Transformer(testing::byte_config(96)), config);
  model::save_generative_embedder(dir.path() / "gen", gen, "bytes");

  EmbeddingModel model(dir.path() / "gen");
  EXPECT_TRUE(model.generative());
  EXPECT_EQ(model.dims(), 6);
  EXPECT_EQ(model.metric(), "cosine");
  EXPECT_EQ(model.document_instruction(), model::kDocumentInstruction);
  const std::vector<std::string> texts{"a passage", "another, longer passage"};
  const auto vectors = encode_with_model(model, texts, model.document_instruction(), 1, "");
  const auto expected = model::encode_generative_texts(gen, text::ByteTokenizer(), texts, model::kDocumentInstruction, 2);
  ASSERT_EQ(vectors.rows, 2);
  ASSERT_EQ(vectors.cols, 6);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 6; ++j) EXPECT_NEAR(vectors.data[static_cast<size_t>(i * 6 + j)], expected[i][j].item<float>(), 1e-5);
  EXPECT_NEAR(expected[1].norm().item<double>(), 1.0, 1e-5);
  testing::expect_error_containing([&] { model.loaded(); }, "is a generative embedder (LLM2Vec-Gen)");

  auto embedder = testing::tiny_embedder();
  model::save_embedder(dir.path() / "emb", embedder, "bytes");
  EmbeddingModel plain(dir.path() / "emb");
  EXPECT_FALSE(plain.generative());
  EXPECT_EQ(plain.document_instruction(), "");
}

}  // namespace
}  // namespace garden::retrieval
