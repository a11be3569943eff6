// garden eval retrieval: IR metrics of a TREC run against qrels (trec_eval's conventions).
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/json.h"
#include "garden/eval/ir_metrics.h"
#include "garden/retrieval/trec.h"

namespace garden::cli {

void register_eval(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "evaluate runs and models");
  eval->require_subcommand(1);
  struct Options {
    std::string run, qrels, metrics, out;
    bool per_query = false;
  };
  auto o = std::make_shared<Options>();
  auto* retrieval = eval->add_subcommand("retrieval", "metrics of a TREC run against qrels (TREC or BEIR .tsv)");
  retrieval->add_option("--run", o->run, "TREC run file (qid Q0 docid rank score tag)")->required();
  retrieval->add_option("--qrels", o->qrels, "qrels: TREC (qid 0 docid rel) or BEIR qrels/<split>.tsv")->required();
  retrieval->add_option("--metrics", o->metrics, "comma-separated, e.g. ndcg@10,mrr@10,recall@100,map,p@10,rprec,success@10");
  retrieval->add_option("--out", o->out, "write results.json (means and per-query values) here");
  retrieval->add_flag("--per-query", o->per_query, "also print every query's values");
  retrieval->callback([o] {
    const auto metrics = o->metrics.empty() ? eval::default_ir_metrics() : eval::parse_metric_list(o->metrics);
    const auto result = eval::evaluate_run(retrieval::read_trec_run(o->run), retrieval::read_qrels(o->qrels), metrics);
    if (o->per_query) {
      for (const auto& [qid, values] : result.per_query) {
        for (const auto& name : metrics) fmt::print("{:<12} {:<10} {:.4f}\n", name, qid, values.at(name));
      }
    }
    for (const auto& name : metrics) fmt::print("{:<12} {:<10} {:.4f}\n", name, "all", result.mean.at(name));
    fmt::print("{:<12} {:<10} {}\n", "queries", "all", result.queries);
    if (!o->out.empty()) write_json_atomic(o->out, result.to_json());
  });
}

}  // namespace garden::cli
