// Approximate nearest-neighbour search: recall@10 against queries/s over an efSearch sweep,
// for garden's `hnsw` index (hnswlib compiled into garden), FAISS's IndexHNSWFlat built
// inside garden (to justify the choice of implementation), and hnswlib's Python binding as
// the peer (bench/peers/ann_peer.py), all measured in this run on the same vectors with
// M=16, efConstruction=200, one thread. Exact top-10 from FAISS's flat index is the truth.
//
// usage: garden_bench_ann [N=100000] [dims=128] [queries=1000] [plot folder=.]
// The recall/throughput curves are also drawn (gnuplot SVG) as ann_<set>.svg.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <fmt/core.h>
#include <omp.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <set>

#include "garden/core/json.h"
#include "garden/repro/report.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/vectors.h"

namespace {

using garden::retrieval::Matrix;

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

Matrix make_vectors(int64_t n, int64_t d, bool clustered, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  Matrix m{n, d, std::vector<float>(static_cast<size_t>(n * d))};
  std::vector<float> centres(static_cast<size_t>(100 * d));
  for (auto& c : centres) c = normal(rng);
  std::uniform_int_distribution<int> pick(0, 99);
  for (int64_t i = 0; i < n; ++i) {
    const int c = pick(rng);
    for (int64_t j = 0; j < d; ++j) m.row(i)[j] = (clustered ? centres[static_cast<size_t>(c * d + j)] : 0.0f) + normal(rng);
  }
  garden::retrieval::normalise_rows(m);
  return m;
}

double recall(const std::vector<std::vector<int64_t>>& got, const std::vector<std::vector<int64_t>>& truth) {
  double hits = 0, total = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    std::set<int64_t> t(truth[q].begin(), truth[q].end());
    for (auto id : got[q]) hits += t.count(id);
    total += static_cast<double>(truth[q].size());
  }
  return hits / total;
}

