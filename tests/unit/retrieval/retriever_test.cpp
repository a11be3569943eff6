// open_index: the retriever of each kind gives the same run as its index used directly;
// options that do not fit the kind, and folders that are not indexes, are errors.
#include "garden/retrieval/retriever.h"

#include <gtest/gtest.h>

#include <random>

#include "garden/core/files.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/vectors.h"
#include "test_files.h"

namespace garden::retrieval {
namespace {

Collection tiny_collection() {
  Collection c;
  c.corpus = {{"1", "", "wing flutter in a wind tunnel"}, {"2", "", "boundary layers on flat plates"},
              {"3", "", "heat transfer to cones in hypersonic flow"}, {"4", "", "shock waves on wedges and wings"}};
  c.queries = {{"q1", "wing flutter"}, {"q2", "heat transfer"}};
  c.qrels["q1"]["1"] = 1;
  c.qrels["q2"]["3"] = 1;
  return c;
}

Matrix random_rows(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  Matrix m{rows, cols, std::vector<float>(static_cast<size_t>(rows * cols))};
  for (auto& v : m.data) v = normal(rng);
  return m;
}

TEST(OpenIndex, Bm25GivesTheIndexsOwnRun) {
  testing::TempDir dir;
  write_beir_collection(tiny_collection(), dir.path() / "c");
  build_bm25_index(dir.path() / "c", dir.path() / "idx", {});
  const auto retriever = open_index(dir.path() / "idx");
  EXPECT_EQ(retriever->kind(), "bm25");
  const auto run = retriever->search(tiny_collection().queries, 2);
  const auto direct = Bm25Index(dir.path() / "idx").search_all(tiny_collection().queries, 2);
  ASSERT_EQ(run.size(), direct.size());
  for (const auto& [q, ranked] : direct) {
    ASSERT_EQ(run.at(q).size(), ranked.size());
    for (size_t i = 0; i < ranked.size(); ++i) EXPECT_EQ(run.at(q)[i].doc_id, ranked[i].doc_id);
  }
  EXPECT_EQ(run.at("q1").front().doc_id, "1");
  SearchOptions dense_only;
  dense_only.query_vectors = dir.path() / "q.npy";
  EXPECT_THROW(open_index(dir.path() / "idx", dense_only), Error);
}

TEST(OpenIndex, DenseAndFunnelMatchExactSearch) {
  testing::TempDir dir;
  const Matrix docs = random_rows(50, 8, 1), queries = random_rows(2, 8, 2);
  DenseOptions flat;
  flat.kind = "flat";
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(std::string("d").append(std::to_string(i)));
  build_dense_index(docs, ids, dir.path() / "flat", flat, Json::object());
  write_npy(dir.path() / "q.npy", queries);
  SearchOptions options;
  options.query_vectors = dir.path() / "q.npy";
  const std::vector<Query> qs = {{"a", "first"}, {"b", "second"}};
  const auto run = open_index(dir.path() / "flat", options)->search(qs, 5);
  // The index compares by cosine (its default metric): exact inner products of unit rows.
  const auto exact = hits_to_run(exact_search(truncate_rows(docs, 8, true), truncate_rows(queries, 8, true), 5), {"a", "b"}, ids);
  for (const auto& [q, ranked] : exact)
    for (size_t i = 0; i < ranked.size(); ++i) EXPECT_EQ(run.at(q)[i].doc_id, ranked[i].doc_id) << q << " rank " << i;
  // A funnel whose last stage uses every dimension ranks its shortlist exactly; with a
  // shortlist of all documents that is exact search, and it counts its multiply-adds.
  options.shortlist = {50, 50};
  options.rerank_dims = {4, 8};
  const auto funnel = open_index(dir.path() / "flat", options);
  const auto funnel_run = funnel->search(qs, 5);
  for (const auto& [q, ranked] : exact)
    for (size_t i = 0; i < ranked.size(); ++i) EXPECT_EQ(funnel_run.at(q)[i].doc_id, ranked[i].doc_id);
  EXPECT_EQ(funnel->exhaustive_flops_per_query(), 50 * 8);
  EXPECT_GT(funnel->flops_per_query(), 0);
  // Three queries searched with two vectors is an error, not a silently short run.
  EXPECT_THROW(open_index(dir.path() / "flat", options)->search({{"a", ""}, {"b", ""}, {"c", ""}}, 5), Error);
}

TEST(OpenIndex, RefusesWhatIsNoIndexOrDoesNotFitItsKind) {
  testing::TempDir dir;
  testing::expect_error_containing([&] { open_index(dir.path()); }, "no manifest.json");
  write_file_atomic(dir.path() / "manifest.json", "{\"kind\": \"lsh\"}");
  testing::expect_error_containing([&] { open_index(dir.path()); }, "unknown kind 'lsh'");
  const Matrix docs = random_rows(10, 4, 3);
  DenseOptions flat;
  flat.kind = "flat";
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(std::to_string(i));
  build_dense_index(docs, ids, dir.path() / "flat", flat, Json::object());
  testing::expect_error_containing([&] { open_index(dir.path() / "flat"); }, "one of the two");
  SearchOptions rerank_only;
  rerank_only.query_vectors = dir.path() / "q.npy";
  rerank_only.rerank_dims = {2, 4};
  testing::expect_error_containing([&] { open_index(dir.path() / "flat", rerank_only); }, "--rerank-dims needs --shortlist");
}

}  // namespace
}  // namespace garden::retrieval
