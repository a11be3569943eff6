// BM25, garden's side of bench/bm25.py (which runs every side in fresh processes, alternating,
// and checks that all rank the same before comparing times):
//
//   garden_bench_bm25 build COLLECTION INDEX
//       builds garden's Xapian-backed index of the BEIR collection's corpus.jsonl (reading the
//       JSONL included): {"docs", "build_seconds", "disk_bytes", "peak_rss_bytes"}
//   garden_bench_bm25 search COLLECTION INDEX REPEATS
//       opens the index (timed; its size in memory: resident growth), times every query of
//       queries.jsonl REPEATS times at top 100, and returns each query's top 100:
//       {"ram_bytes", "open_seconds", "latencies_ms", "runs": {query id: [[doc id, score], ...]},
//        "peak_rss_bytes"}
#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/collection.h"

#include "peers/process_stats.h"

namespace {

namespace fs = std::filesystem;

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "build" && argc == 4) || (mode == "search" && argc == 5))) {
    fmt::print(stderr, "usage: garden_bench_bm25 build COLLECTION INDEX | search COLLECTION INDEX REPEATS\n");
    return 2;
  }
  try {
    const fs::path collection = argv[2], index_dir = argv[3];
    if (mode == "build") {
      const auto start = std::chrono::steady_clock::now();
      garden::retrieval::build_bm25_index(collection, index_dir, {});
      const double seconds = bench::seconds_since(start);
      const garden::retrieval::Bm25Index index(index_dir);
      fmt::print("{}\n", garden::Json{{"docs", index.manifest().at("documents")}, {"build_seconds", seconds}, {"disk_bytes", bench::bytes_on_disk(index_dir)},
                                      {"peak_rss_bytes", bench::peak_resident_bytes()}}
                             .dump());
      return 0;
    }
    const int repeats = std::atoi(argv[4]);
    const auto queries = garden::retrieval::read_beir_collection(collection).queries;
    const int64_t before = bench::resident_bytes();
    const auto opening = std::chrono::steady_clock::now();
    const garden::retrieval::Bm25Index index(index_dir);
    const double open_seconds = bench::seconds_since(opening);
    const int64_t ram = bench::resident_bytes() - before;
    std::vector<double> latencies;
    for (int r = 0; r < repeats; ++r)
      for (const auto& q : queries) {
        const auto start = std::chrono::steady_clock::now();
        index.search(q.text, 100);
        latencies.push_back(1000 * bench::seconds_since(start));
      }
    garden::Json runs = garden::Json::object();
    for (const auto& q : queries) {
      garden::Json hits = garden::Json::array();
      for (const auto& hit : index.search(q.text, 100)) hits.push_back({hit.doc_id, hit.score});
      runs[q.id] = hits;
    }
    fmt::print("{}\n", garden::Json{{"ram_bytes", ram}, {"open_seconds", open_seconds}, {"latencies_ms", latencies}, {"runs", runs}, {"peak_rss_bytes", bench::peak_resident_bytes()}}
                           .dump());
  } catch (const std::exception& e) {
    fmt::print(stderr, "garden_bench_bm25 {}: {}\n", mode, e.what());
    return 1;
  }
  return 0;
}
