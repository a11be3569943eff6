// Peer of garden's BM25 index in bench/bm25.py: the same Okapi BM25 (k1 0.9, b 0.4; tokens =
// lower-case [a-z0-9]+ runs; a document is title + " " + text; idf log(1 + (N - df + 0.5) /
// (df + 0.5)); query tokens counted with repetition) as the plainest fast C++ there is: an
// in-memory inverted index, every posting of every query term added into a dense score array,
// then a partial sort of the touched documents. No garden code; compiled with the same flags.
//
// usage: garden_bench_bm25_peer build COLLECTION          {"docs", "build_seconds", "peak_rss_bytes"}
//        garden_bench_bm25_peer search COLLECTION REPEATS  {"ram_bytes", "open_seconds", "latencies_ms", "runs", "peak_rss_bytes"}
// `search` builds the index again (its opening: timed; its size in memory: the resident growth), then
// times every query of queries.jsonl REPEATS times and returns each query's top 100.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "process_stats.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr double kK1 = 0.9, kB = 0.4;
constexpr size_t kTop = 100;

std::vector<std::string> tokens(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char raw : text) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      current += c;
    } else if (!current.empty()) {
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

struct Index {
  std::vector<std::string> ids;
  std::vector<uint32_t> lengths;
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> postings;  // term -> (doc, tf)
  double average_length = 1;

  explicit Index(const fs::path& collection) {
    std::ifstream in(collection / "corpus.jsonl");
    if (!in) throw std::runtime_error((collection / "corpus.jsonl").string() + ": cannot read");
    uint64_t total = 0;
    std::unordered_map<std::string, uint32_t> counts;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto doc = Json::parse(line);
      const std::string title = doc.value("title", "");
      const auto doc_tokens = tokens((title.empty() ? "" : title + " ") + doc.at("text").get<std::string>());
      const auto d = static_cast<uint32_t>(ids.size());
      ids.push_back(doc.at("_id").get<std::string>());
      lengths.push_back(static_cast<uint32_t>(doc_tokens.size()));
      total += doc_tokens.size();
      counts.clear();
      for (const auto& t : doc_tokens) ++counts[t];
      for (const auto& [t, tf] : counts) postings[t].emplace_back(d, tf);
    }
    if (!ids.empty() && total > 0) average_length = static_cast<double>(total) / static_cast<double>(ids.size());
  }

  std::vector<std::pair<uint32_t, double>> search(const std::string& query, std::vector<double>& scores,
                                                  std::vector<uint32_t>& touched) const {
    const double n = static_cast<double>(ids.size());
    for (const auto& t : tokens(query)) {
      const auto it = postings.find(t);
      if (it == postings.end()) continue;
      const double df = static_cast<double>(it->second.size());
      const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
      for (const auto& [d, tf_count] : it->second) {
        const double tf = tf_count;
        if (scores[d] == 0) touched.push_back(d);
        scores[d] += idf * tf * (kK1 + 1) / (tf + kK1 * (1 - kB + kB * lengths[d] / average_length));
      }
    }
    std::vector<std::pair<uint32_t, double>> hits;
    hits.reserve(touched.size());
    for (uint32_t d : touched) {
      hits.emplace_back(d, scores[d]);
      scores[d] = 0;
    }
    touched.clear();
    const size_t k = std::min(kTop, hits.size());
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(k), hits.end(),
                      [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
    hits.resize(k);
    return hits;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "build" && argc == 3) || (mode == "search" && argc == 4))) {
    std::cerr << "usage: garden_bench_bm25_peer build COLLECTION | search COLLECTION REPEATS\n";
    return 2;
  }
  try {
    const fs::path collection = argv[2];
    if (mode == "build") {
      const auto start = std::chrono::steady_clock::now();
      const Index index(collection);
      std::cout << Json{{"docs", index.ids.size()}, {"build_seconds", bench::seconds_since(start)}, {"peak_rss_bytes", bench::peak_resident_bytes()}}.dump()
                << "\n";
      return 0;
    }
    const int repeats = std::stoi(argv[3]);
    std::vector<std::pair<std::string, std::string>> queries;
    std::ifstream in(collection / "queries.jsonl");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) {
        const auto q = Json::parse(line);
        queries.emplace_back(q.at("_id").get<std::string>(), q.at("text").get<std::string>());
      }
    const int64_t before = bench::resident_bytes();
    const auto opening = std::chrono::steady_clock::now();
    const Index index(collection);
    const double open_seconds = bench::seconds_since(opening);
    const int64_t ram = bench::resident_bytes() - before;
    std::vector<double> scores(index.ids.size(), 0.0);
    std::vector<uint32_t> touched;
    std::vector<double> latencies;
    for (int r = 0; r < repeats; ++r)
      for (const auto& q : queries) {
        const auto start = std::chrono::steady_clock::now();
        index.search(q.second, scores, touched);
        latencies.push_back(1000 * bench::seconds_since(start));
      }
    Json runs = Json::object();
    for (const auto& q : queries) {
      Json hits = Json::array();
      for (const auto& [d, score] : index.search(q.second, scores, touched)) hits.push_back({index.ids[d], score});
      runs[q.first] = hits;
    }
    std::cout << Json{{"ram_bytes", ram}, {"open_seconds", open_seconds}, {"latencies_ms", latencies}, {"runs", runs}, {"peak_rss_bytes", bench::peak_resident_bytes()}}.dump()
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "garden_bench_bm25_peer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