// One set: truth from the exact flat index, then garden hnsw, FAISS HNSW and the Python
// peer over the efSearch sweep; prints the table and draws the curves.
void run_set(const std::string& name, const std::string& file_name, const Matrix& base, const Matrix& queries,
             const std::filesystem::path& dir, const std::filesystem::path& plot_dir) {
  const int64_t n = base.rows, d = base.cols, nq = queries.rows, k = 10;
  // At 100k Gaussian vectors recall@10 reaches 0.95 only beyond efSearch 512.
  const std::vector<int64_t> efs = {16, 32, 64, 128, 256, 512, 1024, 2048};
  // Truth from the exact flat index.
  faiss::IndexFlatIP flat(d);
  flat.add(n, base.data.data());
  std::vector<float> distances(static_cast<size_t>(nq * k));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(nq * k));
  auto start = std::chrono::steady_clock::now();
  flat.search(nq, queries.data.data(), k, distances.data(), labels.data());
  const double flat_qps = static_cast<double>(nq) / since(start);
  std::vector<std::vector<int64_t>> truth(static_cast<size_t>(nq));
  Matrix truth_matrix{nq, k, {}};
  for (int64_t q = 0; q < nq; ++q)
    for (int64_t j = 0; j < k; ++j) {
      truth[static_cast<size_t>(q)].push_back(labels[static_cast<size_t>(q * k + j)]);
      truth_matrix.data.push_back(static_cast<float>(labels[static_cast<size_t>(q * k + j)]));
    }
  garden::retrieval::write_npy(dir / "base.npy", base);
  garden::retrieval::write_npy(dir / "queries.npy", queries);

  // garden hnsw (hnswlib inside garden).
  garden::retrieval::DenseOptions options;
  options.kind = "hnsw";
  options.metric = "ip";
  std::vector<std::string> ids(static_cast<size_t>(n), "x");
  start = std::chrono::steady_clock::now();
  garden::retrieval::build_dense_index(base, ids, dir / "hnsw", options, garden::Json::object());
  const double garden_build = since(start);
  garden::retrieval::DenseIndex index(dir / "hnsw");

  // FAISS HNSW with the same parameters.
  faiss::IndexHNSWFlat faiss_hnsw(static_cast<int>(d), 16, faiss::METRIC_INNER_PRODUCT);
  faiss_hnsw.hnsw.efConstruction = 200;
  start = std::chrono::steady_clock::now();
  faiss_hnsw.add(n, base.data.data());
  const double faiss_build = since(start);

  // The peer reads the true ids from a float32 .npy (exact for ids below 2^24).
  garden::retrieval::write_npy(dir / "truth.npy", truth_matrix);
  std::string ef_list;
  for (int64_t ef : efs) {
    if (!ef_list.empty()) ef_list += ',';
    ef_list += std::to_string(ef);
  }
  const std::string command =
      fmt::format("/usr/bin/python3 {}/ann_peer.py --base {} --queries {} --truth {} --efs {}", GARDEN_PEER_DIR,
                  (dir / "base.npy").string(), (dir / "queries.npy").string(), (dir / "truth.npy").string(), ef_list);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string peer_out;
  std::array<char, 4096> buffer{};
  while (pipe && std::fgets(buffer.data(), buffer.size(), pipe.get())) peer_out += buffer.data();
  garden::Json peer;
  try {
    peer = garden::Json::parse(peer_out);
  } catch (const std::exception&) {
    fmt::print(stderr, "peer failed (python3-hnswlib installed?): {}\n", peer_out);
  }

  fmt::print("\n{} vectors: flat (exact) {:.0f} q/s; build s: garden hnsw {:.1f}, FAISS HNSW {:.1f}, hnswlib-Python {:.1f}\n",
             name, flat_qps, garden_build, faiss_build, peer.value("build_seconds", 0.0));
  fmt::print("| efSearch | garden recall@10 | garden q/s | hnswlib-Python recall@10 | hnswlib-Python q/s | garden / Python | FAISS HNSW recall@10 | FAISS HNSW q/s |\n");
  fmt::print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  garden::repro::Plot plot{"ann_" + file_name + ".svg",
                           fmt::format("HNSW, {} {} vectors of d={}, one thread", n, name, d),
                           "recall@10", "queries per second", {{"garden hnsw", {}, {}}, {"hnswlib (Python)", {}, {}}, {"FAISS HNSW", {}, {}}},
                           true};
  for (size_t e = 0; e < efs.size(); ++e) {
    index.set_ef_search(efs[e]);
    // Best of 3 rounds on both sides: the machine is shared and single runs vary by 2x.
    double qps = 0;
    std::vector<std::vector<garden::retrieval::Hit>> hits;
    for (int round = 0; round < 3; ++round) {
      start = std::chrono::steady_clock::now();
      hits = index.search(queries, k);
      qps = std::max(qps, static_cast<double>(nq) / since(start));
    }
    std::vector<std::vector<int64_t>> got;
    for (const auto& h : hits) {
      got.emplace_back();
      for (const auto& x : h) got.back().push_back(x.row);
    }
    faiss_hnsw.hnsw.efSearch = static_cast<int>(std::max(efs[e], k));
    double faiss_qps = 0;
    for (int round = 0; round < 3; ++round) {
      start = std::chrono::steady_clock::now();
      faiss_hnsw.search(nq, queries.data.data(), k, distances.data(), labels.data());
      faiss_qps = std::max(faiss_qps, static_cast<double>(nq) / since(start));
    }
    std::vector<std::vector<int64_t>> faiss_got(static_cast<size_t>(nq));
    for (int64_t q = 0; q < nq; ++q)
      for (int64_t j = 0; j < k; ++j) faiss_got[static_cast<size_t>(q)].push_back(labels[static_cast<size_t>(q * k + j)]);
    double peer_recall = 0, peer_qps = 0;
    if (peer.contains("points")) {
      peer_recall = peer["points"][e]["recall"].get<double>();
      peer_qps = peer["points"][e]["qps"].get<double>();
    }
    plot.series[0].x.push_back(recall(got, truth));
    plot.series[0].y.push_back(qps);
    plot.series[1].x.push_back(peer_recall);
    plot.series[1].y.push_back(peer_qps);
    plot.series[2].x.push_back(recall(faiss_got, truth));
    plot.series[2].y.push_back(faiss_qps);
    fmt::print("| {} | {:.4f} | {:.0f} | {:.4f} | {:.0f} | {:.2f}x | {:.4f} | {:.0f} |\n", efs[e], recall(got, truth), qps, peer_recall,
               peer_qps, peer_qps > 0 ? qps / peer_qps : 0.0, recall(faiss_got, truth), faiss_qps);
    std::fflush(stdout);
  }
  std::filesystem::create_directories(plot_dir);
  if (!garden::repro::render_plot(plot, plot_dir).empty()) fmt::print("plot: {}\n", (plot_dir / plot.file).string());
}

}  // namespace

int main(int argc, char** argv) {
  omp_set_num_threads(1);
  const auto dir = std::filesystem::temp_directory_path() / ("garden-ann-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const bool from_files = argc > 2 && std::string(argv[1]).ends_with(".npy");
  if (from_files) {
    auto base = garden::retrieval::read_vectors(argv[1]), queries = garden::retrieval::read_vectors(argv[2]);
    garden::retrieval::normalise_rows(base);
    garden::retrieval::normalise_rows(queries);
    const std::filesystem::path plot_dir = argc > 3 ? argv[3] : ".";
    const std::string name = argc > 4 ? argv[4] : "embeddings";
    fmt::print("ANN search, {} vectors of d={} from {}, {} queries from {}, k=10, M=16, efConstruction=200, one thread\n",
               base.rows, base.cols, argv[1], queries.rows, argv[2]);
    run_set(name, name, base, queries, dir, plot_dir);
  } else {
    const int64_t n = argc > 1 ? std::atoll(argv[1]) : 100000, d = argc > 2 ? std::atoll(argv[2]) : 128;
    const int64_t nq = argc > 3 ? std::atoll(argv[3]) : 1000;
    const std::filesystem::path plot_dir = argc > 4 ? argv[4] : ".";
    fmt::print("ANN search, {} vectors of d={}, {} queries, k=10, M=16, efConstruction=200, one thread\n", n, d, nq);
    run_set("Gaussian", "gaussian", make_vectors(n, d, false, 1), make_vectors(nq, d, false, 2), dir, plot_dir);
    run_set("clustered", "clustered", make_vectors(n, d, true, 1), make_vectors(nq, d, true, 2), dir, plot_dir);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
