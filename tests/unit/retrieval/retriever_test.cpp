// open_index: the retriever of each kind gives the same run as its index used directly;
// options that do not fit the kind, and folders that are not indexes, are errors.
#include "garden/retrieval/retriever.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "garden/core/files.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/fusion.h"
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

// Exact search over rows named d0, d1, ...
DenseOptions flat_options() {
  DenseOptions flat;
  flat.kind = "flat";
  return flat;
}
std::vector<std::string> row_ids(int64_t rows) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < rows; ++i) ids.push_back(std::string("d").append(std::to_string(i)));
  return ids;
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
  const auto ids = row_ids(50);
  build_dense_index(docs, ids, dir.path() / "flat", flat_options(), Json::object());
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


// score_pairs gives a document the score search gave it: BM25's own, and a dense index's
// cosine over its prefix (here 4 of 8 dimensions).
TEST(OpenIndex, ScorePairsAgreesWithSearch) {
  testing::TempDir dir;
  write_beir_collection(tiny_collection(), dir.path() / "c");
  build_bm25_index(dir.path() / "c", dir.path() / "bm25", {});
  const auto bm25 = open_index(dir.path() / "bm25");
  const auto queries = tiny_collection().queries;
  const auto run = bm25->search(queries, 4);
  for (const auto& q : queries)
    for (const auto& hit : run.at(q.id)) EXPECT_NEAR(*bm25->score_pairs({q}, {hit.doc_id})[0], hit.score, 1e-9);
  const auto unmatched = bm25->score_pairs({queries[0], queries[0]}, {"3", "nowhere"});
  EXPECT_FALSE(unmatched[0].has_value());  // "heat transfer to cones" has no "wing" or "flutter"
  EXPECT_FALSE(unmatched[1].has_value());
  EXPECT_THROW(bm25->score_pairs(queries, {"1"}), Error);  // one document per query

  const Matrix docs = random_rows(4, 8, 5), query_rows = random_rows(2, 8, 6);
  DenseOptions prefix;
  prefix.dims = 4;
  build_dense_index(docs, {"1", "2", "3", "4"}, dir.path() / "flat", prefix, Json::object());
  write_npy(dir.path() / "q.npy", query_rows);
  SearchOptions options;
  options.query_vectors = dir.path() / "q.npy";
  const auto dense = open_index(dir.path() / "flat", options);
  const auto dense_run = dense->search(queries, 4);
  for (size_t rank = 0; rank < 4; ++rank) {
    const auto scores = dense->score_pairs(queries, {dense_run.at("q1")[rank].doc_id, dense_run.at("q2")[rank].doc_id});
    EXPECT_NEAR(*scores[0], dense_run.at("q1")[rank].score, 1e-5);
    EXPECT_NEAR(*scores[1], dense_run.at("q2")[rank].score, 1e-5);
  }
  // By hand for one pair: cosine of the first four dimensions.
  double dot = 0, qq = 0, dd = 0;
  for (int c = 0; c < 4; ++c) {
    dot += query_rows.row(0)[c] * docs.row(2)[c];
    qq += query_rows.row(0)[c] * query_rows.row(0)[c];
    dd += docs.row(2)[c] * docs.row(2)[c];
  }
  EXPECT_NEAR(*dense->score_pairs(queries, {"3", "3"})[0], dot / std::sqrt(qq * dd), 1e-5);
}

