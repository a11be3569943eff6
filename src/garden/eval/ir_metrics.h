// Retrieval metrics with trec_eval's conventions (trec_eval 10.0): each query's documents
// are ranked by score descending with ties broken by document id descending; relevant means
// relevance >= 1; nDCG uses gain = relevance and discount log2(rank + 1), with the ideal
// ranking built from every judged relevant document; precision at k divides by k even when
// fewer than k documents were retrieved; means are over the queries that appear in both the
// run and the qrels (trec_eval's default, without -c).
//
// Metric names: ndcg, ndcg@k, map, map@k, recall@k, p@k, mrr (= trec_eval's recip_rank),
// mrr@k, rprec, success@k.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/retrieval/trec.h"

namespace garden::eval {

struct IrEvaluation {
  std::vector<std::string> metrics;                                // in the order asked
  std::map<std::string, std::map<std::string, double>> per_query;  // qid -> metric -> value
  std::map<std::string, double> mean;                              // metric -> mean over queries
  int64_t queries = 0;
  Json to_json() const;
};

// Throws a usage error naming an unknown metric.
IrEvaluation evaluate_run(const retrieval::Run& run, const retrieval::Qrels& qrels, const std::vector<std::string>& metrics);

// Parses "ndcg@10,recall@100" into names, validating each.
std::vector<std::string> parse_metric_list(const std::string& list);

// The default set: ndcg@10, mrr@10, recall@100, map, p@10.
std::vector<std::string> default_ir_metrics();

}  // namespace garden::eval
