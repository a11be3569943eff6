#include "garden/train/embedder_training.h"

#include <fmt/core.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/safetensors.h"
#include "garden/train/run_folder.h"

namespace garden::train {

Json EmbedObjectiveConfig::to_json() const {
  return {{"temperature", contrastive.temperature}, {"in_batch", contrastive.in_batch},
          {"filter_margin", contrastive.filter_margin}, {"hard_negatives", hard_negatives},
          {"mrl", mrl_widths}, {"query_instruction", query_instruction}};
}

EmbedObjectiveConfig EmbedObjectiveConfig::from_json(const Json& json, const std::string& where) {
  if (!json.is_object()) throw Error(where + ": the objective must be a JSON object");
  EmbedObjectiveConfig c;
  refuse_unknown_keys(json, c.to_json(), where);
  read_field(json, "temperature", c.contrastive.temperature, where);
  read_field(json, "in_batch", c.contrastive.in_batch, where);
  read_field(json, "filter_margin", c.contrastive.filter_margin, where);
  read_field(json, "hard_negatives", c.hard_negatives, where);
  read_field(json, "mrl", c.mrl_widths, where);
  read_field(json, "query_instruction", c.query_instruction, where);
  if (!(c.contrastive.temperature > 0)) usage_error(fmt::format("{}: temperature must be > 0", where));
  if (c.hard_negatives < 0) usage_error(fmt::format("{}: hard_negatives must be >= 0", where));
  if (c.contrastive.filter_margin < 0) usage_error(fmt::format("{}: filter_margin must be >= 0 (0 = off)", where));
  if (!c.contrastive.in_batch && c.hard_negatives == 0)
    usage_error(fmt::format("{}: with in_batch off, hard_negatives must be at least 1 (no negatives otherwise)", where));
  for (size_t i = 0; i < c.mrl_widths.size(); ++i)
    if (c.mrl_widths[i] < 1 || (i > 0 && c.mrl_widths[i] <= c.mrl_widths[i - 1]))
      usage_error(fmt::format("{}: mrl widths must be positive and increasing", where));
  return c;
}

std::vector<int64_t> pair_batch_indices(int64_t examples, int64_t batch, int64_t index, uint64_t seed) {
  if (examples < 1 || batch < 1) throw Error("pair batches: need at least one example and a batch of at least one");
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(batch));
  std::vector<int64_t> order;
  int64_t epoch = -1;
  for (int64_t slot = index * batch; slot < (index + 1) * batch; ++slot) {
    const int64_t e = slot / examples;
    if (e != epoch) {  // a fresh permutation for each epoch, seeded by (seed, epoch)
      epoch = e;
      order.resize(static_cast<size_t>(examples));
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
      std::shuffle(order.begin(), order.end(), rng);
    }
    out.push_back(order[static_cast<size_t>(slot % examples)]);
  }
  return out;
}

MicroStep contrastive_batch_loss(model::Embedder& embedder, const text::Tokenizer& tokenizer,
                                 const std::vector<const text::TextPair*>& pairs, const EmbedObjectiveConfig& config, ProcessGroup* group) {
  const auto device = embedder->backbone->token_embedding->weight.device();
  const int64_t max_tokens = embedder->config().max_tokens;
  const model::CaseFolding case_folding = embedder->config().case_folding;
  std::vector<std::string> queries, documents;
  for (const auto* pair : pairs) {
    queries.push_back(pair->query);
    documents.push_back(pair->positive);
  }
  const int64_t k = config.hard_negatives;
  for (const auto* pair : pairs) {
    if (static_cast<int64_t>(pair->negatives.size()) < k)
      throw Error(fmt::format("pair '{}' has {} hard negatives; the objective asks for {}", pair->query.substr(0, 60),
                              pair->negatives.size(), k));
    documents.insert(documents.end(), pair->negatives.begin(), pair->negatives.begin() + k);
  }
  int64_t tokens = 0;
  auto embed = [&](const std::vector<std::string>& texts, const std::string& instruction) {
    const auto batch = model::make_embedding_batch(tokenizer, texts, instruction, max_tokens, case_folding);
    tokens += batch.attention_mask.sum().item<int64_t>();
    return embedder->forward(batch.tokens.to(device), batch.attention_mask.to(device), batch.pool_mask.to(device));
  };
  auto q = embed(queries, config.query_instruction);
  const auto d = embed(documents, "");
  const int64_t b = static_cast<int64_t>(pairs.size());
  auto positives = d.narrow(0, 0, b);
  auto negatives = k > 0 ? d.narrow(0, b, b * k).view({b, k, -1}) : torch::Tensor();
  double backward_scale = 1;
  if (group != nullptr && group->size() > 1) {
    q = group->all_gather_with_local_grad(q);
    positives = group->all_gather_with_local_grad(positives);
    if (k > 0) negatives = group->all_gather_with_local_grad(negatives);
    backward_scale = static_cast<double>(group->size());
  }
  if (config.mrl_widths.empty()) return {info_nce(q, positives, negatives, config.contrastive), tokens, backward_scale};
  if (config.mrl_widths.back() > q.size(1))
    usage_error(fmt::format("mrl width {} exceeds the embedding's {} dimensions", config.mrl_widths.back(), q.size(1)));
  return {matryoshka_info_nce(q, positives, negatives, config.mrl_widths, {}, config.contrastive), tokens, backward_scale};
}

