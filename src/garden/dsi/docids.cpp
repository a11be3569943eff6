#include "garden/dsi/docids.h"

#include <fmt/core.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/eval/clustering.h"
#include "garden/retrieval/bm25.h"

namespace garden::dsi {

DocidScheme parse_docid_scheme(const std::string& name) {
  if (name == "atomic") return DocidScheme::atomic;
  if (name == "naive") return DocidScheme::naive;
  if (name == "semantic") return DocidScheme::semantic;
  usage_error(fmt::format("--scheme must be atomic, naive or semantic, got '{}'", name));
}

std::string to_string(DocidScheme scheme) {
  switch (scheme) {
    case DocidScheme::atomic: return "atomic";
    case DocidScheme::naive: return "naive";
    case DocidScheme::semantic: return "semantic";
  }
  return "?";
}

int64_t DocidMap::document_of(const Docid& docid) const {
  if (index_.size() != docids.size()) {
    index_.clear();
    for (size_t i = 0; i < docids.size(); ++i) index_[docids[i]] = static_cast<int64_t>(i);
  }
  const auto found = index_.find(docid);
  return found == index_.end() ? -1 : found->second;
}

int64_t DocidMap::max_length() const {
  size_t longest = 0;
  for (const auto& d : docids) longest = std::max(longest, d.size());
  return static_cast<int64_t>(longest);
}

void DocidMap::validate() const {
  if (docids.size() != doc_ids.size() || docids.empty())
    throw Error(fmt::format("docid map: {} docids for {} documents", docids.size(), doc_ids.size()));
  if (symbols < 1) throw Error("docid map: no docid symbols");
  std::set<Docid> seen;
  std::set<std::string> seen_docs;
  for (size_t i = 0; i < docids.size(); ++i) {
    if (docids[i].empty()) throw Error(fmt::format("docid map: document {} has an empty docid", doc_ids[i]));
    for (const int64_t s : docids[i])
      if (s < 0 || s >= symbols) throw Error(fmt::format("docid map: document {} has symbol {} outside 0..{}", doc_ids[i], s, symbols - 1));
    if (!seen.insert(docids[i]).second) throw Error(fmt::format("docid map: document {} shares its docid with another", doc_ids[i]));
    if (!seen_docs.insert(doc_ids[i]).second) throw Error(fmt::format("docid map: document {} is listed twice", doc_ids[i]));
  }
}

namespace {

std::vector<int64_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed ^ 0xd0c1dULL);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

}  // namespace

DocidMap atomic_docids(const std::vector<std::string>& doc_ids, uint64_t seed) {
  DocidMap map;
  map.scheme = DocidScheme::atomic;
  map.symbols = static_cast<int64_t>(doc_ids.size());
  map.doc_ids = doc_ids;
  for (const int64_t number : seeded_permutation(doc_ids.size(), seed)) map.docids.push_back({number});
  map.validate();
  return map;
}

DocidMap naive_docids(const std::vector<std::string>& doc_ids, uint64_t seed) {
  DocidMap map;
  map.scheme = DocidScheme::naive;
  map.symbols = 10;
  map.doc_ids = doc_ids;
  for (const int64_t number : seeded_permutation(doc_ids.size(), seed)) {
    Docid digits;
    for (const char ch : std::to_string(number)) digits.push_back(ch - '0');
    map.docids.push_back(std::move(digits));
  }
  map.validate();
  return map;
}

void SemanticOptions::validate() const {
  if (k < 2 || k > 1000) usage_error(fmt::format("--k must be 2..1000, got {}", k));
  if (c < 1 || c > 100000) usage_error(fmt::format("--c must be 1..100000, got {}", c));
}

DocidMap semantic_docids(const std::vector<std::string>& doc_ids, const std::vector<float>& vectors, int64_t dims,
                         const SemanticOptions& o) {
  o.validate();
  const auto n = static_cast<int64_t>(doc_ids.size());
  if (n < 1 || dims < 1 || static_cast<int64_t>(vectors.size()) != n * dims)
    throw Error(fmt::format("semantic docids: {} values for {} documents of {} dimensions", vectors.size(), n, dims));
  DocidMap map;
  map.scheme = DocidScheme::semantic;
  map.symbols = std::max(o.k, o.c);
  map.doc_ids = doc_ids;
  map.docids.assign(static_cast<size_t>(n), {});

  // ids(X) of dsi.md: `members` (document indices) all share `prefix` so far.
  std::function<void(const std::vector<int64_t>&, uint64_t)> assign = [&](const std::vector<int64_t>& members, uint64_t seed) {
    const auto size = static_cast<int64_t>(members.size());
    if (size <= o.c) {
      for (int64_t j = 0; j < size; ++j) map.docids[static_cast<size_t>(members[static_cast<size_t>(j)])].push_back(j);
      return;
    }
    std::vector<float> rows;
    rows.reserve(static_cast<size_t>(size * dims));
    for (const int64_t m : members) rows.insert(rows.end(), vectors.begin() + m * dims, vectors.begin() + (m + 1) * dims);
    const int64_t k = std::min(o.k, size);
    auto clusters = eval::kmeans_clusters(rows, size, dims, k, seed);
    std::vector<std::vector<int64_t>> groups(static_cast<size_t>(k));
    for (int64_t j = 0; j < size; ++j) groups[static_cast<size_t>(clusters[static_cast<size_t>(j)])].push_back(members[static_cast<size_t>(j)]);
    const bool split = std::count_if(groups.begin(), groups.end(), [](const auto& g) { return !g.empty(); }) > 1;
    if (!split) {  // identical vectors: k runs of (almost) equal size, in member order
      for (auto& g : groups) g.clear();
      for (int64_t j = 0; j < size; ++j) groups[static_cast<size_t>(j * k / size)].push_back(members[static_cast<size_t>(j)]);
    }
    for (int64_t g = 0; g < k; ++g) {
      if (groups[static_cast<size_t>(g)].empty()) continue;
      for (const int64_t m : groups[static_cast<size_t>(g)]) map.docids[static_cast<size_t>(m)].push_back(g);
      assign(groups[static_cast<size_t>(g)], seed * 31 + static_cast<uint64_t>(g) + 1);
    }
  };
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  assign(all, o.seed);
  map.validate();
  return map;
}