// A fusion index searches its members and fuses their runs: the same run as fusing the
// members' runs by hand, also after the folders moved together.
TEST(OpenIndex, FusionIsTheFusedRunOfItsMembers) {
  testing::TempDir dir;
  write_beir_collection(tiny_collection(), dir.path() / "idx" / "c");
  build_bm25_index(dir.path() / "idx" / "c", dir.path() / "idx" / "bm25", {});
  build_dense_index(random_rows(4, 8, 7), {"1", "2", "3", "4"}, dir.path() / "idx" / "flat", DenseOptions{}, Json::object());
  write_npy(dir.path() / "q.npy", random_rows(2, 8, 8));
  FusionOptions rrf;
  rrf.depth = 4;
  build_fusion_index({dir.path() / "idx" / "bm25", dir.path() / "idx" / "flat"}, dir.path() / "idx" / "fused", rrf);
  SearchOptions options;
  options.query_vectors = dir.path() / "q.npy";
  const auto queries = tiny_collection().queries;
  const auto by_hand = reciprocal_rank_fusion({open_index(dir.path() / "idx" / "bm25")->search(queries, 4),
                                               open_index(dir.path() / "idx" / "flat", options)->search(queries, 4)},
                                              60, 3);
  // The documents' text is found through the corpus the (first) member was built from.
  EXPECT_EQ(index_corpus(dir.path() / "idx" / "fused"), dir.path() / "idx" / "c" / "corpus.jsonl");
  EXPECT_TRUE(index_corpus(dir.path() / "idx" / "flat").empty());
  std::filesystem::rename(dir.path() / "idx", dir.path() / "moved");
  const auto fused = open_index(dir.path() / "moved" / "fused", options);
  EXPECT_EQ(fused->kind(), "fusion");
  const auto run = fused->search(queries, 3);
  ASSERT_EQ(run.size(), by_hand.size());
  for (const auto& [q, ranked] : by_hand) {
    ASSERT_EQ(run.at(q).size(), ranked.size());
    for (size_t i = 0; i < ranked.size(); ++i) {
      EXPECT_EQ(run.at(q)[i].doc_id, ranked[i].doc_id);
      EXPECT_DOUBLE_EQ(run.at(q)[i].score, ranked[i].score);
    }
  }
  testing::expect_error_containing([&] { fused->score_pairs(queries, {"1", "2"}); }, "gives no score");
}

TEST(OpenIndex, FusionRefusesTooFewMembersNestingAndBadSettings) {
  testing::TempDir dir;
  write_beir_collection(tiny_collection(), dir.path() / "c");
  build_bm25_index(dir.path() / "c", dir.path() / "a", {});
  build_bm25_index(dir.path() / "c", dir.path() / "b", {});
  testing::expect_error_containing([&] { build_fusion_index({dir.path() / "a"}, dir.path() / "f", {}); }, "two or more");
  FusionOptions weighted;
  weighted.method = "weighted";
  weighted.weights = {1, 2, 3};
  testing::expect_error_containing([&] { build_fusion_index({dir.path() / "a", dir.path() / "b"}, dir.path() / "f", weighted); },
                                   "3 weights for 2");
  FusionOptions unknown;
  unknown.method = "borda";
  testing::expect_error_containing([&] { build_fusion_index({dir.path() / "a", dir.path() / "b"}, dir.path() / "f", unknown); },
                                   "rrf or weighted");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "f"));
  build_fusion_index({dir.path() / "a", dir.path() / "b"}, dir.path() / "f", {});
  testing::expect_error_containing([&] { build_fusion_index({dir.path() / "f", dir.path() / "a"}, dir.path() / "g", {}); },
                                   "itself a fusion");
  testing::expect_error_containing([&] { build_fusion_index({dir.path() / "a", dir.path() / "c"}, dir.path() / "g", {}); },
                                   "no manifest.json");
}


// A corpus whose tie-breaks matter: documents 2 and 5 are the same text, so equal scores
// must fall in corpus order across the shard boundary as they do in one index.
Collection shardable_collection() {
  Collection c;
  c.corpus = {{"1", "", "wing flutter in a wind tunnel"},     {"2", "", "boundary layers on flat plates"},
              {"3", "", "heat transfer to cones in hypersonic flow"}, {"4", "", "shock waves on wedges and wings"},
              {"5", "", "boundary layers on flat plates"},    {"6", "", "flutter of a panel in supersonic flow"},
              {"7", "", "heat of the boundary layer"}};
  c.queries = {{"q1", "wing flutter"}, {"q2", "boundary layers heat"}, {"q3", "flow"}};
  return c;
}

void expect_same_run(const Run& got, const Run& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [q, ranked] : want) {
    ASSERT_EQ(got.at(q).size(), ranked.size()) << q;
    for (size_t i = 0; i < ranked.size(); ++i) {
      EXPECT_EQ(got.at(q)[i].doc_id, ranked[i].doc_id) << q << " rank " << i;
      EXPECT_NEAR(got.at(q)[i].score, ranked[i].score, 1e-9) << q << " rank " << i;
    }
  }
}

