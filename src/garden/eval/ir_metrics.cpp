#include "garden/eval/ir_metrics.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "garden/core/error.h"

namespace garden::eval {

namespace {

struct MetricSpec {
  std::string kind;  // ndcg, map, recall, p, mrr, rprec, success
  int64_t k = 0;     // 0 = no cut-off
};

MetricSpec parse_metric(const std::string& name) {
  MetricSpec spec;
  const auto at = name.find('@');
  spec.kind = name.substr(0, at);
  if (at != std::string::npos) {
    try {
      size_t used = 0;
      spec.k = std::stoll(name.substr(at + 1), &used);
      if (used != name.size() - at - 1 || spec.k <= 0) throw std::invalid_argument(name);
    } catch (const std::logic_error&) {
      usage_error("metric '" + name + "': the cut-off after @ must be a positive integer");
    }
  }
  static const std::vector<std::string> kinds = {"ndcg", "map", "recall", "p", "mrr", "rprec", "success"};
  if (std::find(kinds.begin(), kinds.end(), spec.kind) == kinds.end())
    usage_error("unknown metric '" + name + "' (known: ndcg, ndcg@k, map, map@k, recall@k, p@k, mrr, mrr@k, rprec, success@k)");
  const bool needs_k = spec.kind == "recall" || spec.kind == "p" || spec.kind == "success";
  if (needs_k && spec.k == 0) usage_error("metric '" + name + "' needs a cut-off, e.g. " + spec.kind + "@10");
  if (spec.kind == "rprec" && spec.k != 0) usage_error("metric 'rprec' takes no cut-off");
  return spec;
}

// One query's value. `relevance[r]` is the relevance of the document at rank r+1 (0 if unjudged).
double metric_value(const MetricSpec& m, const std::vector<int>& relevance, const std::map<std::string, int>& judged) {
  int64_t total_relevant = 0;
  std::vector<int> ideal;
  for (const auto& [doc, rel] : judged) {
    if (rel >= 1) {
      ++total_relevant;
      ideal.push_back(rel);
    }
  }
  const int64_t n = static_cast<int64_t>(relevance.size());
  const int64_t depth = m.k > 0 ? std::min(m.k, n) : n;
  if (m.kind == "p") {
    int64_t hits = 0;
    for (int64_t r = 0; r < depth; ++r) hits += relevance[r] >= 1;
    return static_cast<double>(hits) / static_cast<double>(m.k);
  }
  if (total_relevant == 0) return 0.0;  // trec_eval scores such queries 0 on every measure here
  if (m.kind == "recall" || m.kind == "success") {
    int64_t hits = 0;
    for (int64_t r = 0; r < depth; ++r) hits += relevance[r] >= 1;
    if (m.kind == "success") return hits > 0 ? 1.0 : 0.0;
    return static_cast<double>(hits) / static_cast<double>(total_relevant);
  }
  if (m.kind == "map") {
    double sum = 0;
    int64_t hits = 0;
    for (int64_t r = 0; r < depth; ++r) {
      if (relevance[r] >= 1) sum += static_cast<double>(++hits) / static_cast<double>(r + 1);
    }
    return sum / static_cast<double>(total_relevant);
  }
  if (m.kind == "mrr") {
    for (int64_t r = 0; r < depth; ++r)
      if (relevance[r] >= 1) return 1.0 / static_cast<double>(r + 1);
    return 0.0;
  }
  if (m.kind == "rprec") {
    int64_t hits = 0;
    for (int64_t r = 0; r < std::min(total_relevant, n); ++r) hits += relevance[r] >= 1;
    return static_cast<double>(hits) / static_cast<double>(total_relevant);
  }
  // ndcg: gain = rel, discount log2(rank + 1); the ideal takes the top relevance grades.
  double dcg = 0;
  for (int64_t r = 0; r < depth; ++r)
    if (relevance[r] > 0) dcg += relevance[r] / std::log2(static_cast<double>(r + 2));
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  const int64_t ideal_depth = m.k > 0 ? std::min<int64_t>(m.k, static_cast<int64_t>(ideal.size())) : static_cast<int64_t>(ideal.size());
  double idcg = 0;
  for (int64_t r = 0; r < ideal_depth; ++r) idcg += ideal[r] / std::log2(static_cast<double>(r + 2));
  return idcg > 0 ? dcg / idcg : 0.0;
}

}  // namespace

std::vector<std::string> parse_metric_list(const std::string& list) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
    if (!name.empty()) {
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      parse_metric(name);
      names.push_back(name);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (names.empty()) usage_error("--metrics is empty");
  return names;
}

std::vector<std::string> default_ir_metrics() { return {"ndcg@10", "mrr@10", "recall@100", "map", "p@10"}; }

IrEvaluation evaluate_run(const retrieval::Run& run, const retrieval::Qrels& qrels, const std::vector<std::string>& metrics) {
  std::vector<MetricSpec> specs;
  for (const auto& name : metrics) specs.push_back(parse_metric(name));
  IrEvaluation result;
  result.metrics = metrics;
  for (const auto& [qid, docs] : run) {
    auto judged = qrels.find(qid);
    if (judged == qrels.end()) continue;
    std::vector<int> relevance;
    for (const auto& doc : retrieval::rank_like_trec_eval(docs)) {
      auto it = judged->second.find(doc.doc_id);
      relevance.push_back(it == judged->second.end() ? 0 : it->second);
    }
    auto& values = result.per_query[qid];
    for (size_t i = 0; i < specs.size(); ++i) values[metrics[i]] = metric_value(specs[i], relevance, judged->second);
  }
  result.queries = static_cast<int64_t>(result.per_query.size());
  // A mean over no queries would print 0 for every metric, indistinguishable from a useless run.
  if (result.queries == 0)
    throw Error(fmt::format("the run and the qrels share no query id (the run has {} queries{}, the qrels {}{})", run.size(),
                            run.empty() ? "" : ", e.g. '" + run.begin()->first + "'", qrels.size(),
                            qrels.empty() ? "" : ", e.g. '" + qrels.begin()->first + "'"));
  for (const auto& name : metrics) {
    double sum = 0;
    for (const auto& [qid, values] : result.per_query) sum += values.at(name);
    result.mean[name] = result.queries > 0 ? sum / static_cast<double>(result.queries) : 0.0;
  }
  return result;
}

Json IrEvaluation::to_json() const {
  return Json{{"metrics", metrics}, {"queries", queries}, {"mean", mean}, {"per_query", per_query}};
}

}  // namespace garden::eval
