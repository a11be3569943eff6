// garden eval retrieval: IR metrics of a TREC run against qrels (trec_eval's conventions), or
// of an embedding model on a collection (encode, exact search, metrics); garden eval sts,
// clustering and suite: the embedding suite over STS pairs, the WordNet lexname task, or
// every task under the data root.
#include <fmt/core.h>

#include <list>
#include <map>
#include <memory>

#include "garden/cli/common.h"
#include "garden/core/json.h"
#include "garden/core/data_root.h"
#include "garden/core/files.h"
#include "garden/eval/clustering.h"
#include "garden/eval/embedding_suite.h"
#include "garden/eval/lexical_baselines.h"
#include "garden/eval/ir_metrics.h"
#include "garden/eval/sts.h"
#include "garden/eval/token_tree.h"
#include "garden/retrieval/fusion.h"
#include "garden/core/error.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/trec.h"
#include "garden/text/corpus.h"
#include "garden/text/lexicon.h"
#include "garden/text/prepare.h"

namespace garden::cli {

namespace {

// --out may replace only an earlier scores file of this command (a JSON object with "scores"
// and "average"), never someone else's file; checked before any model work.
void refuse_foreign_scores_file(const std::string& out) {
  if (out.empty()) return;
  refuse_foreign_output_file(out, "an earlier scores file of garden eval suite", [](const std::filesystem::path& file) {
    const Json earlier = read_json_file(file);
    return earlier.is_object() && earlier.contains("scores") && earlier.contains("average");
  });
}

// The encoder's score of each task beside its lexical floor (TF-IDF cosine for STS, BM25 for
// retrieval; eval/lexical_baselines.h), so that no score is read without it, and for a
// collection the reciprocal-rank fusion of BM25's and the encoder's rankings.
void print_suite(const std::vector<eval::EmbeddingTask>& tasks, const eval::SuiteScores& scores, const eval::SuiteScores& lexical,
                 const std::vector<std::string>& skipped, const std::string& out) {
  const std::map<std::string, double> floor(lexical.scores.begin(), lexical.scores.end());
  std::map<std::string, double> fused;
  double encoder_sum = 0, bm25_sum = 0, fused_sum = 0;
  for (const auto& task : tasks) {
    if (task.kind != eval::EmbeddingTask::Kind::retrieval || !lexical.runs.count(task.name) || !scores.runs.count(task.name)) continue;
    const auto run = retrieval::reciprocal_rank_fusion({lexical.runs.at(task.name), scores.runs.at(task.name)}, 60.0, eval::kSuiteRunDepth);
    fused[task.name] = 100 * eval::evaluate_run(run, task.collection->qrels, {"ndcg@10"}).mean.at("ndcg@10");
    encoder_sum += scores.at(task.name);
    bm25_sum += floor.at(task.name);
    fused_sum += fused[task.name];
  }
  const auto cell = [](const std::map<std::string, double>& m, const std::string& name) {
    const auto it = m.find(name);
    return it == m.end() ? std::string("-") : fmt::format("{:.2f}", it->second);
  };
  fmt::print("{:<14} {:>8} {:>8} {:>8}\n", "task", "encoder", "lexical", "RRF");
  for (const auto& [name, score] : scores.scores) fmt::print("{:<14} {:8.2f} {:>8} {:>8}\n", name, score, cell(floor, name), cell(fused, name));
  if (scores.scores.size() > 1) fmt::print("{:<14} {:8.2f}\n", "average", scores.average);
  if (!fused.empty()) {
    const double n = static_cast<double>(fused.size());
    fmt::print("retrieval mean nDCG@10 over {} collection{}: encoder {:.2f} ({:.2f}x BM25), BM25 {:.2f}, BM25 + encoder RRF {:.2f}\n",
               fused.size(), fused.size() == 1 ? "" : "s", encoder_sum / n, bm25_sum > 0 ? encoder_sum / bm25_sum : 0.0, bm25_sum / n, fused_sum / n);
  }
  for (const auto& line : skipped) fmt::print("skipped: {}\n", line);
  if (out.empty()) return;
  Json json{{"average", scores.average}, {"scores", Json::object()}, {"lexical", Json::object()}, {"rrf", fused}, {"skipped", skipped}};
  for (const auto& [name, score] : scores.scores) json["scores"][name] = score;
  for (const auto& [name, score] : lexical.scores) json["lexical"][name] = score;
  write_json_atomic(out, json);
}

// garden eval sts / clustering / suite: the embedding suite (eval/embedding_suite.h) over
// one STS file, the WordNet lexname task, or every task the data root holds.
void register_eval_embeddings(CLI::App& eval) {
  struct StsOptions {
    EncoderOptions encoder;
    std::string pairs, split = "test";
  };
  auto so = std::make_shared<StsOptions>();
  auto* sts = eval.add_subcommand("sts", "Spearman x 100 of an embedding model's cosines on STS pairs (STS-B, SICK)");
  add_encoder_options(*sts, so->encoder);
  sts->add_option("--pairs", so->pairs, "a folder with <split>.tsv, or a .tsv file (score, sentence1, sentence2)")->required();
  sts->add_option("--split", so->split, "with a folder: which .tsv")->capture_default_str();
  sts->callback([so] {
    std::filesystem::path path = so->pairs;
    if (std::filesystem::is_directory(path)) path /= so->split + ".tsv";
    const auto pairs = eval::read_sts_pairs(path);
    retrieval::EmbeddingModel model(so->encoder.model);
    const auto scores = eval::evaluate_embeddings(model, {eval::EmbeddingTask::sts_task(path.string(), pairs)}, so->encoder.batch);
    fmt::print("{}: {} pairs, Spearman x 100 = {:.2f}\n", path.string(), pairs.size(), scores.average);
  });

  struct LexnameOptions {
    std::string wordnet = text::kWordnetDir;
    int64_t glosses = 1000, neighbours = 10;
    uint64_t seed = 11;
  };
  const auto add_lexname_options = [](CLI::App& command, LexnameOptions& options) {
    command.add_option("--glosses", options.glosses, "WordNet noun glosses sampled for clustering and kNN")->capture_default_str();
    command.add_option("--neighbours", options.neighbours, "k of the kNN vote")->capture_default_str();
    command.add_option("--seed", options.seed, "seed of the sample and of k-means")->capture_default_str();
    command.add_option("--wordnet", options.wordnet, "WordNet dict folder")->capture_default_str();
  };
  // The lexname sample and its clustering and kNN tasks.
  const auto lexname_tasks = [](const LexnameOptions& o, std::unique_ptr<eval::LexnameTask>& task) {
    if (o.glosses < 2) usage_error("--glosses must be at least 2");
    task = std::make_unique<eval::LexnameTask>(eval::wordnet_lexname_task(o.wordnet, static_cast<size_t>(o.glosses), o.seed));
    return std::vector<eval::EmbeddingTask>{
        eval::EmbeddingTask::clustering_task("lexname-v-measure", task->glosses, task->labels, task->classes, o.seed),
        eval::EmbeddingTask::knn_task(fmt::format("lexname-{}nn", o.neighbours), task->glosses, task->labels, o.neighbours)};
  };

  struct ClusteringOptions {
    EncoderOptions encoder;
    LexnameOptions lexname;
  };
  auto co = std::make_shared<ClusteringOptions>();
  auto* clustering = eval.add_subcommand(
      "clustering", "WordNet lexname task: V-measure of k-means and leave-one-out kNN accuracy of an embedding model");
  add_encoder_options(*clustering, co->encoder);
  add_lexname_options(*clustering, co->lexname);
  clustering->callback([co, lexname_tasks] {
    std::unique_ptr<eval::LexnameTask> task;
    const auto tasks = lexname_tasks(co->lexname, task);
    retrieval::EmbeddingModel model(co->encoder.model);
    const auto scores = eval::evaluate_embeddings(model, tasks, co->encoder.batch);
    fmt::print("{} WordNet noun glosses, {} lexnames: V-measure x 100 = {:.2f}, {}-NN accuracy x 100 = {:.2f}\n", task->glosses.size(),
               task->classes, scores.scores[0].second, co->lexname.neighbours, scores.scores[1].second);
  });

  struct SuiteOptions {
    EncoderOptions encoder;
    LexnameOptions lexname;
    std::string data, out;
    std::vector<std::string> collections = {"cranfield", "cisi", "med"}, sts = {"stsb", "sick"};
  };
  auto suite_options = std::make_shared<SuiteOptions>();
  auto* suite = eval.add_subcommand("suite",
                                    "the embedding suite: nDCG@10 per collection, STS Spearman, lexname V-measure and kNN, and their average");
  add_encoder_options(*suite, suite_options->encoder);
  add_lexname_options(*suite, suite_options->lexname);
  suite->add_option("--data", suite_options->data, "data root holding the collections (default: $GARDEN_DATA)");
  suite->add_option("--collections", suite_options->collections, "BEIR collections for nDCG@10, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  suite->add_option("--sts", suite_options->sts, "STS sets (their test.tsv), comma-separated")->delimiter(',')->capture_default_str();
  suite->add_option("--out", suite_options->out, "write the scores as JSON here");
  suite->callback([so = suite_options, lexname_tasks] {
    refuse_foreign_scores_file(so->out);
    const auto root = resolve_data_root(so->data);
    std::vector<std::string> skipped;
    std::list<retrieval::Collection> collections;  // the tasks point into these
    std::list<std::vector<eval::StsPair>> sts_sets;
    std::vector<eval::EmbeddingTask> tasks;
    for (const auto& name : so->collections) {
      const auto dir = find_collection(root, name);
      if (!dir) {
        skipped.push_back(name + " (not under the data root)");
        continue;
      }
      tasks.push_back(eval::EmbeddingTask::retrieval_task(name, collections.emplace_back(retrieval::read_beir_collection(*dir))));
    }
    for (const auto& name : so->sts) {
      const auto dir = find_collection(root, name);
      if (!dir || !std::filesystem::exists(*dir / "test.tsv")) {
        skipped.push_back(name + " (no test.tsv under the data root)");
        continue;
      }
      tasks.push_back(eval::EmbeddingTask::sts_task(name, sts_sets.emplace_back(eval::read_sts_pairs(*dir / "test.tsv"))));
    }
    std::unique_ptr<eval::LexnameTask> lexnames;
    for (auto& task : lexname_tasks(so->lexname, lexnames)) tasks.push_back(std::move(task));
    retrieval::EmbeddingModel model(so->encoder.model);
    const auto scores = eval::evaluate_embeddings(model, tasks, so->encoder.batch);
    print_suite(tasks, scores, eval::lexical_baselines(tasks), skipped, so->out);
  });
}

}  // namespace

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
  register_eval_embeddings(*eval);
  register_eval_multiturn(*eval);