// BM25 shards built by rank (2 and 3 of them) searched as one give the unsharded index's run,
// scores included (one document count, document frequencies and average length), and the
// same score for a given document.
TEST(ShardIndex, Bm25ShardsRankAsOneIndex) {
  testing::TempDir dir;
  write_beir_collection(shardable_collection(), dir.path() / "c");
  build_bm25_index(dir.path() / "c", dir.path() / "full", {}, false);
  const auto queries = shardable_collection().queries;
  const auto want = open_index(dir.path() / "full")->search(queries, 7);
  for (int64_t count : {2, 3}) {
    std::vector<std::filesystem::path> members;
    for (int64_t rank = 0; rank < count; ++rank) {
      members.push_back(dir.path() / fmt::format("s{}-{}", count, rank));
      build_bm25_index(dir.path() / "c", members.back(), {}, false, ShardSpec{rank, count});
    }
    EXPECT_EQ(Bm25Index(members[0]).manifest().at("documents"), rank_share(7, 0, count).second);
    build_shard_index(members, dir.path() / fmt::format("sharded{}", count));
    const auto sharded = open_index(dir.path() / fmt::format("sharded{}", count));
    EXPECT_EQ(sharded->kind(), "bm25");
    expect_same_run(sharded->search(queries, 7), want);
    for (const auto& hit : want.at("q2")) EXPECT_NEAR(*sharded->score_pairs({queries[1]}, {hit.doc_id})[0], hit.score, 1e-9);
  }
  // The whole collection twice is no sharding: every document would be found twice.
  build_shard_index({dir.path() / "full", dir.path() / "s2-0"}, dir.path() / "overlapping");
  testing::expect_error_containing([&] { open_index(dir.path() / "overlapping"); }, "is in two of them");
  testing::expect_error_containing([&] { build_shard_index({dir.path() / "s2-0", dir.path() / "s2-0"}, dir.path() / "twice"); }, "given twice");
}

// Dense shards (the rows of one matrix split in two flat indexes) searched as one: the
// unsharded flat index's run; shards that cannot share a scale are refused.
TEST(ShardIndex, DenseShardsMergeByScore) {
  testing::TempDir dir;
  const Matrix docs = random_rows(40, 6, 11), queries = random_rows(3, 6, 12);
  const DenseOptions flat = flat_options();
  const auto ids = row_ids(40);
  build_dense_index(docs, ids, dir.path() / "full", flat, Json::object());
  std::vector<std::filesystem::path> members;
  for (int64_t rank = 0; rank < 2; ++rank) {
    const auto [first, last] = rank_share(40, rank, 2);
    Matrix part{last - first, 6, std::vector<float>(docs.row(first), docs.row(last))};
    members.push_back(dir.path() / fmt::format("s{}", rank));
    build_dense_index(part, std::vector<std::string>(ids.begin() + first, ids.begin() + last), members.back(), flat, Json::object());
  }
  build_shard_index(members, dir.path() / "sharded");
  write_npy(dir.path() / "q.npy", queries);
  SearchOptions options;
  options.query_vectors = dir.path() / "q.npy";
  const std::vector<Query> qs = {{"a", ""}, {"b", ""}, {"c", ""}};
  const auto sharded = open_index(dir.path() / "sharded", options);
  EXPECT_EQ(sharded->kind(), "shards");
  expect_same_run(sharded->search(qs, 10), open_index(dir.path() / "full", options)->search(qs, 10));

  build_bm25_index([&] {
    write_beir_collection(shardable_collection(), dir.path() / "c");
    return dir.path() / "c";
  }(), dir.path() / "bm25", {}, false);
  testing::expect_error_containing([&] { build_shard_index({members[0], dir.path() / "bm25"}, dir.path() / "mixed"); }, "does not match");
  build_dense_index(random_rows(5, 4, 1), {"x1", "x2", "x3", "x4", "x5"}, dir.path() / "narrow", flat, Json::object());
  testing::expect_error_containing([&] { build_shard_index({members[0], dir.path() / "narrow"}, dir.path() / "mixed"); }, "does not match");
  testing::expect_error_containing([&] { build_shard_index({members[0], dir.path() / "full"}, dir.path() / "mixed"); }, "shards must not overlap");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "mixed"));
}

}  // namespace
}  // namespace garden::retrieval
