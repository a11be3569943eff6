// pass@k and the measures around it (rlvr-passk.md; Chen et al.'s unbiased estimator as
// Yue et al., arXiv:2504.13837, Appendix A.2, use it): for a problem with c correct among n
// samples, pass@k = 1 - C(n-c, k) / C(n, k), computed in the stable product form
// 1 - prod_{j=n-c+1..n} (1 - k/j) without forming binomials; 1 when n - c < k.
#pragma once

#include <cstdint>
#include <vector>

namespace garden::eval {

// An error unless 0 <= c <= n and 1 <= k <= n.
double pass_at_k(int64_t n, int64_t c, int64_t k);

// The dataset's pass@k (mean over problems of pass_at_k(n, correct[i], k)) for every k in
// `ks`, one set of n samples per problem.
std::vector<double> pass_at_k_curve(int64_t n, const std::vector<int64_t>& correct, const std::vector<int64_t>& ks);

// 1, 2, 4, ..., up to n, and n itself when it is not a power of two.
std::vector<int64_t> powers_of_two_up_to(int64_t n);

// The share of problems solved at least once (c > 0).
double coverage(const std::vector<int64_t>& correct);

// Per-problem accuracy c/n binned in tenths: bin 0 holds exactly 0, bins 1..10 hold
// ((b-1)/10, b/10], so bin 10 ends at exactly 1. Counts of problems, 11 bins.
std::vector<int64_t> accuracy_histogram(int64_t n, const std::vector<int64_t>& correct);

// Problems solved (c > 0) by `a` and by `b` and by both, over the same problems in order.
struct SolvedOverlap {
  int64_t a = 0, b = 0, both = 0;
};
SolvedOverlap solved_overlap(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

}  // namespace garden::eval