  struct LexiconOptions {
    std::string input, field = "text", positive, negative;
    bool json = false;
  };
  auto lo = std::make_shared<LexiconOptions>();
  auto* lexicon = eval->add_subcommand("lexicon", "share of positive and negative lines by word lexicons (the resist-alignment stand-in's "
                                                  "behaviour score); a line with words of both counts as neither");
  lexicon->add_option("--input", lo->input, "text (one line each) or JSONL (--field, e.g. completion)")->required();
  lexicon->add_option("--field", lo->field, "the string field of .jsonl lines")->capture_default_str();
  lexicon->add_option("--positive", lo->positive, "comma-separated positive words (default: love, joy, peace, blessed, mercy, light, "
                                                  "rejoice, good)");
  lexicon->add_option("--negative", lo->negative, "comma-separated negative words (default: death, wrath, sword, blood, curse, fear, "
                                                  "destroy, evil)");
  lexicon->add_flag("--json", lo->json, "print the counts as one JSON object");
  lexicon->callback([lo] {
    if (lo->positive.empty() != lo->negative.empty()) usage_error("give both --positive and --negative, or neither");
    const auto lex = lo->positive.empty() ? text::Lexicon::standin() : text::Lexicon::from_lists(lo->positive, lo->negative);
    const auto score = text::score_lines(lex, text::read_documents(lo->input, lo->field));
    if (lo->json) {
      fmt::print("{}\n", score.to_json().dump());
      return;
    }
    const auto share = [&](int64_t n) { return score.lines > 0 ? 100.0 * static_cast<double>(n) / static_cast<double>(score.lines) : 0.0; };
    fmt::print("lines {}  positive {} ({:.1f}%)  negative {} ({:.1f}%)  both {}  neither {}  balance {:+.4f}\n", score.lines, score.positive,
               share(score.positive), score.negative, share(score.negative), score.both, score.neither, score.balance());
  });

