// Dense indexes against the plain exhaustive search, vector files, Matryoshka truncation and
// the funnel.
#include "garden/retrieval/dense.h"
#include "garden/retrieval/matryoshka_funnel.h"

#include <gtest/gtest.h>

#include <random>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden::retrieval {
namespace {

// Gaussian clusters: realistic for embeddings and hard enough for approximate indexes.
Matrix clustered(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  std::vector<std::vector<float>> centres(20, std::vector<float>(static_cast<size_t>(cols)));
  for (auto& c : centres)
    for (auto& v : c) v = normal(rng);
  Matrix m{rows, cols, std::vector<float>(static_cast<size_t>(rows * cols))};
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) m.row(i)[j] = centres[static_cast<size_t>(i) % 20][static_cast<size_t>(j)] + 0.5f * normal(rng);
  return m;
}

std::vector<std::string> row_ids(int64_t n) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(std::string("d").append(std::to_string(i)));
  return ids;
}

double recall_at_k(const std::vector<std::vector<Hit>>& got, const std::vector<std::vector<Hit>>& truth) {
  double found = 0, total = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    for (const auto& t : truth[q]) {
      total += 1;
      for (const auto& g : got[q]) found += g.row == t.row;
    }
  }
  return found / total;
}

TEST(Vectors, NpyAndFvecsRoundTripAndErrors) {
  testing::TempDir dir;
  Matrix m = clustered(5, 3, 1);
  write_npy(dir.path() / "v.npy", m);
  auto back = read_vectors(dir.path() / "v.npy");
  EXPECT_EQ(back.rows, 5);
  EXPECT_EQ(back.cols, 3);
  EXPECT_EQ(back.data, m.data);
  std::string fvecs;
  for (int64_t i = 0; i < m.rows; ++i) {
    int32_t d = 3;
    fvecs.append(reinterpret_cast<const char*>(&d), 4).append(reinterpret_cast<const char*>(m.row(i)), 12);
  }
  write_file_atomic(dir.path() / "v.fvecs", fvecs);
  EXPECT_EQ(read_vectors(dir.path() / "v.fvecs").data, m.data);
  write_file_atomic(dir.path() / "cut.fvecs", fvecs.substr(0, fvecs.size() - 2));
  testing::expect_error_containing([&] { read_vectors(dir.path() / "cut.fvecs"); }, "cut.fvecs: truncated");
  std::string npy = read_file(dir.path() / "v.npy");
  write_file_atomic(dir.path() / "short.npy", npy.substr(0, npy.size() - 4));
  testing::expect_error_containing([&] { read_vectors(dir.path() / "short.npy"); }, "short.npy: 56 data bytes, expected 60");
  auto f8 = npy;
  f8.replace(f8.find("<f4"), 3, "<f8");
  write_file_atomic(dir.path() / "f8.npy", f8);
  testing::expect_error_containing([&] { read_vectors(dir.path() / "f8.npy"); }, "must be float32");
}

TEST(DenseIndex, FlatEqualsTheExhaustiveReference) {
  testing::TempDir dir;
  auto base = clustered(400, 16, 2), queries = clustered(20, 16, 3);
  build_dense_index(base, row_ids(400), dir.path() / "flat", {}, Json::object());
  auto got = DenseIndex(dir.path() / "flat").search(queries, 10);
  auto truth = exact_search(truncate_rows(base, 16, true), truncate_rows(queries, 16, true), 10);
  for (size_t q = 0; q < truth.size(); ++q)
    for (size_t r = 0; r < truth[q].size(); ++r) {
      EXPECT_NEAR(got[q][r].score, truth[q][r].score, 1e-5);
      if (r + 1 < truth[q].size() && truth[q][r].score - truth[q][r + 1].score > 1e-5) {
        EXPECT_EQ(got[q][r].row, truth[q][r].row);  // the order is only defined between distinct scores
      }
    }
}

// k below 1 used to reach FAISS's assertion ('k > 0' failed), and a huge k sized the result
// buffers (std::bad_alloc); no more hits exist than documents.
TEST(DenseIndex, RefusesKBelowOneAndCutsAHugeKToTheDocuments) {
  testing::TempDir dir;
  auto base = clustered(30, 8, 2), queries = clustered(2, 8, 3);
  for (const char* kind : {"flat", "hnsw"}) {
    DenseOptions options;
    options.kind = kind;
    build_dense_index(base, row_ids(30), dir.path() / kind, options, Json::object());
    const DenseIndex index(dir.path() / kind);
    for (const int64_t k : {0, -3})
      testing::expect_error_containing([&] { index.search(queries, k); }, "--k must be >= 1, got " + std::to_string(k));
    const auto hits = index.search(queries, int64_t{1} << 50);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].size(), 30u) << kind;
  }
}

