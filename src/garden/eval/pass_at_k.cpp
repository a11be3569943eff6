#include "garden/eval/pass_at_k.h"

#include <fmt/core.h>

#include <cmath>

#include "garden/core/error.h"

namespace garden::eval {

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n < 1 || c < 0 || c > n || k < 1 || k > n)
    throw Error(fmt::format("pass@k needs 0 <= c <= n and 1 <= k <= n (n {}, c {}, k {})", n, c, k));
  if (n - c < k) return 1.0;
  // log prod (1 - k/j) as a sum of log1p, so a large n with a small c loses nothing.
  double log_miss = 0.0;
  for (int64_t j = n - c + 1; j <= n; ++j) log_miss += std::log1p(-static_cast<double>(k) / static_cast<double>(j));
  return 1.0 - std::exp(log_miss);
}

std::vector<double> pass_at_k_curve(int64_t n, const std::vector<int64_t>& correct, const std::vector<int64_t>& ks) {
  if (correct.empty()) throw Error("pass@k of no problems");
  std::vector<double> curve;
  curve.reserve(ks.size());
  for (const int64_t k : ks) {
    double sum = 0.0;
    for (const int64_t c : correct) sum += pass_at_k(n, c, k);
    curve.push_back(sum / static_cast<double>(correct.size()));
  }
  return curve;
}

std::vector<int64_t> powers_of_two_up_to(int64_t n) {
  if (n < 1) throw Error(fmt::format("pass@k needs at least one sample per problem, not {}", n));
  std::vector<int64_t> ks;
  for (int64_t k = 1; k <= n; k *= 2) ks.push_back(k);
  if (ks.back() != n) ks.push_back(n);
  return ks;
}

double coverage(const std::vector<int64_t>& correct) {
  if (correct.empty()) throw Error("coverage of no problems");
  int64_t solved = 0;
  for (const int64_t c : correct) solved += c > 0;
  return static_cast<double>(solved) / static_cast<double>(correct.size());
}

std::vector<int64_t> accuracy_histogram(int64_t n, const std::vector<int64_t>& correct) {
  std::vector<int64_t> bins(11, 0);
  for (const int64_t c : correct) {
    if (c < 0 || c > n) throw Error(fmt::format("accuracy histogram: {} correct of {} samples", c, n));
    // Bin b holds (b-1)/10 < c/n <= b/10, i.e. the smallest b with 10c <= b n.
    const int64_t bin = c == 0 ? 0 : (10 * c + n - 1) / n;
    ++bins[static_cast<size_t>(bin)];
  }
  return bins;
}

SolvedOverlap solved_overlap(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != b.size()) throw Error(fmt::format("solved overlap of {} and {} problems", a.size(), b.size()));
  SolvedOverlap o;
  for (size_t i = 0; i < a.size(); ++i) {
    o.a += a[i] > 0;
    o.b += b[i] > 0;
    o.both += a[i] > 0 && b[i] > 0;
  }
  return o;
}

}  // namespace garden::eval
