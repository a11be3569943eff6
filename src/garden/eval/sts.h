// Semantic textual similarity: sentence pairs with a gold score (STS-B, SICK in the
// shared data: a header line, then "score<TAB>sentence1<TAB>sentence2"), and Spearman's
// rank correlation (ties get their average rank), the metric MTEB reports for STS.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace garden::eval {

struct StsPair {
  double score = 0;
  std::string first, second;
};

// Errors name the file and line of a malformed row.
std::vector<StsPair> read_sts_pairs(const std::filesystem::path& path);

// Spearman's rho of two equally long samples (at least 2 values, neither constant).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace garden::eval
