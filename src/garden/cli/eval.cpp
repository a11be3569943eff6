// garden eval retrieval: IR metrics of a TREC run against qrels (trec_eval's conventions), or
// of an embedding model on a collection (encode, exact search, metrics); garden eval sts:
// Spearman of an embedding model's cosines against gold similarity scores; garden eval
// clustering: the WordNet lexname task (V-measure of k-means, kNN accuracy).
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/json.h"
#include "garden/eval/clustering.h"
#include "garden/eval/ir_metrics.h"
#include "garden/eval/sts.h"
#include "garden/core/error.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/trec.h"
#include "garden/text/prepare.h"

namespace garden::cli {

void register_eval(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "evaluate runs and models");
  eval->require_subcommand(1);
  struct Options {
    std::string run, qrels, metrics, out, encoder, collection, instruction, split = "test";
    int64_t k = 100, batch = 32;
    bool per_query = false;
  };
  auto o = std::make_shared<Options>();
  auto* retrieval = eval->add_subcommand("retrieval", "metrics of a TREC run against qrels, or of an embedding model on a collection");
  retrieval->add_option("--run", o->run, "TREC run file (qid Q0 docid rank score tag)");
  retrieval->add_option("--qrels", o->qrels, "qrels: TREC (qid 0 docid rel) or BEIR qrels/<split>.tsv");
  retrieval->add_option("--model", o->encoder, "instead of --run: an embedding model, evaluated on --collection");
  retrieval->add_option("--collection", o->collection, "with --model: a BEIR collection folder");
  retrieval->add_option("--instruction", o->instruction, "with --model: prefix of every query, excluded from pooling");
  retrieval->add_option("--split", o->split, "with --model: qrels split")->capture_default_str();
  retrieval->add_option("--k", o->k, "with --model: documents ranked per query")->capture_default_str();
  retrieval->add_option("--batch", o->batch, "with --model: texts per forward pass")->capture_default_str();
  retrieval->add_option("--metrics", o->metrics, "comma-separated, e.g. ndcg@10,mrr@10,recall@100,map,p@10,rprec,success@10");
  retrieval->add_option("--out", o->out, "write results.json (means and per-query values) here");
  retrieval->add_flag("--per-query", o->per_query, "also print every query's values");
  retrieval->callback([o] {
    const auto metrics = o->metrics.empty() ? eval::default_ir_metrics() : eval::parse_metric_list(o->metrics);
    eval::IrEvaluation result;
    if (!o->encoder.empty()) {
      if (o->collection.empty() || !o->run.empty()) usage_error("--model needs --collection DIR (and no --run)");
      const auto collection = retrieval::read_beir_collection(o->collection, o->split);
      retrieval::EmbeddingModel encoder(o->encoder);
      result = eval::evaluate_run(retrieval::exact_run_with_model(encoder, collection, o->instruction, o->k, o->batch), collection.qrels,
                                  metrics);
    } else {
      if (o->run.empty() || o->qrels.empty()) usage_error("give --run RUN --qrels QRELS, or --model MODEL --collection DIR");
      result = eval::evaluate_run(retrieval::read_trec_run(o->run), retrieval::read_qrels(o->qrels), metrics);
    }
    if (o->per_query) {
      for (const auto& [qid, values] : result.per_query) {
        for (const auto& name : metrics) fmt::print("{:<12} {:<10} {:.4f}\n", name, qid, values.at(name));
      }
    }
    for (const auto& name : metrics) fmt::print("{:<12} {:<10} {:.4f}\n", name, "all", result.mean.at(name));
    fmt::print("{:<12} {:<10} {}\n", "queries", "all", result.queries);
    if (!o->out.empty()) write_json_atomic(o->out, result.to_json());
  });

  struct StsOptions {
    std::string encoder, pairs, split = "test";
    int64_t batch = 32;
  };
  auto so = std::make_shared<StsOptions>();
  auto* sts = eval->add_subcommand("sts", "Spearman x 100 of an embedding model's cosines on STS pairs (STS-B, SICK)");
  sts->add_option("--model", so->encoder, "embedding model folder")->required();
  sts->add_option("--pairs", so->pairs, "a folder with <split>.tsv, or a .tsv file (score, sentence1, sentence2)")->required();
  sts->add_option("--split", so->split, "with a folder: which .tsv")->capture_default_str();
  sts->add_option("--batch", so->batch, "texts per forward pass")->capture_default_str();
  sts->callback([so] {
    std::filesystem::path path = so->pairs;
    if (std::filesystem::is_directory(path)) path /= so->split + ".tsv";
    const auto pairs = eval::read_sts_pairs(path);
    std::vector<std::string> texts;
    for (const auto& p : pairs) texts.push_back(p.first);
    for (const auto& p : pairs) texts.push_back(p.second);
    retrieval::EmbeddingModel encoder(so->encoder);
    const auto vectors = retrieval::encode_with_model(encoder, texts, "", so->batch, "encode");
    std::vector<double> gold, cosine;
    const int64_t n = static_cast<int64_t>(pairs.size());
    for (int64_t i = 0; i < n; ++i) {
      double dot = 0;
      for (int64_t c = 0; c < vectors.cols; ++c) dot += double{vectors.row(i)[c]} * vectors.row(n + i)[c];
      cosine.push_back(dot);  // the model's vectors have unit length
      gold.push_back(pairs[static_cast<size_t>(i)].score);
    }
    fmt::print("{}: {} pairs, Spearman x 100 = {:.2f}\n", path.string(), n, 100 * eval::spearman(cosine, gold));
  });

  struct ClusteringOptions {
    std::string encoder, wordnet = text::kWordnetDir;
    int64_t count = 1000, neighbours = 10, batch = 32;
    uint64_t seed = 11;
  };
  auto co = std::make_shared<ClusteringOptions>();
  auto* clustering = eval->add_subcommand(
      "clustering", "WordNet lexname task: V-measure of k-means and leave-one-out kNN accuracy of an embedding model");
  clustering->add_option("--model", co->encoder, "embedding model folder or training run")->required();
  clustering->add_option("--glosses", co->count, "noun glosses sampled")->capture_default_str();
  clustering->add_option("--neighbours", co->neighbours, "k of the kNN vote")->capture_default_str();
  clustering->add_option("--seed", co->seed, "seed of the sample and of k-means")->capture_default_str();
  clustering->add_option("--wordnet", co->wordnet, "WordNet dict folder")->capture_default_str();
  clustering->add_option("--batch", co->batch, "texts per forward pass")->capture_default_str();
  clustering->callback([co] {
    if (co->count < 2) usage_error("--glosses must be at least 2");
    const auto task = eval::wordnet_lexname_task(co->wordnet, static_cast<size_t>(co->count), co->seed);
    retrieval::EmbeddingModel encoder(co->encoder);
    const auto vectors = retrieval::encode_with_model(encoder, task.glosses, "", co->batch, "encode");
    const double v = eval::v_measure(task.labels, eval::kmeans_clusters(vectors.data, vectors.rows, vectors.cols, task.classes, co->seed));
    const double knn = eval::knn_accuracy(vectors.data, vectors.rows, vectors.cols, task.labels, co->neighbours);
    fmt::print("{} WordNet noun glosses, {} lexnames: V-measure x 100 = {:.2f}, {}-NN accuracy x 100 = {:.2f}\n", task.glosses.size(),
               task.classes, 100 * v, co->neighbours, 100 * knn);
  });
}

}  // namespace garden::cli
