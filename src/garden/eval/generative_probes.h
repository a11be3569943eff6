// The measures LLM2Vec-Gen's reproduction reads beside retrieval metrics (arXiv:2603.10913,
// garden's small-scale stand-ins): the AUC of pair scores (synonym pairs against random
// pairs), harmful@k (the share of the top k that are flagged harmful, the AdvBench-IR
// measure), and token F1 between a decoded text and a reference (SQuAD's bag-of-tokens F1).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "garden/retrieval/trec.h"

namespace garden::eval {

// P(a random positive scores above a random negative), ties counting one half: the
// Mann-Whitney U over |positives| x |negatives|, in [0, 1]. An error when either is empty.
double pair_auc(const std::vector<double>& positives, const std::vector<double>& negatives);

// The mean over `queries` of (documents of `flagged` among the run's top k) / k; a query the
// run lacks counts 0 harmful. An error when no query is given or k < 1.
double harmful_at_k(const retrieval::Run& run, const std::vector<std::string>& queries, const std::set<std::string>& flagged, int64_t k);

// Lower-cased runs of letters and digits, the tokens token_f1 compares.
std::vector<std::string> f1_tokens(const std::string& text);
// 2PR / (P + R) over the multiset overlap of the two texts' f1_tokens; 1 when both are empty,
// 0 when only one is.
double token_f1(const std::string& predicted, const std::string& reference);

}  // namespace garden::eval
