#include "garden/eval/sts.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include "garden/core/error.h"

namespace garden::eval {

std::vector<StsPair> read_sts_pairs(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: no such file", path.string()));
  std::vector<StsPair> pairs;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.rfind("score\t", 0) == 0) continue;  // the header
    if (line.empty()) continue;
    const auto tab1 = line.find('\t'), tab2 = line.find('\t', tab1 == std::string::npos ? tab1 : tab1 + 1);
    if (tab1 == std::string::npos || tab2 == std::string::npos || line.find('\t', tab2 + 1) != std::string::npos)
      throw Error(fmt::format("{}:{}: expected score<TAB>sentence1<TAB>sentence2", path.string(), number));
    StsPair pair;
    try {
      size_t used = 0;
      pair.score = std::stod(line.substr(0, tab1), &used);
      if (used != tab1) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      throw Error(fmt::format("{}:{}: the score '{}' is not a number", path.string(), number, line.substr(0, tab1)));
    }
    pair.first = line.substr(tab1 + 1, tab2 - tab1 - 1);
    pair.second = line.substr(tab2 + 1);
    pairs.push_back(std::move(pair));
  }
  if (pairs.empty()) throw Error(fmt::format("{}: no sentence pairs", path.string()));
  return pairs;
}

namespace {
// 1-based ranks, ties sharing their average rank.
std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (size_t t = i; t <= j; ++t) ranks[order[t]] = rank;
    i = j + 1;
  }
  return ranks;
}
}  // namespace

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2)
    throw Error(fmt::format("Spearman: need two samples of one length >= 2 (got {} and {})", x.size(), y.size()));
  const auto rx = average_ranks(x), ry = average_ranks(y);
  const double mean = (static_cast<double>(x.size()) + 1) / 2;  // mean of ranks 1..n, ties included
  double cov = 0, vx = 0, vy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    cov += (rx[i] - mean) * (ry[i] - mean);
    vx += (rx[i] - mean) * (rx[i] - mean);
    vy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (vx == 0 || vy == 0) throw Error("Spearman: a sample is constant");
  return cov / std::sqrt(vx * vy);
}

}  // namespace garden::eval
