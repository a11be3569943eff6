// Peer of garden's `hnsw` index in bench/ann.py: hnswlib itself, from the same Debian
// headers and compiled with the same flags as garden's dense-index code, used the way its
// README shows (no garden code). Same build (M=16, efConstruction=200, seed 0, points added
// in order, one thread, index saved to a file), same modes and JSON lines as
// `garden_bench_ann garden build|search`, so the two must return identical top-10 lists and
// any gap in time is garden's own overhead.
//
// usage: garden_bench_ann_hnswlib build SET_DIR INDEX
//        garden_bench_ann_hnswlib search SET_DIR INDEX EFS
#include <hnswlib/hnswlib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "process_stats.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr size_t kTop = 10;

struct Vectors {
  size_t rows = 0, cols = 0;
  std::vector<float> data;
};

// A 2-D little-endian float32 .npy in C order (what `garden_bench_ann prepare` writes).
Vectors read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8];
  if (!in.read(magic, 8) || std::string(magic + 1, 5) != "NUMPY") throw std::runtime_error(path.string() + ": not a .npy file");
  size_t header_length = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_length = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_length = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<size_t>(b[3]) << 24);
  }
  std::string header(header_length, ' ');
  in.read(header.data(), static_cast<std::streamsize>(header_length));
  if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path.string() + ": expected C-order float32");
  Vectors v;
  if (std::sscanf(header.c_str() + header.find("'shape': (") + 10, "%zu, %zu", &v.rows, &v.cols) != 2)
    throw std::runtime_error(path.string() + ": expected a 2-D array");
  v.data.resize(v.rows * v.cols);
  if (!in.read(reinterpret_cast<char*>(v.data.data()), static_cast<std::streamsize>(v.data.size() * sizeof(float))))
    throw std::runtime_error(path.string() + ": truncated");
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "build" && argc == 4) || (mode == "search" && argc == 5))) {
    std::cerr << "usage: garden_bench_ann_hnswlib build SET_DIR INDEX\n"
                 "       garden_bench_ann_hnswlib search SET_DIR INDEX EFS\n";
    return 2;
  }
  try {
    const fs::path set = argv[2], file = argv[3];
    if (mode == "build") {
      const auto base = read_npy(set / "base.npy");
      const auto start = std::chrono::steady_clock::now();
      hnswlib::InnerProductSpace space(base.cols);
      hnswlib::HierarchicalNSW<float> graph(&space, base.rows, 16, 200, /*random_seed=*/0);
      for (size_t i = 0; i < base.rows; ++i) graph.addPoint(base.data.data() + i * base.cols, i);
      graph.saveIndex(file.string());
      std::cout << Json{{"build_seconds", bench::seconds_since(start)}, {"disk_bytes", fs::file_size(file)}, {"peak_rss_bytes", bench::peak_resident_bytes()}}.dump()
                << "\n";
      return 0;
    }
    std::vector<size_t> efs;
    std::stringstream list(argv[4]);
    for (std::string item; std::getline(list, item, ',');) efs.push_back(std::stoul(item));
    const auto queries = read_npy(set / "queries.npy");
    hnswlib::InnerProductSpace space(queries.cols);
    const int64_t before = bench::resident_bytes();
    hnswlib::HierarchicalNSW<float> index(&space, file.string());
    Json out{{"ram_bytes", bench::resident_bytes() - before}};
    auto search = [&](size_t ef) {
      index.setEf(std::max(ef, kTop));
      std::vector<std::vector<size_t>> top(queries.rows);
      for (size_t q = 0; q < queries.rows; ++q) {
        auto heap = index.searchKnn(queries.data.data() + q * queries.cols, kTop);
        auto& ids = top[q];
        while (!heap.empty()) {  // worst first
          ids.push_back(heap.top().second);
          heap.pop();
        }
        std::reverse(ids.begin(), ids.end());
      }
      return top;
    };
    Json points = Json::array();
    for (size_t ef : efs) {
      search(ef);  // warm-up, as every side does
      const auto start = std::chrono::steady_clock::now();
      const auto ids = search(ef);
      points.push_back({{"ef", ef}, {"seconds", bench::seconds_since(start)}, {"ids", ids}});
    }
    out["points"] = points;
    out["peak_rss_bytes"] = bench::peak_resident_bytes();
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "garden_bench_ann_hnswlib: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
