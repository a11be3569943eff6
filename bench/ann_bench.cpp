// Approximate nearest-neighbour search, garden's side of bench/ann.py (which runs every side
// in fresh processes, alternating, and compares them at equal recall):
//
//   garden_bench_ann prepare DIR [N=20000] [dims=128] [queries=1000]
//       writes DIR/<set>/{base,queries}.npy and truth.json (the exact top-10 of each query
//       from FAISS's flat index) for two sets of unit vectors: Gaussian and clustered.
//   garden_bench_ann prepare-from SET_DIR BASE.npy QUERIES.npy
//       the same for given vectors (.npy or .fvecs), normalised.
//   garden_bench_ann garden build SET_DIR INDEX          garden's `hnsw` index (hnswlib inside garden)
//   garden_bench_ann garden search SET_DIR INDEX EFS
//   garden_bench_ann faiss build|search ...              FAISS's IndexHNSWFlat, as Debian builds it
//
// `build` builds the index of base.npy (M=16, efConstruction=200, one thread) and saves it:
// {"build_seconds", "disk_bytes", "peak_rss_bytes"}. `search`, in a fresh process, loads it (its size in memory:
// resident bytes after loading minus before), runs the queries once to warm up and once timed
// at each efSearch of EFS (comma-separated): {"ram_bytes", "peak_rss_bytes", "points": [{"ef",
// "seconds", "ids": every query's top-10}]}, from which the driver computes recall and checks
// identical results.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>
#include <fmt/core.h>
#include <omp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

#include "garden/core/json.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/vectors.h"

#include "peers/process_stats.h"

namespace {

namespace fs = std::filesystem;
using garden::Json;
using garden::retrieval::Matrix;

constexpr int64_t kTop = 10;

Matrix make_vectors(int64_t n, int64_t d, bool clustered, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  Matrix m{n, d, std::vector<float>(static_cast<size_t>(n * d))};
  std::vector<float> centres(static_cast<size_t>(100 * d));
  std::mt19937_64 centre_rng(7);  // the same centres for base and queries
  for (auto& c : centres) c = normal(centre_rng);
  std::uniform_int_distribution<int> pick(0, 99);
  for (int64_t i = 0; i < n; ++i) {
    const int c = pick(rng);
    for (int64_t j = 0; j < d; ++j) m.row(i)[j] = (clustered ? centres[static_cast<size_t>(c * d + j)] : 0.0f) + normal(rng);
  }
  garden::retrieval::normalise_rows(m);
  return m;
}

// SET_DIR/{base,queries}.npy and truth.json: each query's exact top 10 from FAISS's flat index.
void write_set(const fs::path& set, const Matrix& base, const Matrix& queries) {
  fs::create_directories(set);
  const int64_t nq = queries.rows;
  faiss::IndexFlatIP flat(base.cols);
  flat.add(base.rows, base.data.data());
  std::vector<float> scores(static_cast<size_t>(nq * kTop));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(nq * kTop));
  flat.search(nq, queries.data.data(), kTop, scores.data(), labels.data());
  Json truth = Json::array();
  for (int64_t q = 0; q < nq; ++q) truth.push_back(std::vector<int64_t>(labels.begin() + q * kTop, labels.begin() + (q + 1) * kTop));
  garden::retrieval::write_npy(set / "base.npy", base);
  garden::retrieval::write_npy(set / "queries.npy", queries);
  std::ofstream(set / "truth.json") << truth.dump() << "\n";
}

void prepare(const fs::path& dir, int64_t n, int64_t d, int64_t nq) {
  for (const bool clustered : {false, true})
    write_set(dir / (clustered ? "clustered" : "gaussian"), make_vectors(n, d, clustered, 1), make_vectors(nq, d, clustered, 2));
}

// A set from given vectors (e.g. a collection embedded by `garden embed encode`), normalised
// so that inner product is cosine.
void prepare_from(const fs::path& set, const fs::path& base_file, const fs::path& queries_file) {
  auto base = garden::retrieval::read_vectors(base_file), queries = garden::retrieval::read_vectors(queries_file);
  if (base.cols != queries.cols)
    throw std::runtime_error(fmt::format("{} has {} dimensions, {} has {}", base_file.string(), base.cols, queries_file.string(), queries.cols));
  if (base.rows < kTop) throw std::runtime_error(base_file.string() + " has fewer than 10 vectors");
  garden::retrieval::normalise_rows(base);
  garden::retrieval::normalise_rows(queries);
  write_set(set, base, queries);
}

std::vector<int64_t> parse_efs(const std::string& text) {
  std::vector<int64_t> efs;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) efs.push_back(std::stoll(item));
  if (efs.empty()) throw std::runtime_error("empty efSearch list");
  return efs;
}

// What every side reports; `search(ef)` returns each query's top-10 ids.
template <typename Search>
Json sweep(const std::vector<int64_t>& efs, Search search) {
  Json points = Json::array();
  for (int64_t ef : efs) {
    search(ef);  // warm-up: the index's pages and the visited-list pool
    const auto start = std::chrono::steady_clock::now();
    const auto ids = search(ef);
    points.push_back({{"ef", ef}, {"seconds", bench::seconds_since(start)}, {"ids", ids}});
  }
  return points;
}

