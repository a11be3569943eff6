// garden embed init | train | classify | pairs | encode.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "garden/cli/common.h"
#include "garden/cli/training.h"
#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/core/shard.h"
#include "garden/eval/clustering.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/mining.h"
#include "garden/retrieval/negative_training.h"
#include "garden/retrieval/training_pairs.h"
#include "garden/text/corpus.h"
#include "garden/text/pairs.h"
#include "garden/text/prepare.h"
#include "garden/train/embedder_training.h"
#include "garden/train/jobs.h"
#include "garden/train/mrl_classification.h"
#include "garden/train/run_folder.h"
#include "garden/train/trainer.h"

namespace garden::cli {

namespace {

struct EmbedTrainCommand {
  RuntimeOptions runtime;
  RunFolderOptions run;
  DistributedOptions distributed;
  std::string objective = "infonce";
  train::EmbedJob job;
  std::map<std::string, std::string> objective_flags, train_flags;
  std::string negatives, collection, split = "train";
  retrieval::NegativeSampling sampling;
  std::string grit_mode = "unified", grit_gen_loss = "mixed";
};

// --negatives: retriever training on a collection's judged pairs (retrieval/negative_training.h).
void run_retriever_train(EmbedTrainCommand& cmd) {
  const auto& job = cmd.job;
  if (!job.train_file.empty() || !job.eval_file.empty() || !job.stage_files.empty() || !job.setup.config_file.empty())
    usage_error("--negatives trains on --collection's judged pairs: drop --train, --eval, --stages and --config");
  if (job.setup.distributed.active()) usage_error("--negatives training runs in one process: drop --world-size (and WORLD_SIZE)");
  if (cmd.objective != "infonce") usage_error("--negatives picks its own loss (pairwise NLL, or InfoNCE with +inbatch): drop --objective");
  for (const auto& [key, value] : job.objective_overrides.items())
    if (key != "temperature") usage_error(fmt::format("--negatives: --{} is a setting of pairs training; only --temperature applies", key));
  retrieval::RetrieverJob retriever;
  retriever.model = job.model;
  retriever.collection = cmd.collection;
  retriever.split = cmd.split;
  retriever.sampling = retrieval::NegativeSampling::parse(cmd.negatives);
  const auto& flags = cmd.sampling;
  retriever.sampling.depth = flags.depth;
  retriever.sampling.per_query = flags.per_query;
  retriever.sampling.refresh_every = flags.refresh_every;
  retriever.sampling.lag = flags.lag;
  retriever.sampling.chunk_factor = flags.chunk_factor;
  if (job.objective_overrides.contains("temperature")) retriever.sampling.temperature = job.objective_overrides["temperature"].get<double>();
  retriever.train_overrides = job.train_overrides;
  retriever.run = job.setup.run;
  retriever.device = job.setup.device;
  const auto trained = retrieval::train_retriever_job(retriever);
  const auto& result = trained.train;
  if (result.interrupted) {
    fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.steps_done, retriever.run.out);
    return;
  }
  std::string refresh;
  if (retriever.sampling.source == retrieval::NegativeSource::ance)
    refresh = fmt::format("; {} index builds, {:.1f} s in all, {:.1f} s waited for", trained.refresh.refreshes, trained.refresh.refresh_seconds,
                          trained.refresh.wait_seconds);
  fmt::print("step {}: train loss {:.4f}, {:.0f} tokens/s{}\nrun folder: {} (use it as --model: its latest checkpoint)\n", result.steps_done,
             result.final_train_loss, result.tokens_per_second, refresh, retriever.run.out);
}

void run_embed_train(EmbedTrainCommand& cmd) {
  auto& job = cmd.job;
  job.setup = job_setup(cmd.run, cmd.runtime, cmd.distributed);
  job.objective = train::parse_embed_objective(cmd.objective);
  job.grit.mode = train::parse_grit_mode(cmd.grit_mode);
  job.grit.gen_loss = train::parse_gen_loss_aggregation(cmd.grit_gen_loss);
  if (job.objective != train::EmbedObjective::grit && (!job.grit_pairs.empty() || !job.grit_generations.empty()))
    usage_error("--pairs and --gen-data are the data of --objective grit");
  apply_json_flags(cmd.objective_flags, train::EmbedObjectiveConfig{}.to_json(), job.objective_overrides);
  apply_json_flags(cmd.train_flags, train::embed_train_defaults(job.objective), job.train_overrides);
  if (!cmd.negatives.empty()) return run_retriever_train(cmd);
  if (!cmd.collection.empty()) usage_error("--collection is the data of --negatives training; pairs training reads --train");
  const auto trained = train::train_embedder(job);
  if (job.setup.distributed.rank > 0) return;  // rank 0 reports for the group
  const auto& result = trained.result;
  if (result.interrupted) {
    fmt::print("stopped{} at step {} with a checkpoint; continue with --resume --out {}\n",
               job.stage_files.empty() ? std::string() : fmt::format(" in stage {}", trained.stages), result.steps_done, job.setup.run.out);
    return;
  }
  if (!job.stage_files.empty()) {
    fmt::print("{} stages done; the model: {} (usable as --model)\n", trained.stages, trained.model.string());
    return;
  }
  fmt::print("step {}: train loss {:.4f}{}, {:.0f} tokens/s\nrun folder: {} (use it as --model: its latest checkpoint)\n",
             result.steps_done, result.final_train_loss,
             result.val_loss > 0 ? fmt::format(", held-out loss {:.4f}", result.val_loss) : std::string(), result.tokens_per_second,
             job.setup.run.out);
}

struct ClassifyCommand {
  RuntimeOptions runtime;
  std::string model, train_file, eval_file, test_file, out = "runs/classify", aggregation = "sum", wordnet = text::kWordnetDir;
  bool lexnames = false, efficient = false, resume = false;
  int64_t per_class = 400, stop_after = 0;
  uint64_t data_seed = 0;
  std::vector<int64_t> widths;
  std::vector<double> weights;
  std::map<std::string, std::string> train_flags;
};

Json classify_train_defaults() {
  Json json = train::embed_train_defaults(train::EmbedObjective::infonce);
  json.update(Json{{"lr", 1e-3}, {"steps", 1500}, {"batch", 64}, {"warmup", 50}, {"eval_every", 250}, {"checkpoint_every", 500}});
  return json;
}

// Label names are the training file's, sorted; a validation or test label outside them is an error.
train::LabelledTexts to_labelled(const std::vector<text::LabelledText>& lines, std::vector<std::string>& names,
                                 const std::string& file) {
  if (names.empty()) {
    for (const auto& l : lines) names.push_back(l.label);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
  }
  train::LabelledTexts out;
  out.classes = static_cast<int64_t>(names.size());
  for (const auto& l : lines) {
    const auto it = std::lower_bound(names.begin(), names.end(), l.label);
    if (it == names.end() || *it != l.label) throw Error(fmt::format("{}: label '{}' is not among the training labels", file, l.label));
    out.texts.push_back(l.text);
    out.labels.push_back(it - names.begin());
  }
  return out;
}

void run_classify(ClassifyCommand& cmd) {
  configure_threads(cmd.runtime.threads);
  const auto device = resolve_device(cmd.runtime.device);
  if (cmd.model.empty()) usage_error("--model (an embedding model from garden embed init) is required");
  if (cmd.lexnames == !cmd.train_file.empty()) usage_error("give --lexnames, or --train FILE (with --test FILE)");
  Json train_json = classify_train_defaults();
  apply_json_flags(cmd.train_flags, classify_train_defaults(), train_json);
  auto train_config = train::TrainConfig::from_json(train_json, "train config");
  train_config.stop_after = cmd.stop_after;
  train_config.validate();
  const auto aggregation = train::parse_mrl_aggregation(cmd.aggregation);

  train::LabelledTexts train_data, validation, test;
  std::vector<std::string> names;
  if (cmd.lexnames) {
    auto splits = eval::wordnet_lexname_splits(cmd.wordnet, static_cast<size_t>(cmd.per_class), cmd.data_seed);
    names = splits.class_names;
    train_data = {splits.train.glosses, splits.train.labels, splits.train.classes};
    validation = {splits.validation.glosses, splits.validation.labels, splits.validation.classes};
    test = {splits.test.glosses, splits.test.labels, splits.test.classes};
  } else {
    if (cmd.test_file.empty()) usage_error("--train needs --test (labelled texts to score)");
    train_data = to_labelled(text::read_labelled_texts(cmd.train_file), names, cmd.train_file);
    if (!cmd.eval_file.empty()) validation = to_labelled(text::read_labelled_texts(cmd.eval_file), names, cmd.eval_file);
    test = to_labelled(text::read_labelled_texts(cmd.test_file), names, cmd.test_file);
  }
  auto loaded = model::load_embedder(train::model_folder(cmd.model), device);
  const int64_t dims = loaded.embedder->dims();
  if (cmd.widths.empty()) cmd.widths = {dims};
  if (!cmd.weights.empty() && cmd.weights.size() != cmd.widths.size())
    usage_error(fmt::format("--weights gives {} values for {} --mrl widths", cmd.weights.size(), cmd.widths.size()));
  train::MrlClassificationModel model(loaded.embedder, train::MrlHeadConfig{cmd.widths, dims, train_data.classes, cmd.efficient});
  model->to(device);
  train::claim_run_folder(cmd.out, "garden embed classify", cmd.resume);
  train::install_interrupt_handler();
  train::Trainer trainer(train_config, cmd.out);
  const auto objective = train::mrl_classification_objective(model, *loaded.tokenizer, train_data, validation, cmd.weights, aggregation,
                                                             train_config, loaded.tokenizer_spec);
  fmt::print(stderr, "classifier: {} classes, {} training texts; heads at widths {} ({}), {} dimensions\n", train_data.classes,
             train_data.texts.size(), fmt::join(cmd.widths, ","), cmd.efficient ? "MRL-E: one shared matrix" : "one per width", dims);
  torch::manual_seed(train_config.seed);
  const auto result = trainer.fit(*model, objective, cmd.resume);
  if (result.interrupted) {
    fmt::print("stopped at step {} with a checkpoint; continue with --resume --out {}\n", result.steps_done, cmd.out);
    return;
  }
  const auto probabilities = train::head_probabilities(model, *loaded.tokenizer, test.texts, 128);
  const auto train_features = model::encode_features(model->encoder, *loaded.tokenizer, train_data.texts, 128);
  const auto test_features = model::encode_features(model->encoder, *loaded.tokenizer, test.texts, 128);
  fmt::print("{:>6}  {:>10}  {:>10}   ({} test texts)\n", "width", "head top-1", "1-NN top-1", test.texts.size());
  Json rows = Json::array();
  for (size_t w = 0; w < cmd.widths.size(); ++w) {
    const double head = train::top1_accuracy(probabilities[w], test.labels);
    const double nearest = train::nearest_neighbour_accuracy(train_features, train_data.labels, test_features, test.labels, cmd.widths[w]);
    fmt::print("{:>6}  {:>10.4f}  {:>10.4f}\n", cmd.widths[w], head, nearest);
    rows.push_back({{"width", cmd.widths[w]}, {"head_top1", head}, {"nn_top1", nearest}});
  }
  write_json_atomic(std::filesystem::path(cmd.out) / "test.json", Json{{"labels", names}, {"widths", rows}});
  fmt::print("run folder: {} (the encoder alone: its latest checkpoint's encoder/ folder); scores in {}/test.json\n", cmd.out, cmd.out);
}

void add_embed_init(CLI::App& group) {
  struct InitOptions {
    std::string model, out, pooler = "mean", mask = "bidirectional", case_folding = "none", score = "cosine";
    model::EmbedderConfig config;
  };
  auto init = std::make_shared<InitOptions>();
  auto* init_cmd = group.add_subcommand("init", "an embedding model from a garden LM (its weights, a pooler, a mask)");
  init_cmd->add_option("--model", init->model, "a garden LM: model folder, run folder or checkpoint")->required();
  init_cmd->add_option("--pooler", init->pooler, "mean | weighted_mean | first_token | last_token | latent_attention")
      ->capture_default_str();
  init_cmd->add_option("--mask", init->mask, "bidirectional | causal")->capture_default_str();
  init_cmd->add_option("--latents", init->config.latent.latents, "latent attention: r")->capture_default_str();
  init_cmd->add_option("--latent-heads", init->config.latent.heads, "latent attention: heads")->capture_default_str();
  init_cmd->add_option("--projection", init->config.projection, "output dimensions of a linear head (0 = none)")
      ->capture_default_str();
  init_cmd->add_flag("--projection-layernorm", init->config.projection_layernorm,
                     "a LayerNorm after the projection: ANCE's head LN(W h + b) (needs --projection)");
  init_cmd->add_option("--score", init->score, "cosine (unit vectors) | dot (the head's output as it is, scored by inner product: ANCE)")
      ->capture_default_str();
  init_cmd->add_option("--max-tokens", init->config.max_tokens, "tokens per text at most")->capture_default_str();
  init_cmd->add_option("--case-folding", init->case_folding,
                       "none | all-caps (lower-case texts written in capitals) | all (lower-case every text)")
      ->capture_default_str();
  init_cmd->add_option("--bf16", init->config.bf16,
                       "encode under bf16 autocast (about twice as fast on a CPU with bf16 instructions; embed train --bf16 true sets it)")
      ->capture_default_str();
  init_cmd->add_option("--out", init->out, "model folder to write")->required();
  init_cmd->callback([init] {
    init->config.pooling = model::parse_pooling(init->pooler);
    init->config.mask = model::parse_mask_mode(init->mask);
    init->config.case_folding = model::parse_case_folding(init->case_folding);
    if (init->config.mask == model::MaskMode::prefix) usage_error("--mask must be bidirectional or causal");
    if (init->score != "cosine" && init->score != "dot") usage_error("--score must be cosine or dot, not '" + init->score + "'");
    init->config.unit_vectors = init->score == "cosine";
    const model::EmbedderConfig checked = model::EmbedderConfig::from_json(init->config.to_json(), "--options");
    claim_output_dir(init->out, "garden embed init");
    torch::manual_seed(0);  // the pooler's and head's initial weights
    auto lm = model::load_model(train::model_folder(init->model));
    model::Embedder embedder(lm.model, checked);
    model::save_embedder(init->out, embedder, lm.tokenizer_spec);
    fmt::print("wrote {}: {} pooling, {} mask, {} dimensions, scored by {}\n", init->out, init->pooler, init->mask, embedder->dims(),
               init->score == "cosine" ? "cosine" : "inner product");
  });
}

void add_embed_train(CLI::App& group) {
  auto train_cmd = std::make_shared<EmbedTrainCommand>();
  train_cmd->run.out = "runs/embed";
  auto* train = group.add_subcommand("train", "contrastive training: InfoNCE on query/positive[/negatives] pairs, or SimCSE on sentences");
  train->add_option("--objective", train_cmd->objective,
                    "infonce (pairs, hard negatives, stages) | simcse (a sentence and itself under dropout) | llm2vec-gen (special "
                    "tokens on a frozen LM compress its answers; data from garden llm2vec-gen prepare; training defaults: lr 1e-3, "
                    "600 steps of 16, warm-up 50) | grit (one model embeds and generates: contrastive + response-only LM loss on "
                    "--pairs and --gen-data; training defaults: lr 3e-4, 250 steps of 32 queries, warm-up 8, no weight decay)")
      ->capture_default_str();
  train->add_option("--model", train_cmd->job.model, "embedding model to train (garden embed init, or a trained one or run)");
  add_run_folder_options(*train, train_cmd->run);
  train->add_option("--stages", train_cmd->job.stage_files, "infonce: stage1.json,stage2.json: train in stages (fresh optimizer each)")
      ->delimiter(',');
  train->add_option("--train", train_cmd->job.train_file,
                    "infonce: pairs .jsonl {\"query\", \"positive\", \"negatives\": [...]}; simcse: sentences, one a line "
                    "(default: the built-in corpus); llm2vec-gen: prepared queries .jsonl");
  train->add_option("--eval", train_cmd->job.eval_file, "infonce: held-out pairs .jsonl (val_loss); llm2vec-gen: held-out prepared queries");
  train->add_option("--special-tokens", train_cmd->job.special_tokens, "llm2vec-gen: K special (compression) tokens after the query (a new model; --cue and --query-tokens too)")
      ->capture_default_str();
  train->add_option("--lambda-rec", train_cmd->job.generative_weights.reconstruction, "llm2vec-gen: weight of the reconstruction loss")
      ->capture_default_str();
  train->add_option("--lambda-align", train_cmd->job.generative_weights.alignment, "llm2vec-gen: weight of the alignment loss")
      ->capture_default_str();
  train->add_option("--cue", train_cmd->job.generative_cue,
                    "llm2vec-gen: text read after each query, before the special tokens (the cue the LM answers after, as given to "
                    "llm2vec-gen prepare); kept in the model's config");
  train->add_option("--query-tokens", train_cmd->job.generative_max_tokens, "llm2vec-gen: query tokens kept (the last ones) before the special tokens")
      ->capture_default_str();
  auto& grit = train_cmd->job.grit;
  train->add_option("--pairs", train_cmd->job.grit_pairs,
                    "grit: an embedding dataset, FILE or FILE::INSTRUCTION (pairs .jsonl; its queries read with the instruction); "
                    "repeat for several (each batch comes from one)");
  train->add_option("--gen-data", train_cmd->job.grit_generations, "grit: generative rows .jsonl {\"prompt\", \"response\"}");
  train->add_option("--gen-eval", train_cmd->job.grit_held_out_generations, "grit: held-out generative rows (val_gen_loss)");
  train->add_option("--mode", train_cmd->grit_mode, "grit: unified (both losses) | embedding | generative")->capture_default_str();
  train->add_option("--attention", train_cmd->job.grit_attention,
                    "grit: bbcc | cccc | bb | cc | cb (embedding instruction, embedding text[, generation]: B bidirectional, C causal; "
                    "default bbcc)");
  train->add_option("--pooling", train_cmd->job.grit_pooling, "grit, from an LM: mean | weighted_mean | last_token")->capture_default_str();
  train->add_option("--group-size", grit.group_size, "grit: passages per query (the positive and its negatives)")->capture_default_str();
  train->add_option("--gen-batch", grit.gen_batch, "grit: generative rows per step (--batch is the number of queries)")->capture_default_str();
  train->add_option("--gen-loss", train_cmd->grit_gen_loss, "grit: token | sample | mixed | sum_per_sample (the code's \"token\")")
      ->capture_default_str();
  train->add_option("--gen-sub-batch", grit.gen_sub_batch, "grit, mixed: samples per token-mean sub-batch")->capture_default_str();
  train->add_option("--lambda-rep", grit.lambda_rep, "grit: weight of the representation loss")->capture_default_str();
  train->add_option("--lambda-gen", grit.lambda_gen, "grit: weight of the generative loss")->capture_default_str();
  train->add_option("--query-max-tokens", grit.query_tokens, "grit: query text tokens kept")->capture_default_str();
  train->add_option("--passage-max-tokens", grit.passage_tokens, "grit: passage tokens kept")->capture_default_str();
  train->add_option("--gen-max-tokens", grit.gen_tokens, "grit: tokens of a generative row (prompt + response)")->capture_default_str();
  train->add_option("--dropout", train_cmd->job.simcse_dropout, "simcse: dropout of every layer while training")->capture_default_str();
  train->add_option("--max-tokens", train_cmd->job.simcse_max_tokens, "simcse: sentences longer than this are skipped")
      ->capture_default_str();
  const auto defaults = retrieval::NegativeSampling{};
  train->add_option("--negatives", train_cmd->negatives,
                    "train a retriever on --collection's judged pairs with negatives from: inbatch | hardest (the hardest other batch "
                    "positive) | random | bm25 | ance, or one of the last three + \"+inbatch\" (InfoNCE with in-batch negatives; a lone "
                    "source trains ANCE's pairwise NLL)");
  train->add_option("--collection", train_cmd->collection, "--negatives: BEIR folder whose qrels/<split>.tsv are the training pairs");
  train->add_option("--split", train_cmd->split, "--negatives: the qrels split to train on")->capture_default_str();
  train->add_option("--depth", train_cmd->sampling.depth, "--negatives: K, candidates per query (0: N/40 within [10, 200])")->capture_default_str();
  train->add_option("--per-query", train_cmd->sampling.per_query, "--negatives: n, negatives kept per query per refresh")
      ->capture_default_str();
  train->add_option("--refresh-every", train_cmd->sampling.refresh_every, "--negatives ance: steps between index refreshes")
      ->default_val(defaults.refresh_every);
  train->add_option("--ann-lag", train_cmd->sampling.lag,
                    "--negatives ance: steps a refresh runs in the background before its index is used (0: synchronous)")
      ->capture_default_str();
  train->add_option("--chunk-factor", train_cmd->sampling.chunk_factor, "--negatives ance: each refresh re-draws 1/c of the queries")
      ->capture_default_str();
  add_runtime_options(*train, train_cmd->runtime);
  add_distributed_options(*train, train_cmd->distributed);
  add_json_flags(*train, train::EmbedObjectiveConfig{}.to_json(), train_cmd->objective_flags, "Objective");
  add_json_flags(*train, train::embed_train_defaults(train::EmbedObjective::infonce), train_cmd->train_flags,
                 "Training (defaults of --objective infonce)");
  train->callback([train_cmd] { run_embed_train(*train_cmd); });
}

void add_embed_classify(CLI::App& group) {
  auto classify_cmd = std::make_shared<ClassifyCommand>();
  auto* classify = group.add_subcommand("classify", "classification heads on an embedder, Matryoshka (--mrl) or plain, trained end to end");
  classify->add_option("--model", classify_cmd->model, "embedding model to start from (garden embed init); its dimensions are d");
  classify->add_flag("--lexnames", classify_cmd->lexnames, "the WordNet lexname task: noun glosses by lexicographer file, 80/10/10");
  classify->add_option("--per-class", classify_cmd->per_class, "--lexnames: synsets per class at most")->capture_default_str();
  classify->add_option("--data-seed", classify_cmd->data_seed, "--lexnames: seed of the sample and split")->capture_default_str();
  classify->add_option("--wordnet", classify_cmd->wordnet, "WordNet dict folder")->capture_default_str();
  classify->add_option("--train", classify_cmd->train_file, "labelled texts .jsonl: {\"text\", \"label\"}");
  classify->add_option("--eval", classify_cmd->eval_file, "held-out labelled texts (val_loss, val_top1)");
  classify->add_option("--test", classify_cmd->test_file, "labelled texts scored at the end");
  classify->add_option("--mrl", classify_cmd->widths, "nested head widths, increasing, at most d (default: d alone)")->delimiter(',');
  classify->add_flag("--mrl-e", classify_cmd->efficient, "MRL-E: width m uses the first m columns of one shared matrix and bias");
  classify->add_option("--weights", classify_cmd->weights, "relative importance of each width (default 1 each)")->delimiter(',');
  classify->add_option("--aggregation", classify_cmd->aggregation, "sum (the paper) | mean of the per-width losses")->capture_default_str();
  classify->add_option("--out", classify_cmd->out, "run folder")->capture_default_str();
  classify->add_flag("--resume", classify_cmd->resume, "continue from the run folder's latest checkpoint");
  classify->add_option("--stop-after", classify_cmd->stop_after, "stop with a checkpoint after this many steps (resume later)");
  add_runtime_options(*classify, classify_cmd->runtime);
  add_json_flags(*classify, classify_train_defaults(), classify_cmd->train_flags, "Training");
  classify->callback([classify_cmd] { run_classify(*classify_cmd); });
}

void add_embed_pairs(CLI::App& group) {
  struct PairsOptions {
    std::string from = "title-body", collection, out, eval_out, wordnet = text::kWordnetDir, margin = "naive-topk", teacher = "bm25";
    int64_t negatives = 0, held_out = 0, per_document = 1;
    uint64_t seed = 0;
  };
  auto pairs_opt = std::make_shared<PairsOptions>();
  auto* pairs_cmd = group.add_subcommand("pairs", "training pairs without test labels (title -> body, WordNet definition -> lemmas)");
  pairs_cmd->add_option("--from", pairs_opt->from, "title-body | lead-sentence (a BEIR --collection; lead sentence -> rest for untitled ones) | "
                                                   "crop (two independent spans of each document of a --collection, Contriever) | "
                                                   "ict (a sentence -> the words around it, inverse cloze) | wordnet")
      ->capture_default_str();
  pairs_cmd->add_option("--collection", pairs_opt->collection, "BEIR folder (title-body, lead-sentence)");
  pairs_cmd->add_option("--negatives", pairs_opt->negatives, "title-body, lead-sentence: BM25 hard negatives per pair (0 = none)");
  pairs_cmd->add_option("--margin", pairs_opt->margin,
                        "which BM25 candidates become negatives: naive-topk | pos-perc:0.95 (below 0.95 x the positive's score) | pos-abs:X")
      ->capture_default_str();
  pairs_cmd->add_option("--teacher", pairs_opt->teacher, "who ranks the negative candidates: bm25 | dense:EMB (an embedding model)")
      ->capture_default_str();
  pairs_cmd->add_option("--held-out", pairs_opt->held_out, "pairs moved to --eval-out (a seeded random choice)");
  pairs_cmd->add_option("--eval-out", pairs_opt->eval_out, "file for the held-out pairs");
  pairs_cmd->add_option("--per-document", pairs_opt->per_document, "crop, ict: pairs per document")->capture_default_str();
  pairs_cmd->add_option("--seed", pairs_opt->seed, "seed of the held-out choice and of the crops and cloze sentences")->capture_default_str();
  pairs_cmd->add_option("--wordnet", pairs_opt->wordnet, "WordNet dict folder")->capture_default_str();
  pairs_cmd->add_option("--out", pairs_opt->out, "pairs .jsonl to write")->required();
  pairs_cmd->callback([pairs_opt] {
    const auto& o = *pairs_opt;
    // --out may replace only an earlier pairs file (one that reads as training pairs).
    refuse_foreign_output_file(o.out, "an earlier pairs file", [](const std::filesystem::path& file) {
      text::read_training_pairs(file);
      return true;
    });
    const auto rule = retrieval::NegativeRule::parse(o.margin);  // bad --margin / --teacher fail before any work
    if (o.teacher != "bm25" && o.teacher.rfind("dense:", 0) != 0)
      usage_error("--teacher must be bm25 or dense:EMB (an embedding model), not '" + o.teacher + "'");
    const std::string dense_teacher = o.teacher == "bm25" ? "" : o.teacher.substr(6);
    if (o.teacher != "bm25" && dense_teacher.empty()) usage_error("--teacher dense: needs an embedding model, e.g. dense:runs/embed");
    std::vector<text::TextPair> pairs;
    if (o.from == "crop" || o.from == "ict") {
      if (o.collection.empty()) usage_error("--from " + o.from + " needs --collection");
      if (o.negatives > 0) usage_error("--negatives applies to --from title-body and lead-sentence");
      // More than a few pairs of one document repeat its words; 64 is far past any useful count.
      if (o.per_document < 1 || o.per_document > 64)
        usage_error(fmt::format("--per-document must be in [1, 64], got {}", o.per_document));
      const auto collection = retrieval::read_beir_collection(o.collection);
      if (o.from == "crop") {
        retrieval::CropOptions crop;
        crop.per_document = o.per_document;
        crop.seed = o.seed;
        pairs = retrieval::independent_crop_pairs(collection, crop);
        if (pairs.empty()) throw Error(fmt::format("{}: no document has the {} words two crops need", o.collection, 2 * crop.min_words));
      } else {
        retrieval::IctOptions ict;
        ict.per_document = o.per_document;
        ict.seed = o.seed;
        pairs = retrieval::inverse_cloze_pairs(collection, ict);
        if (pairs.empty()) throw Error(fmt::format("{}: no document has two sentences, one of {}-{} words", o.collection,
                                                   ict.min_query_words, ict.max_query_words));
      }
    } else if (o.from == "title-body" || o.from == "lead-sentence") {
      if (o.collection.empty()) usage_error("--from " + o.from + " needs --collection");
      const auto collection = retrieval::read_beir_collection(o.collection);
      pairs = o.from == "title-body" ? retrieval::title_body_pairs(collection) : retrieval::lead_sentence_pairs(collection);
      if (pairs.empty())
        throw Error(fmt::format("{}: no document has {}", o.collection,
                                o.from == "title-body" ? "a title of 3+ words and a body of 8+ words"
                                                       : "a lead sentence of 3+ words followed by 8+ words"));
      if (o.negatives > 0) {
        // The teacher's index sits beside the pairs file: <out>.bm25 or <out>.flat.
        const auto index_dir = std::filesystem::path(o.out).replace_extension(dense_teacher.empty() ? ".bm25" : ".flat");
        const auto report = [&] {
          if (dense_teacher.empty()) return retrieval::mine_bm25_negatives(pairs, o.collection, index_dir, rule, o.negatives);
          retrieval::EmbeddingModel teacher(dense_teacher);
          return retrieval::mine_dense_negatives(pairs, o.collection, index_dir, teacher, rule, o.negatives);
        }();
        fmt::print(stderr, "mined {} negatives per pair with {} ({}): {} candidates dropped as likely positives, {} pairs short of {}\n",
                   o.negatives, dense_teacher.empty() ? "BM25" : dense_teacher, o.margin, report.dropped, report.short_pairs, o.negatives);
      }
    } else if (o.from == "wordnet") {
      if (o.negatives > 0) usage_error("--negatives applies to --from title-body and lead-sentence");
      pairs = text::wordnet_definition_pairs(text::wordnet_synsets(o.wordnet, {"noun", "verb", "adj", "adv"}));
    } else {
      usage_error("--from must be title-body, lead-sentence, crop or wordnet, not '" + o.from + "'");
    }
    if (o.held_out < 0 || o.held_out >= static_cast<int64_t>(pairs.size()))
      usage_error(fmt::format("--held-out must be in [0, {}) for these {} pairs", pairs.size(), pairs.size()));
    if (o.held_out > 0 && o.eval_out.empty()) usage_error("--held-out needs --eval-out");
    std::vector<text::TextPair> held;
    if (o.held_out > 0) {
      std::mt19937_64 rng(o.seed);
      std::shuffle(pairs.begin(), pairs.end(), rng);
      held.assign(pairs.end() - o.held_out, pairs.end());
      pairs.resize(pairs.size() - static_cast<size_t>(o.held_out));
      text::write_training_pairs(o.eval_out, held);
    }
    text::write_training_pairs(o.out, pairs);
    fmt::print("wrote {} pairs to {}{}\n", pairs.size(), o.out,
               held.empty() ? std::string() : fmt::format(" and {} to {}", held.size(), o.eval_out));
  });
}

void add_embed_encode(CLI::App& group) {
  struct EncodeOptions {
    std::string model, input, out, side = "corpus", instruction, shard;
    int64_t batch = 32, dims = 0;
    int threads = 0;
  };
  auto enc = std::make_shared<EncodeOptions>();
  auto* enc_cmd = group.add_subcommand("encode", "embed texts into a .npy matrix (row i = i-th text)");
  enc_cmd->add_option("--model", enc->model, "embedding model folder (garden embed init / train)")->required();
  enc_cmd->add_option("--input", enc->input, "a collection folder (BEIR layout), a BEIR .jsonl file (title + text a line) or a text file, one text a line")
      ->required();
  enc_cmd->add_option("--side", enc->side, "collection: corpus (title + text) or queries")->capture_default_str();
  enc_cmd->add_option("--instruction", enc->instruction, "prefix of every text, excluded from pooling (queries)");
  enc_cmd->add_option("--batch", enc->batch, "texts per forward pass")->capture_default_str();
  enc_cmd->add_option("--threads", enc->threads, "CPU threads (0 = all cores)");
  enc_cmd->add_option("--dims", enc->dims, "keep the first m dimensions, re-normalised (Matryoshka); 0 = all")->capture_default_str();
  enc_cmd->add_option("--out", enc->out, ".npy file to write")->required();
  enc_cmd->add_option("--shard", enc->shard,
                      "R/N: encode only rank R's share of the texts into OUT.shard-R-of-N.npy, with their ids in "
                      "OUT.shard-R-of-N.ids (default: $RANK/$WORLD_SIZE when set, as garden launch sets them)");
  enc_cmd->callback([enc] {
    configure_threads(enc->threads);
    if (enc->side != "corpus" && enc->side != "queries") usage_error("--side must be corpus or queries, not '" + enc->side + "'");
    const ShardSpec shard = shard_spec(enc->shard);
    std::vector<std::string> texts, ids;  // ids: the documents' or queries' (1-based positions for plain text)
    if (std::filesystem::is_directory(enc->input)) {
      const auto collection = retrieval::read_beir_collection(enc->input);
      if (enc->side == "corpus") {
        for (const auto& doc : collection.corpus) {
          texts.push_back(retrieval::document_text(doc));
          ids.push_back(doc.id);
        }
      } else {
        for (const auto& q : collection.queries) {
          texts.push_back(q.text);
          ids.push_back(q.id);
        }
      }
    } else if (std::filesystem::path(enc->input).extension() == ".jsonl") {
      texts = retrieval::read_jsonl_texts(enc->input, &ids);  // corpus.jsonl / queries.jsonl
    } else {
      texts = text::read_text_documents(enc->input, text::TextUnit::line);
      for (size_t i = 0; i < texts.size(); ++i) ids.push_back(std::to_string(i + 1));
    }
    if (texts.empty()) throw Error(fmt::format("{}: no texts to encode", enc->input));
    const int64_t total = static_cast<int64_t>(texts.size());
    const auto [first, last] = nonempty_share(total, shard, "texts");
    texts = std::vector<std::string>(texts.begin() + first, texts.begin() + last);
    ids = std::vector<std::string>(ids.begin() + first, ids.begin() + last);
    const std::filesystem::path out = shard_path(enc->out, shard);
    const auto ids_file = std::filesystem::path(out).replace_extension(".ids");
    // Only an earlier encoding is replaced: a .npy matrix, and ids with one line per row of it.
    refuse_foreign_output_file(out, "a .npy matrix", [](const std::filesystem::path& file) { return retrieval::read_vectors(file).rows >= 0; });
    if (shard.active())
      refuse_foreign_output_file(ids_file, "the ids of an earlier sharded encoding", [&](const std::filesystem::path& file) {
        return std::filesystem::exists(out) && static_cast<int64_t>(retrieval::read_id_list(file).size()) == retrieval::read_vectors(out).rows;
      });
    if (enc->dims < 0) usage_error(fmt::format("--dims must be positive (0 = all), got {}", enc->dims));
    retrieval::EmbeddingModel encoder(enc->model);
    if (enc->dims > encoder.dims()) usage_error(fmt::format("--dims {} exceeds the model's {} dimensions", enc->dims, encoder.dims()));
    auto vectors = retrieval::encode_with_model(encoder, texts, encoder.query_instruction(enc->instruction), enc->batch, "encode");
    if (enc->dims > 0) vectors = retrieval::truncate_rows(vectors, enc->dims, true);
    retrieval::write_npy(out, vectors);
    if (shard.active()) {
      std::string lines;
      for (const auto& id : ids) lines += id + "\n";
      write_file_atomic(ids_file, lines);
      fmt::print("wrote {}: {} x {}, texts {}..{} of {} (ids in {})\n", out.string(), vectors.rows, vectors.cols, first + 1, last, total,
                 ids_file.string());
      return;
    }
    fmt::print("wrote {}: {} x {}\n", out.string(), vectors.rows, vectors.cols);
  });
}

}  // namespace

void register_embed(CLI::App& app) {
  auto* group = app.add_subcommand("embed", "embedding models: make one from a language model, encode texts");
  group->require_subcommand(1);
  add_embed_init(*group);
  add_embed_train(*group);
  add_embed_classify(*group);
  add_embed_pairs(*group);
  add_embed_encode(*group);
}

}  // namespace garden::cli
