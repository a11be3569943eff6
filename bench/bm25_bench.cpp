// BM25: index build throughput (documents/s, reading the JSONL included) and top-100 query
// latency (p50/p99 over every query of the collection, repeated), garden's Xapian-backed
// index against the same BM25 as a plain Python inverted index (bench/peers/bm25_peer.py),
// both measured in this run. Before the timings count, both must rank the same: for every
// query the same top-100 scores (to 1e-5 relative) and the same documents above the 100th
// score (documents tied at the cut may differ).
//
// usage: garden_bench_bm25 [collection folder, default $GARDEN_DATA/npl] [repeats=10]
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "garden/core/json.h"
#include "garden/retrieval/bm25.h"

namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path collection;
  if (argc > 1) collection = argv[1];
  else if (const char* root = std::getenv("GARDEN_DATA")) collection = std::filesystem::path(root) / "npl";
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 10;
  if (collection.empty() || !std::filesystem::exists(collection / "corpus.jsonl")) {
    fmt::print(stderr, "give a BEIR collection folder, or set GARDEN_DATA to a root holding npl/\n");
    return 2;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("garden-bm25-bench-" + std::to_string(::getpid()));
  auto start = std::chrono::steady_clock::now();
  garden::retrieval::build_bm25_index(collection, dir, {});
  const double build = since(start);
  const auto c = garden::retrieval::read_beir_collection(collection);
  garden::retrieval::Bm25Index index(dir);
  std::vector<double> latencies;
  for (int r = 0; r < repeats; ++r)
    for (const auto& q : c.queries) {
      start = std::chrono::steady_clock::now();
      index.search(q.text, 100);
      latencies.push_back(since(start));
    }
  std::sort(latencies.begin(), latencies.end());
  const double p50 = 1000 * latencies[latencies.size() / 2];
  const double p99 = 1000 * latencies[std::min(latencies.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(latencies.size())))];
  std::map<std::string, std::vector<garden::retrieval::ScoredDoc>> ours;
  for (const auto& q : c.queries) ours[q.id] = index.search(q.text, 100);
  std::filesystem::remove_all(dir);

  const std::string command =
      fmt::format("/usr/bin/python3 {}/bm25_peer.py --collection {} --repeats {}", GARDEN_PEER_DIR, collection.string(), repeats);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string out;
  std::array<char, 65536> buffer{};
  while (pipe && std::fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
  garden::Json peer = garden::Json::object();
  try {
    peer = garden::Json::parse(out);
  } catch (const std::exception&) {
    fmt::print(stderr, "peer failed: {}\n", out);
  }
  const double peer_docs = peer.value("docs_per_second", 0.0), peer_p50 = peer.value("p50_ms", 0.0), peer_p99 = peer.value("p99_ms", 0.0);
  const double docs_per_second = static_cast<double>(c.corpus.size()) / build;
  // The same ranking: scores position by position, and the documents strictly above the
  // last score as sets (ties at the cut may be broken differently).
  int64_t same = 0;
  std::string first_difference;
  for (const auto& q : c.queries) {
    const auto& mine = ours[q.id];
    const auto theirs = peer.contains("runs") ? peer["runs"].value(q.id, garden::Json::array()) : garden::Json::array();
    bool equal = mine.size() == theirs.size();
    for (size_t i = 0; equal && i < mine.size(); ++i)
      equal = std::abs(mine[i].score - theirs[i][1].get<double>()) <= 1e-5 * std::max(1.0, std::abs(mine[i].score));
    if (equal && !mine.empty()) {
      const double cut = mine.back().score;
      std::set<std::string> above_mine, above_theirs;
      for (size_t i = 0; i < mine.size(); ++i) {
        if (mine[i].score > cut + 1e-5) above_mine.insert(mine[i].doc_id);
        if (theirs[i][1].get<double>() > cut + 1e-5) above_theirs.insert(theirs[i][0].get<std::string>());
      }
      equal = above_mine == above_theirs;
    }
    if (equal) ++same;
    else if (first_difference.empty()) first_difference = q.id;
  }
  fmt::print("BM25 on {} ({} documents, {} queries x {} repeats, top 100)\n", c.name, c.corpus.size(), c.queries.size(), repeats);
  fmt::print("same top 100 as the peer (scores to 1e-5, documents above the cut): {} of {} queries{}\n\n", same,
             c.queries.size(), first_difference.empty() ? "" : " (first difference: query " + first_difference + ")");
  fmt::print("| measure | garden | Python | garden advantage |\n| --- | ---: | ---: | ---: |\n");
  fmt::print("| index build, docs/s | {:.0f} | {:.0f} | {:.2f}x |\n", docs_per_second, peer_docs, peer_docs > 0 ? docs_per_second / peer_docs : 0.0);
  fmt::print("| query latency p50, ms | {:.3f} | {:.3f} | {:.2f}x |\n", p50, peer_p50, p50 > 0 ? peer_p50 / p50 : 0.0);
  fmt::print("| query latency p99, ms | {:.3f} | {:.3f} | {:.2f}x |\n", p99, peer_p99, p99 > 0 ? peer_p99 / p99 : 0.0);
  return same == static_cast<int64_t>(c.queries.size()) ? 0 : 1;
}