  struct TokenTreeOptions {
    std::string input, field = "text";
    std::vector<int> depths = {8, 16, 32, 64};
    bool json = false;
  };
  auto tto = std::make_shared<TokenTreeOptions>();
  auto* token_tree = eval->add_subcommand("token-tree", "the resist-alignment compression protocol on a corpus: its lines as bit paths, "
                                                        "the tree pruned to each depth, Huffman-coded");
  token_tree->add_option("--input", tto->input, "text (one line each) or JSONL (--field)")->required();
  token_tree->add_option("--field", tto->field, "the string field of .jsonl lines")->capture_default_str();
  token_tree->add_option("--depths", tto->depths, "pruning depths, in bits")->delimiter(',')->capture_default_str();
  token_tree->add_flag("--json", tto->json, "print one JSON object a depth");
  token_tree->callback([tto] {
    const auto lines = text::read_documents(tto->input, tto->field);
    if (lines.empty()) throw Error(tto->input + ": no lines");
    if (!tto->json) fmt::print("depth\tleaves\tH (bits)\tHuffman (bits)\tideal code (bits)\tideal bits/byte\n");
    for (const int depth : tto->depths) {
      if (depth < 1) usage_error(fmt::format("--depths {}: a depth must be at least 1", depth));
      const auto t = eval::summarize_token_tree(lines, depth);
      if (tto->json)
        fmt::print("{}\n", Json{{"depth", t.depth}, {"leaves", t.leaves}, {"entropy_bits", t.entropy_bits}, {"huffman_bits", t.huffman_bits},
                                {"ideal_bits", t.ideal_bits}, {"bytes", t.bytes}, {"lines", t.lines}}.dump());
      else
        fmt::print("{}\t{}\t{:.4f}\t{:.4f}\t{}\t{:.4f}\n", t.depth, t.leaves, t.entropy_bits, t.huffman_bits, t.ideal_bits, t.ideal_bits_per_byte());
    }
  });
}

}  // namespace garden::cli