Json build_garden(const fs::path& set, const fs::path& index) {
  const auto base = garden::retrieval::read_vectors(set / "base.npy");
  garden::retrieval::DenseOptions options;
  options.kind = "hnsw";
  options.metric = "ip";
  const std::vector<std::string> ids(static_cast<size_t>(base.rows), "x");
  const auto start = std::chrono::steady_clock::now();
  garden::retrieval::build_dense_index(base, ids, index, options, Json::object());
  return {{"build_seconds", bench::seconds_since(start)}, {"disk_bytes", bench::bytes_on_disk(index)}, {"peak_rss_bytes", bench::peak_resident_bytes()}};
}

Json build_faiss(const fs::path& set, const fs::path& index) {
  const auto base = garden::retrieval::read_vectors(set / "base.npy");
  const auto start = std::chrono::steady_clock::now();
  faiss::IndexHNSWFlat hnsw(static_cast<int>(base.cols), 16, faiss::METRIC_INNER_PRODUCT);
  hnsw.hnsw.efConstruction = 200;
  hnsw.add(base.rows, base.data.data());
  faiss::write_index(&hnsw, index.c_str());
  return {{"build_seconds", bench::seconds_since(start)}, {"disk_bytes", bench::bytes_on_disk(index)}, {"peak_rss_bytes", bench::peak_resident_bytes()}};
}

// Loads the index (its size in memory: resident bytes after loading minus before, in this
// fresh process) and sweeps efSearch.
Json search_garden(const fs::path& set, const fs::path& index_dir, const std::vector<int64_t>& efs) {
  const auto queries = garden::retrieval::read_vectors(set / "queries.npy");
  const int64_t before = bench::resident_bytes();
  garden::retrieval::DenseIndex index(index_dir);
  Json out{{"ram_bytes", bench::resident_bytes() - before}};
  out["points"] = sweep(efs, [&](int64_t ef) {
    index.set_ef_search(ef);
    std::vector<std::vector<int64_t>> top;
    for (const auto& hits : index.search(queries, kTop)) {
      top.emplace_back();
      for (const auto& hit : hits) top.back().push_back(hit.row);
    }
    return top;
  });
  out["peak_rss_bytes"] = bench::peak_resident_bytes();
  return out;
}

Json search_faiss(const fs::path& set, const fs::path& file, const std::vector<int64_t>& efs) {
  const auto queries = garden::retrieval::read_vectors(set / "queries.npy");
  const int64_t before = bench::resident_bytes();
  std::unique_ptr<faiss::Index> loaded(faiss::read_index(file.c_str()));
  auto* index = dynamic_cast<faiss::IndexHNSW*>(loaded.get());
  if (!index) throw std::runtime_error(file.string() + " is not a FAISS HNSW index");
  Json out{{"ram_bytes", bench::resident_bytes() - before}};
  const int64_t nq = queries.rows;
  std::vector<float> scores(static_cast<size_t>(nq * kTop));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(nq * kTop));
  out["points"] = sweep(efs, [&](int64_t ef) {
    index->hnsw.efSearch = static_cast<int>(std::max(ef, kTop));
    index->search(nq, queries.data.data(), kTop, scores.data(), labels.data());
    std::vector<std::vector<int64_t>> top(static_cast<size_t>(nq));
    for (int64_t q = 0; q < nq; ++q) top[static_cast<size_t>(q)].assign(labels.begin() + q * kTop, labels.begin() + (q + 1) * kTop);
    return top;
  });
  out["peak_rss_bytes"] = bench::peak_resident_bytes();
  return out;
}

int usage() {
  fmt::print(stderr,
             "usage: garden_bench_ann prepare DIR [N=20000] [dims=128] [queries=1000]\n"
             "       garden_bench_ann prepare-from SET_DIR BASE.npy QUERIES.npy\n"
             "       garden_bench_ann garden|faiss build SET_DIR INDEX\n"
             "       garden_bench_ann garden|faiss search SET_DIR INDEX EFS   (EFS: comma-separated efSearch values)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  omp_set_num_threads(1);  // every side builds and searches on one thread
  if (argc < 3) return usage();
  const std::string command = argv[1];
  try {
    if (command == "prepare") {
      const int64_t n = argc > 3 ? std::atoll(argv[3]) : 20000, d = argc > 4 ? std::atoll(argv[4]) : 128;
      const int64_t nq = argc > 5 ? std::atoll(argv[5]) : 1000;
      if (n < kTop || d < 1 || nq < 1) return usage();
      prepare(argv[2], n, d, nq);
      return 0;
    }
    if (command == "prepare-from") {
      if (argc != 5) return usage();
      prepare_from(argv[2], argv[3], argv[4]);
      return 0;
    }
    if (command != "garden" && command != "faiss") return usage();
    const std::string mode = argv[2];
    const bool garden_side = command == "garden";
    if (mode == "build" && argc == 5) {
      fmt::print("{}\n", (garden_side ? build_garden(argv[3], argv[4]) : build_faiss(argv[3], argv[4])).dump());
    } else if (mode == "search" && argc == 6) {
      const auto efs = parse_efs(argv[5]);
      fmt::print("{}\n", (garden_side ? search_garden(argv[3], argv[4], efs) : search_faiss(argv[3], argv[4], efs)).dump());
    } else {
      return usage();
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "garden_bench_ann {}: {}\n", command, e.what());
    return 1;
  }
  return 0;
}
