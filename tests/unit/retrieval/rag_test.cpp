// GritLM's RAG: each caching variant against plain RAG on the same document (causal states
// exact, embedding-pass states not), retrieval through the model's own index, the stored
// states' manifest, and the errors of modes that have nothing to read.
#include "garden/retrieval/rag.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/embedder.h"
#include "garden/retrieval/model_vectors.h"
#include "test_helpers.h"
#include "tiny_grit.h"

namespace garden::retrieval {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kRagDocuments = {"river stone founded in north city 1712", "green house founded 1805",
                                                "light word means house 1999"};

// A dense index of the documents as the model embeds them, with states of `attention`.
fs::path rag_index(model::LoadedGrit& grit, const fs::path& dir, StatesAttention attention) {
  const auto vectors = to_matrix(model::encode_texts(grit.embedder, *grit.tokenizer, kRagDocuments, model::grit_embedding_prefix(""), 8));
  build_dense_index(vectors, {"a", "b", "c"}, dir, DenseOptions{}, Json::object());
  StatesStoreOptions store;
  store.attention = attention;
  store.dtype = torch::kFloat32;
  store_document_states(grit, kRagDocuments, dir, store, false);
  return dir;
}

double logit_gap(GritRag& rag, const std::string& query, RagOptions a, RagOptions b, int64_t document) {
  a.first_logits = b.first_logits = true;
  return (rag.answer(query, a, document).first_logits - rag.answer(query, b, document).first_logits).abs().max().item<double>();
}

TEST(GritRag, CausalStatesAreExactEmbeddingStatesAreNot) {
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path());
  GritRag causal(grit, rag_index(grit, dir.path() / "causal", StatesAttention::causal), kRagDocuments);
  GritRag embedding(grit, rag_index(grit, dir.path() / "embedding", StatesAttention::embedding), kRagDocuments);
  RagOptions doc_first, query_first, doc_cache, query_cache, causal_query_cache, query_doc, doc_query;
  doc_first.order = model::RagOrder::doc_first;
  doc_cache.cache = RagCache::doc;
  query_cache.cache = causal_query_cache.cache = RagCache::query;
  causal_query_cache.query_states = StatesAttention::causal;
  query_doc.cache = RagCache::query_doc;
  doc_query.cache = RagCache::doc_query;
  for (int64_t document = 0; document < 3; ++document) {
    EXPECT_LT(logit_gap(causal, "where was it founded", doc_first, doc_cache, document), 1e-4);
    EXPECT_LT(logit_gap(causal, "where was it founded", query_first, causal_query_cache, document), 1e-4);
    EXPECT_GT(logit_gap(embedding, "where was it founded", doc_first, doc_cache, document), 1e-4);
    EXPECT_GT(logit_gap(embedding, "where was it founded", query_first, query_cache, document), 1e-4);
    // Parts computed apart: the second part never read the first.
    EXPECT_GT(logit_gap(causal, "where was it founded", query_first, query_doc, document), 1e-4);
    EXPECT_GT(logit_gap(causal, "where was it founded", doc_first, doc_query, document), 1e-4);
  }
  // The cached modes fix the order; none follows the option.
  EXPECT_EQ(rag_order(doc_cache), model::RagOrder::doc_first);
  EXPECT_EQ(rag_order(query_doc), model::RagOrder::query_first);
  EXPECT_EQ(rag_order(doc_first), model::RagOrder::doc_first);
}

// Without a fixed document the query's own embedding pass picks the nearest row of the index.
TEST(GritRag, RetrievesTheNearestDocumentAndAnswers) {
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path());
  const auto index = rag_index(grit, dir.path() / "index", StatesAttention::embedding);
  GritRag rag(grit, index, kRagDocuments);
  RagOptions options;
  options.max_new_tokens = 4;
  const auto answer = rag.answer("green house", options);
  const auto query = model::grit_row_states(grit.embedder, model::grit_embedding_row(*grit.tokenizer, model::grit_embedding_prefix(""), "green house", 64),
                                            grit.embedder->config().mask);
  const auto docs = model::encode_texts(grit.embedder, *grit.tokenizer, kRagDocuments, model::grit_embedding_prefix(""), 8);
  EXPECT_EQ(answer.document, docs.matmul(query.embedding).argmax().item<int64_t>());
  EXPECT_LE(static_cast<int64_t>(answer.tokens.size()), 4);
  EXPECT_GT(answer.seconds, 0);
  const auto manifest = document_states_manifest(index);
  EXPECT_EQ(manifest.at("documents").get<int64_t>(), 3);
  EXPECT_EQ(manifest.at("attention").get<std::string>(), "embedding");
  EXPECT_EQ(manifest.at("mask").get<std::string>(), "bidirectional");
}

TEST(GritRag, ModesWithNothingToReadAreErrors) {
  testing::TempDir dir;
  auto grit = testing::tiny_grit(dir.path());
  RagOptions no_retrieval;
  no_retrieval.retrieve = false;
  no_retrieval.max_new_tokens = 2;
  GritRag bare(grit, {}, {});
  EXPECT_NO_THROW(bare.answer("where", no_retrieval));
  no_retrieval.cache = RagCache::query;
  EXPECT_THROW(bare.answer("where", no_retrieval), Error);
  RagOptions doc_cache;
  doc_cache.cache = RagCache::doc;
  EXPECT_THROW(bare.answer("where", doc_cache, 0), Error);  // no corpus, no stored states
  EXPECT_THROW(document_states_manifest(dir.path()), Error);
  // A kv folder that garden did not write is never replaced.
  fs::create_directories(dir.path() / "index" / "kv");
  write_file_atomic(dir.path() / "index" / "kv" / "notes.txt", "mine");
  EXPECT_THROW(store_document_states(grit, kRagDocuments, dir.path() / "index", StatesStoreOptions{}, false), Error);
  EXPECT_TRUE(fs::exists(dir.path() / "index" / "kv" / "notes.txt"));
  EXPECT_THROW(parse_rag_cache("all"), Error);
  EXPECT_THROW(parse_states_attention("bidirectional"), Error);
}

}  // namespace
}  // namespace garden::retrieval