std::vector<float> tfidf_svd_vectors(const std::vector<std::string>& texts, int64_t dims, int64_t* out_dims) {
  if (texts.empty() || dims < 1) throw Error("TF-IDF vectors: no texts or no dimensions");
  // Lower-cased runs of letters and digits, as BM25 tokenises.
  std::unordered_map<std::string, int64_t> vocabulary;
  std::vector<std::map<int64_t, double>> counts(texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    for (const auto& word : retrieval::bm25_tokens(texts[i], "none")) {
      const auto [it, added] = vocabulary.emplace(word, static_cast<int64_t>(vocabulary.size()));
      counts[i][it->second] += 1;
    }
  const auto n = static_cast<int64_t>(texts.size()), v = std::max<int64_t>(1, static_cast<int64_t>(vocabulary.size()));
  std::vector<double> df(static_cast<size_t>(v), 0);
  for (const auto& row : counts)
    for (const auto& [term, count] : row) df[static_cast<size_t>(term)] += 1;
  auto matrix = torch::zeros({n, v}, torch::kFloat64);
  auto m = matrix.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i)
    for (const auto& [term, count] : counts[static_cast<size_t>(i)])
      m[i][term] = (1 + std::log(count)) * (std::log((1.0 + n) / (1.0 + df[static_cast<size_t>(term)])) + 1);
  matrix = torch::nn::functional::normalize(matrix, torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto [u, s, vh] = torch::linalg_svd(matrix, false);
  const int64_t keep = std::min(dims, s.size(0));
  auto reduced = torch::nn::functional::normalize(u.narrow(1, 0, keep) * s.narrow(0, 0, keep),
                                                  torch::nn::functional::NormalizeFuncOptions().dim(1))
                     .to(torch::kFloat32)
                     .contiguous();
  *out_dims = keep;
  return {reduced.data_ptr<float>(), reduced.data_ptr<float>() + reduced.numel()};
}

std::string docid_map_text(const DocidMap& map) {
  map.validate();
  std::string text = fmt::format("# scheme {} symbols {}\n", to_string(map.scheme), map.symbols);
  for (size_t i = 0; i < map.docids.size(); ++i) {
    text += map.doc_ids[i] + "\t";
    for (size_t j = 0; j < map.docids[i].size(); ++j) {
      if (j > 0) text += ' ';
      text += std::to_string(map.docids[i][j]);
    }
    text += "\n";
  }
  return text;
}

void write_docid_map(const DocidMap& map, const std::filesystem::path& path) { write_file_atomic(path, docid_map_text(map)); }

DocidMap read_docid_map(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot read the docid map", path.string()));
  DocidMap map;
  std::string line;
  if (!std::getline(in, line)) throw Error(fmt::format("{}: empty docid map", path.string()));
  {
    std::istringstream header(line);
    std::string hash, scheme_word, scheme, symbols_word;
    if (!(header >> hash >> scheme_word >> scheme >> symbols_word >> map.symbols) || hash != "#" || scheme_word != "scheme" ||
        symbols_word != "symbols")
      throw Error(fmt::format("{}:1: expected '# scheme <name> symbols <S>' (garden dsi build-ids writes it)", path.string()));
    map.scheme = parse_docid_scheme(scheme);
  }
  for (int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0) throw Error(fmt::format("{}:{}: expected 'doc-id<TAB>symbols'", path.string(), number));
    map.doc_ids.push_back(line.substr(0, tab));
    std::istringstream symbols(line.substr(tab + 1));
    Docid docid;
    std::string token;
    while (symbols >> token) {
      char* end = nullptr;
      const long long value = std::strtoll(token.c_str(), &end, 10);
      if (*end != '\0') throw Error(fmt::format("{}:{}: '{}' is no docid symbol", path.string(), number, token));
      docid.push_back(value);
    }
    map.docids.push_back(std::move(docid));
  }
  try {
    map.validate();
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path.string(), e.what()));
  }
  return map;
}

DocidTrie::DocidTrie(const DocidMap& map) {
  nodes_.emplace_back();
  for (const auto& docid : map.docids) {
    int64_t node = 0;
    for (const int64_t symbol : docid) {
      auto& here = nodes_[static_cast<size_t>(node)];
      const auto at = std::lower_bound(here.symbols.begin(), here.symbols.end(), symbol);
      const auto slot = at - here.symbols.begin();
      if (at != here.symbols.end() && *at == symbol) {
        node = here.children[static_cast<size_t>(slot)];
        continue;
      }
      const auto fresh = static_cast<int64_t>(nodes_.size());
      here.symbols.insert(at, symbol);
      here.children.insert(here.children.begin() + slot, fresh);
      nodes_.emplace_back();  // invalidates `here`
      node = fresh;
    }
    nodes_[static_cast<size_t>(node)].end = true;
  }
}

int64_t DocidTrie::child(int64_t node, int64_t symbol) const {
  if (node < 0 || node >= size()) return -1;
  const auto& here = nodes_[static_cast<size_t>(node)];
  const auto at = std::lower_bound(here.symbols.begin(), here.symbols.end(), symbol);
  return at != here.symbols.end() && *at == symbol ? here.children[static_cast<size_t>(at - here.symbols.begin())] : -1;
}

}  // namespace garden::dsi