// hnswlib ("Index seems to be corrupted") and FAISS (a multi-line assertion) name no file.
TEST(DenseIndex, ADamagedIndexFileIsReportedNamingTheFile) {
  testing::TempDir dir;
  auto base = clustered(30, 8, 2);
  for (const auto& [kind, file] : {std::pair{"flat", "index.faiss"}, std::pair{"hnsw", "index.hnsw"}}) {
    DenseOptions options;
    options.kind = kind;
    build_dense_index(base, row_ids(30), dir.path() / kind, options, Json::object());
    const auto path = dir.path() / kind / file;
    const auto bytes = read_file(path);
    for (const auto& damaged : {bytes.substr(0, bytes.size() / 2), std::string("not an index at all, not even close")}) {
      write_file_atomic(path, damaged);
      try {
        DenseIndex index(dir.path() / kind);
        ADD_FAILURE() << kind << ": a damaged " << file << " was opened";
      } catch (const std::exception& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("cannot read " + path.string() + " (missing or damaged"), std::string::npos) << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      }
    }
  }
}

TEST(DenseIndex, HnswAndIvfPqRecallAgainstFlat) {
  testing::TempDir dir;
  auto base = clustered(3000, 32, 4), queries = clustered(50, 32, 5);
  auto truth = exact_search(truncate_rows(base, 32, true), truncate_rows(queries, 32, true), 10);
  DenseOptions hnsw;
  hnsw.kind = "hnsw";
  build_dense_index(base, row_ids(3000), dir.path() / "hnsw", hnsw, Json::object());
  // HNSW with ef 64 on 3k points: recall@10 is ~1 (hnswlib's own benchmarks); 0.95 leaves room.
  EXPECT_GE(recall_at_k(DenseIndex(dir.path() / "hnsw").search(queries, 10), truth), 0.95);
  DenseOptions ivf;
  ivf.kind = "ivfpq";
  ivf.nlist = 16;
  build_dense_index(base, row_ids(3000), dir.path() / "ivf", ivf, Json::object());
  DenseIndex index(dir.path() / "ivf");
  index.set_nprobe(1);
  const double narrow = recall_at_k(index.search(queries, 10), truth);
  index.set_nprobe(16);
  const double wide = recall_at_k(index.search(queries, 10), truth);
  EXPECT_GT(wide, narrow);  // visiting one list of 16 misses true neighbours that 16 lists find
  EXPECT_GE(wide, 0.5);     // 8-byte PQ codes of 32-d vectors keep about half or more of the true top 10
}

TEST(DenseIndex, MatryoshkaPrefixAndFunnel) {
  testing::TempDir dir;
  auto base = clustered(300, 32, 6), queries = clustered(10, 32, 7);
  DenseOptions prefix;
  prefix.dims = 8;
  build_dense_index(base, row_ids(300), dir.path() / "m8", prefix, Json::object());
  DenseIndex index(dir.path() / "m8");
  // The index searches the first 8 dimensions, re-normalised.
  auto truth8 = exact_search(truncate_rows(base, 8, true), truncate_rows(queries, 8, true), 5);
  auto got8 = index.search(queries, 5);
  for (size_t q = 0; q < truth8.size(); ++q) EXPECT_NEAR(got8[q][0].score, truth8[q][0].score, 1e-5);
  // A funnel whose shortlist is everything equals exact search at the re-rank width.
  auto truth32 = exact_search(truncate_rows(base, 32, true), truncate_rows(queries, 32, true), 5);
  auto funnel = index.funnel(queries, 5, FunnelPlan{{32}, {300}});
  for (size_t q = 0; q < truth32.size(); ++q)
    for (size_t r = 0; r < 5; ++r) EXPECT_NEAR(funnel[q][r].score, truth32[q][r].score, 1e-5);
  testing::expect_error_containing([&] { index.funnel(queries, 5, FunnelPlan{{32}, {3}}); }, "--shortlist lengths must be at least k (5), got 3");
  testing::expect_error_containing([&] { index.funnel(queries, 5, FunnelPlan{{16, 32}, {100}}); }, "one --shortlist length per --rerank-dims");
  testing::expect_error_containing([&] { index.funnel(queries, 5, FunnelPlan{{16, 64}, {100, 50}}); }, "--rerank-dims must be in [1, 32]");
  testing::expect_error_containing([&] { index.funnel(queries, 5, FunnelPlan{{16, 32}, {50, 100}}); }, "must not grow");
  testing::expect_error_containing([&] { index.search(truncate_rows(queries, 16, false), 5); }, "16 dimensions");
}