Objective contrastive_objective(model::Embedder& embedder, const text::Tokenizer& tokenizer,
                                const std::vector<text::TextPair>& train_pairs,
                                const std::vector<text::TextPair>& eval_pairs, const EmbedObjectiveConfig& config,
                                const TrainConfig& train, const std::string& tokenizer_spec, ProcessGroup* group) {
  if (train_pairs.empty()) throw Error("embedder training: no training pairs");
  if (config.contrastive.in_batch && train.batch < 2 && config.hard_negatives == 0)
    usage_error("embedder training: a batch of 1 has no in-batch negatives; use batch >= 2 or hard negatives");
  // A model trained under bf16 autocast encodes that way too (EmbedderConfig::bf16).
  if (train.bf16) embedder->set_bf16(true);
  Objective objective;
  objective.micro_step = [&embedder, &tokenizer, &train_pairs, config, train, group](int64_t index) {
    const int64_t world = group != nullptr ? group->size() : 1;
    const auto global = pair_batch_indices(static_cast<int64_t>(train_pairs.size()), train.batch * world, index, train.seed);
    std::vector<const text::TextPair*> batch;
    for (int64_t i = train.batch * (world > 1 ? group->rank() : 0), n = 0; n < train.batch; ++i, ++n)
      batch.push_back(&train_pairs[static_cast<size_t>(global[static_cast<size_t>(i)])]);
    return contrastive_batch_loss(embedder, tokenizer, batch, config, group);
  };
  objective.save = [&embedder, tokenizer_spec](const std::filesystem::path& dir) {
    model::save_embedder(dir, embedder, tokenizer_spec);
  };
  if (!eval_pairs.empty()) {
    objective.evaluate = [&embedder, &tokenizer, &eval_pairs, config, train](int64_t, Json& metrics) {
      torch::NoGradGuard no_grad;
      const bool was_training = embedder->is_training();
      embedder->eval();
      double sum = 0;
      int64_t batches = 0;
      const size_t size = static_cast<size_t>(std::max<int64_t>(2, train.batch));
      for (size_t start = 0; start < eval_pairs.size(); start += size) {
        const size_t stop = std::min(eval_pairs.size(), start + size);
        // A trailing partial batch has fewer in-batch negatives (an easier task): skipped
        // unless it is the only one.
        if (stop - start < size && batches > 0) break;
        if (stop - start < 2 && config.hard_negatives == 0) break;
        std::vector<const text::TextPair*> batch;
        for (size_t i = start; i < stop; ++i) batch.push_back(&eval_pairs[i]);
        sum += contrastive_batch_loss(embedder, tokenizer, batch, config).loss.item<double>();
        ++batches;
      }
      embedder->train(was_training);
      if (batches > 0) metrics["val_loss"] = sum / static_cast<double>(batches);
    };
  }
  objective.description = Json{{"model", embedder->backbone->config().to_json()},
                               {"embedder", embedder->config().to_json()},
                               {"objective", config.to_json()},
                               {"tokenizer", tokenizer_spec},
                               {"data", fmt::format("{} training pairs, {} held-out pairs", train_pairs.size(), eval_pairs.size())}};
  return objective;
}

std::vector<TrainResult> train_stages(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<TrainingStage>& stages,
                                      const std::filesystem::path& out, bool resume, const std::string& tokenizer_spec, bool quiet,
                                      ProcessGroup* group) {
  if (stages.empty()) usage_error("staged training: no stages given");
  std::vector<TrainResult> results;
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& stage = stages[i];
    const auto dir = out / fmt::format("stage{}-{}", i + 1, stage.name);
    if (run_complete(dir, stage.train.steps)) {
      load_module_tensors(*embedder, load_safetensors(latest_checkpoint(dir) / "model.safetensors"), dir);
      TrainResult done;
      done.steps_done = stage.train.steps;
      results.push_back(done);
      if (!quiet) fmt::print(stderr, "stage {} ({}): already trained, loaded from {}\n", i + 1, stage.name, dir.string());
      continue;
    }
    if (!quiet)
      fmt::print(stderr, "stage {} ({}): {} pairs, in-batch negatives {}, {} hard negatives, lr {}, {} steps\n", i + 1, stage.name,
                 stage.pairs.size(), stage.objective.contrastive.in_batch ? "on" : "off", stage.objective.hard_negatives, stage.train.lr,
                 stage.train.steps);
    Trainer trainer(stage.train, dir);
    trainer.quiet = quiet;
    trainer.group = group;
    const bool continue_stage = resume && !latest_checkpoint(dir).empty();
    torch::manual_seed(static_cast<int64_t>(stage.train.seed));  // dropout
    results.push_back(trainer.fit(*embedder, contrastive_objective(embedder, tokenizer, stage.pairs, {}, stage.objective, stage.train,
                                                                   tokenizer_spec, group),
                                  continue_stage));
    if (results.back().interrupted) break;
  }
  return results;
}

}  // namespace garden::train
