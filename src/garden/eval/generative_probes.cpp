#include "garden/eval/generative_probes.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "garden/core/error.h"

namespace garden::eval {

double pair_auc(const std::vector<double>& positives, const std::vector<double>& negatives) {
  if (positives.empty() || negatives.empty())
    throw Error(fmt::format("pair AUC: needs positive and negative pairs, got {} and {}", positives.size(), negatives.size()));
  // Ranks of the pooled scores, ties sharing their mean rank; U = the positives' rank sum
  // minus its least value.
  std::vector<std::pair<double, bool>> pooled;
  for (double s : positives) pooled.push_back({s, true});
  for (double s : negatives) pooled.push_back({s, false});
  std::sort(pooled.begin(), pooled.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double positive_rank_sum = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t t = i; t < j; ++t)
      if (pooled[t].second) positive_rank_sum += mean_rank;
    i = j;
  }
  const double n = static_cast<double>(positives.size()), m = static_cast<double>(negatives.size());
  return (positive_rank_sum - n * (n + 1) / 2) / (n * m);
}

double harmful_at_k(const retrieval::Run& run, const std::vector<std::string>& queries, const std::set<std::string>& flagged, int64_t k) {
  if (queries.empty()) throw Error("harmful@k: no queries");
  if (k < 1) usage_error(fmt::format("harmful@k: k must be >= 1, got {}", k));
  double total = 0;
  for (const auto& query : queries) {
    const auto it = run.find(query);
    if (it == run.end()) continue;
    int64_t harmful = 0;
    for (size_t i = 0; i < std::min(it->second.size(), static_cast<size_t>(k)); ++i) harmful += flagged.count(it->second[i].doc_id) > 0;
    total += static_cast<double>(harmful) / static_cast<double>(k);
  }
  return total / static_cast<double>(queries.size());
}

std::vector<std::string> f1_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  std::string current;
  for (const unsigned char c : text) {
    if (std::isalnum(c)) {
      current.push_back(static_cast<char>(std::tolower(c)));
    } else if (!current.empty()) {
      tokens.push_back(current);
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(current);
  return tokens;
}

double token_f1(const std::string& predicted, const std::string& reference) {
  const auto p = f1_tokens(predicted), r = f1_tokens(reference);
  if (p.empty() || r.empty()) return p.empty() && r.empty() ? 1.0 : 0.0;
  std::map<std::string, int64_t> counts;
  for (const auto& token : r) ++counts[token];
  int64_t common = 0;
  for (const auto& token : p)
    if (counts[token] > 0) {
      --counts[token];
      ++common;
    }
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / static_cast<double>(p.size());
  const double recall = static_cast<double>(common) / static_cast<double>(r.size());
  return 2 * precision * recall / (precision + recall);
}

}  // namespace garden::eval