// The spec's hand case: N=1000, D_s=16, one stage K=200 at D_r=128: 16000 + 25600.
TEST(MatryoshkaFunnel, CountsMultiplyAdds) {
  EXPECT_EQ(funnel_flops(1000, 16, FunnelPlan{{128}, {200}}), 41600);
  EXPECT_EQ(funnel_flops(1000, 8, FunnelPlan{{16, 32, 64, 128}, {200, 100, 50, 25}}), 8000 + 3200 + 3200 + 3200 + 3200);
  EXPECT_EQ(funnel_flops(100, 8, FunnelPlan{{64}, {200}}), 800 + 100 * 64);  // a shortlist cannot exceed the collection
}

TEST(MatryoshkaFunnel, FullWidthOverEverythingIsExactSearch) {
  auto base = clustered(200, 16, 3), queries = clustered(12, 16, 4);
  std::vector<std::vector<Hit>> everything(12);
  for (auto& list : everything)
    for (int64_t i = 0; i < 200; ++i) list.push_back({i, 0});
  const auto truth = exact_search(base, queries, 10);
  const auto got = rerank_cascade(base, queries, everything, FunnelPlan{{16}, {200}}, 10, /*cosine=*/false);
  for (size_t q = 0; q < truth.size(); ++q) {
    ASSERT_EQ(got[q].size(), 10u);
    for (size_t r = 0; r < 10; ++r) EXPECT_EQ(got[q][r].row, truth[q][r].row) << "query " << q << " rank " << r;
  }
}

TEST(MatryoshkaFunnel, StagesCutAndRescoreWithLongerPrefixes) {
  // Row 0 wins on the first coordinate only, row 1 on the first two, row 2 on all four.
  Matrix base{3, 4, {1, -1, -1, -1, 0.8f, 0.8f, -1, -1, 0.5f, 0.5f, 1, 1}};
  Matrix query{1, 4, {1, 1, 1, 1}};
  const std::vector<std::vector<Hit>> all{{{0, 0}, {1, 0}, {2, 0}}};
  EXPECT_EQ(rerank_cascade(base, query, all, FunnelPlan{{1}, {3}}, 1, false)[0][0].row, 0);
  EXPECT_EQ(rerank_cascade(base, query, all, FunnelPlan{{2}, {3}}, 1, false)[0][0].row, 1);
  EXPECT_EQ(rerank_cascade(base, query, all, FunnelPlan{{4}, {3}}, 1, false)[0][0].row, 2);
  // A cut to two candidates after the first stage (row 2 ranks last at width 1) loses row 2.
  const auto cut = rerank_cascade(base, query, all, FunnelPlan{{1, 4}, {3, 2}}, 1, false);
  EXPECT_EQ(cut[0][0].row, 1);
  // Cosine re-normalises each prefix: at width 2, rows 1 and 2 point the same way as the query.
  const auto cosine = rerank_cascade(base, query, all, FunnelPlan{{2}, {3}}, 3, true);
  EXPECT_NEAR(cosine[0][0].score, 1.0, 1e-6);
  EXPECT_NEAR(cosine[0][1].score, 1.0, 1e-6);
  EXPECT_EQ(cosine[0][0].row, 1);  // a tie goes to the lower row
}

}  // namespace
}  // namespace garden::retrieval

namespace garden::retrieval {
namespace {

TEST(IdList, ReadsOneIdALineAndRefusesAnIdGivenTwice) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "ids.txt", "d1\n\nd2\r\nd3\n");
  EXPECT_EQ(read_id_list(dir.path() / "ids.txt"), (std::vector<std::string>{"d1", "d2", "d3"}));
  write_file_atomic(dir.path() / "ids.txt", "d1\nd2\nd1\n");
  testing::expect_error_containing([&] { read_id_list(dir.path() / "ids.txt"); }, "ids.txt:3: document id 'd1' is given twice (first on line 1)");
}

}  // namespace
}  // namespace garden::retrieval
