#include "garden/train/grit_training.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/model_folder.h"
#include "garden/train/run_folder.h"

namespace garden::train {

namespace fs = std::filesystem;

GritMode parse_grit_mode(const std::string& name) {
  if (name == "unified") return GritMode::unified;
  if (name == "embedding") return GritMode::embedding;
  if (name == "generative") return GritMode::generative;
  usage_error(fmt::format("--mode must be unified, embedding or generative, not '{}'", name));
}

std::string to_string(GritMode mode) {
  switch (mode) {
    case GritMode::unified: return "unified";
    case GritMode::embedding: return "embedding";
    case GritMode::generative: return "generative";
  }
  return "?";
}

std::vector<GritGeneration> read_grit_generations(const fs::path& path) {
  std::vector<GritGeneration> rows;
  for_each_jsonl_object(path, [&](const Json& json, int64_t number) {
    const std::string where = fmt::format("{}:{}", path.string(), number);
    refuse_unknown_keys(json, Json{{"prompt", ""}, {"response", ""}, {"document", ""}, {"instruction", ""}, {"order", ""}}, where);
    auto field = [&](const char* key, bool required) {
      if (!json.contains(key) && !required) return std::string();
      if (!json.contains(key) || !json[key].is_string() || (required && json[key].get<std::string>().empty()))
        throw Error(fmt::format("{}: needs a{} string \"{}\"", where, required ? " non-empty" : "", key));
      return json[key].get<std::string>();
    };
    GritGeneration row{field("prompt", true), field("response", true), field("document", false), field("instruction", false)};
    if (json.contains("order")) row.order = model::parse_rag_order(field("order", true));
    rows.push_back(std::move(row));
  });
  if (rows.empty()) throw Error(fmt::format("{}: no prompt/response rows", path.string()));
  return rows;
}

void write_grit_generations(const fs::path& path, const std::vector<GritGeneration>& rows) {
  std::string out;
  for (const auto& row : rows) {
    Json json{{"prompt", row.prompt}, {"response", row.response}};
    if (!row.document.empty()) json.update(Json{{"document", row.document}, {"order", model::to_string(row.order)}});
    if (!row.instruction.empty()) json["instruction"] = row.instruction;
    out += json.dump() + "\n";
  }
  write_file_atomic(path, out);
}

GritDataset read_grit_dataset(const std::string& argument) {
  const auto split = argument.find("::");
  GritDataset dataset;
  const fs::path file = split == std::string::npos ? argument : argument.substr(0, split);
  if (split != std::string::npos) dataset.instruction = argument.substr(split + 2);
  dataset.name = file.stem().string();
  dataset.pairs = text::read_training_pairs(file);
  return dataset;
}

void GritOptions::validate() const {
  if (group_size < 1 || !(temperature > 0) || gen_batch < 1 || gen_sub_batch < 1 || !(lambda_rep >= 0) || !(lambda_gen >= 0) ||
      query_tokens < 2 || passage_tokens < 2 || gen_tokens < 4 || embed_max_tokens < 0)
    usage_error("grit: group size >= 1, temperature > 0, gen batch and sub-batch >= 1, weights >= 0 and token limits >= 2 (4 for generation) are needed");
}

Json GritOptions::to_json() const {
  return {{"mode", to_string(mode)},          {"group_size", group_size},         {"temperature", temperature},
          {"gen_batch", gen_batch},           {"lambda_rep", lambda_rep},         {"lambda_gen", lambda_gen},
          {"gen_loss", to_string(gen_loss)},  {"gen_sub_batch", gen_sub_batch},   {"query_tokens", query_tokens},
          {"passage_tokens", passage_tokens}, {"gen_tokens", gen_tokens},     {"embed_max_tokens", embed_max_tokens}};
}

namespace {

// The prompt (not counted): BOS + the chat-formatted prompt, or a RAG prompt for a row with a
// document; then the response and EOS (counted), cut to max_tokens by shortening the response.
// A prompt that leaves no room is cut from its start (after BOS).
std::vector<int64_t> generation_prompt(const text::Tokenizer& tokenizer, const GritGeneration& row, const GritOptions& options) {
  if (row.document.empty()) return model::grit_prompt_tokens(tokenizer, row.prompt);
  const auto query_prefix = model::grit_embedding_prefix(row.instruction);
  const auto query = model::grit_embedding_row(tokenizer, query_prefix, row.prompt,
                                               static_cast<int64_t>(tokenizer.encode(query_prefix).size()) + options.query_tokens + 1);
  const auto document = model::grit_embedding_row(tokenizer, model::grit_embedding_prefix(""), row.document, options.passage_tokens);
  return model::grit_rag_prompt(query, document, row.order, model::grit_answer_cue(tokenizer));
}

}  // namespace

GritGenerationBatch grit_generation_batch(const text::Tokenizer& tokenizer, const std::vector<const GritGeneration*>& rows,
                                          const GritOptions& options) {
  const int64_t max_tokens = options.gen_tokens;
  std::vector<std::vector<int64_t>> ids;
  std::vector<int64_t> prompt_lengths;
  for (const auto* row : rows) {
    auto prompt = generation_prompt(tokenizer, *row, options);
    if (static_cast<int64_t>(prompt.size()) > max_tokens - 2) prompt.erase(prompt.begin() + 1, prompt.end() - (max_tokens - 3));
    auto response = tokenizer.encode(row->response);
    response.resize(std::min<size_t>(response.size(), static_cast<size_t>(max_tokens) - prompt.size() - 1));
    response.push_back(tokenizer.eos_id());
    prompt_lengths.push_back(static_cast<int64_t>(prompt.size()));
    prompt.insert(prompt.end(), response.begin(), response.end());
    ids.push_back(std::move(prompt));
  }
  int64_t longest = 0;
  for (const auto& row : ids) longest = std::max<int64_t>(longest, static_cast<int64_t>(row.size()));
  const auto b = static_cast<int64_t>(ids.size());
  GritGenerationBatch batch{torch::full({b, longest}, tokenizer.pad_id(), torch::kLong), torch::zeros({b, longest}, torch::kLong),
                        torch::zeros({b, longest}, torch::kLong)};
  auto tok = batch.tokens.accessor<int64_t, 2>(), att = batch.attention_mask.accessor<int64_t, 2>(), cnt = batch.counted.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t t = 0; t < static_cast<int64_t>(ids[i].size()); ++t) {
      tok[i][t] = ids[i][t];
      att[i][t] = 1;
      cnt[i][t] = t >= prompt_lengths[i] ? 1 : 0;
    }
  return batch;
}

namespace {

// The passages of each pair: its positive, then group_size - 1 negatives (its own first, then
// positives of other pairs of the dataset drawn with `rng`).
std::vector<std::string> passage_group(const GritDataset& dataset, size_t index, int64_t group_size, std::mt19937_64& rng) {
  const auto& pair = dataset.pairs[index];
  std::vector<std::string> group{pair.positive};
  for (const auto& negative : pair.negatives)
    if (static_cast<int64_t>(group.size()) < group_size) group.push_back(negative);
  std::uniform_int_distribution<size_t> any(0, dataset.pairs.size() - 1);
  while (static_cast<int64_t>(group.size()) < group_size) {
    const size_t other = any(rng);
    if (other != index || dataset.pairs.size() == 1) group.push_back(dataset.pairs[other].positive);
  }
  return group;
}

struct Losses {
  torch::Tensor rep, gen;
  int64_t tokens = 0;
};

torch::Tensor representation_loss(model::LoadedGrit& model, const GritDataset& dataset, const std::vector<size_t>& indices,
                                  const GritOptions& options, std::mt19937_64& rng, int64_t& tokens) {
  std::vector<std::string> queries, passages;
  for (const size_t i : indices) {
    queries.push_back(dataset.pairs[i].query);
    for (auto& passage : passage_group(dataset, i, options.group_size, rng)) passages.push_back(std::move(passage));
  }
  const auto device = model.embedder->backbone->token_embedding->weight.device();
  const auto folding = model.embedder->config().case_folding;
  const auto query_prefix = model::grit_embedding_prefix(dataset.instruction);
  const auto prefix_tokens = static_cast<int64_t>(model.tokenizer->encode(query_prefix).size());
  const auto q = model::make_embedding_batch(*model.tokenizer, queries, query_prefix, prefix_tokens + options.query_tokens + 1, folding);
  const auto p = model::make_embedding_batch(*model.tokenizer, passages, model::grit_embedding_prefix(""), options.passage_tokens, folding);
  tokens += q.attention_mask.sum().item<int64_t>() + p.attention_mask.sum().item<int64_t>();
  const auto qv = model.embedder->forward(q.tokens.to(device), q.attention_mask.to(device), q.pool_mask.to(device));
  const auto pv = model.embedder->forward(p.tokens.to(device), p.attention_mask.to(device), p.pool_mask.to(device));
  return grit_representation_loss(qv, pv, options.group_size, options.temperature);
}

torch::Tensor generative_loss(model::LoadedGrit& model, const std::vector<const GritGeneration*>& rows, const GritOptions& options,
                              int64_t& tokens) {
  const auto device = model.embedder->backbone->token_embedding->weight.device();
  const auto batch = grit_generation_batch(*model.tokenizer, rows, options);
  tokens += batch.attention_mask.sum().item<int64_t>();
  model::ForwardOptions forward;
  forward.mask = model::MaskMode::causal;
  forward.attention_mask = batch.attention_mask.to(device);
  const auto logits = model.embedder->backbone->forward(batch.tokens.to(device), forward).logits;
  const auto losses = next_token_losses(logits, batch.tokens.to(device), batch.counted.to(device));
  return aggregate_generative_loss(losses.losses, losses.counted, options.gen_loss, options.gen_sub_batch);
}

}  // namespace

Objective grit_objective(model::LoadedGrit& model, const std::vector<GritDataset>& datasets, const std::vector<GritGeneration>& generations,
                         const std::vector<text::TextPair>& held_out_pairs, const std::vector<GritGeneration>& held_out_generations,
                         const GritOptions& options, int64_t embed_batch, uint64_t seed, std::shared_ptr<GritLossLog> log, bool quiet) {
  options.validate();
  const bool embeds = options.mode != GritMode::generative, generates = options.mode != GritMode::embedding;
  if (embeds && datasets.empty()) usage_error("grit: the embedding loss needs at least one pairs dataset (--pairs)");
  if (generates && generations.empty()) usage_error("grit: the generative loss needs prompt/response rows (--gen-data)");
  if (generates && !model.attention.generates)
    usage_error(fmt::format("grit: attention '{}' is embedding-only; the generative loss needs bbcc or cccc", model.attention.code));
  int64_t total_pairs = 0;
  for (const auto& dataset : datasets) {
    if (static_cast<int64_t>(dataset.pairs.size()) < embed_batch)
      usage_error(fmt::format("grit: dataset {} has {} pairs, fewer than a batch of {} (each batch comes from one dataset)", dataset.name,
                              dataset.pairs.size(), embed_batch));
    total_pairs += static_cast<int64_t>(dataset.pairs.size());
  }
  auto held_out = std::make_shared<GritDataset>(GritDataset{"held-out", datasets.empty() ? std::string() : datasets.front().instruction, held_out_pairs});

  Objective objective;
  objective.micro_step = [&model, &datasets, &generations, options, embed_batch, seed, log, quiet, embeds, generates,
                          total_pairs](int64_t index) {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(index));
    MicroStep step;
    torch::Tensor rep, gen;
    if (embeds) {
      // A dataset drawn in proportion to its size, then a batch of distinct pairs from it.
      std::uniform_int_distribution<int64_t> pick(0, total_pairs - 1);
      int64_t r = pick(rng);
      size_t d = 0;
      while (r >= static_cast<int64_t>(datasets[d].pairs.size())) r -= static_cast<int64_t>(datasets[d++].pairs.size());
      std::vector<size_t> order(datasets[d].pairs.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      for (int64_t i = 0; i < embed_batch; ++i) {  // a partial Fisher-Yates shuffle
        std::uniform_int_distribution<size_t> rest(static_cast<size_t>(i), order.size() - 1);
        std::swap(order[static_cast<size_t>(i)], order[rest(rng)]);
      }
      order.resize(static_cast<size_t>(embed_batch));
      rep = representation_loss(model, datasets[d], order, options, rng, step.tokens);
    }
    if (generates) {
      std::uniform_int_distribution<size_t> pick(0, generations.size() - 1);
      std::vector<const GritGeneration*> rows;
      for (int64_t i = 0; i < options.gen_batch; ++i) rows.push_back(&generations[pick(rng)]);
      gen = generative_loss(model, rows, options, step.tokens);
    }
    const double rep_value = rep.defined() ? rep.item<double>() : 0.0, gen_value = gen.defined() ? gen.item<double>() : 0.0;
    if (log->micro_steps == 0 && index == 0) {
      log->first_rep = rep_value;
      log->first_gen = gen_value;
      if (!quiet)
        fmt::print(stderr, "step 1: representation loss {:.4f}, generative loss {:.4f}{}\n", rep_value, gen_value,
                   rep.defined() && gen.defined() && gen_value > 0 ? fmt::format(", ratio {:.2f}", rep_value / gen_value) : std::string());
    }
    log->rep_sum += rep_value;
    log->gen_sum += gen_value;
    ++log->micro_steps;
    if (rep.defined() && gen.defined()) step.loss = options.lambda_rep * rep + options.lambda_gen * gen;
    else step.loss = rep.defined() ? options.lambda_rep * rep : options.lambda_gen * gen;
    return step;
  };
  objective.save = [&model](const fs::path& dir) { model::save_grit(dir, model.embedder, model.tokenizer_spec, model.attention); };
  objective.evaluate = [&model, &held_out_generations, held_out, options, embed_batch, seed, log](int64_t, Json& metrics) {
    if (log->micro_steps > 0) {
      const double rep = log->rep_sum / static_cast<double>(log->micro_steps), gen = log->gen_sum / static_cast<double>(log->micro_steps);
      metrics["rep_loss"] = rep;
      metrics["gen_loss"] = gen;
      if (gen > 0 && rep > 0) metrics["rep_gen_ratio"] = rep / gen;
      log->rep_sum = log->gen_sum = 0;
      log->micro_steps = 0;
    }
    torch::NoGradGuard no_grad;
    const bool was_training = model.embedder->is_training();
    model.embedder->eval();
    double val = 0;
    bool any = false;
    if (!held_out->pairs.empty() && options.mode != GritMode::generative) {
      double sum = 0;
      int64_t batches = 0, tokens = 0;
      const auto batch = std::min<int64_t>(embed_batch, static_cast<int64_t>(held_out->pairs.size()));
      std::mt19937_64 rng(seed + 17);
      for (int64_t start = 0; start + batch <= static_cast<int64_t>(held_out->pairs.size()); start += batch, ++batches) {
        std::vector<size_t> indices;
        for (int64_t i = start; i < start + batch; ++i) indices.push_back(static_cast<size_t>(i));
        sum += representation_loss(model, *held_out, indices, options, rng, tokens).item<double>();
      }
      metrics["val_rep_loss"] = sum / static_cast<double>(batches);
      val += options.lambda_rep * sum / static_cast<double>(batches);
      any = true;
    }
    if (!held_out_generations.empty() && options.mode != GritMode::embedding) {
      double sum = 0;
      int64_t batches = 0, tokens = 0;
      for (size_t start = 0; start < held_out_generations.size(); start += static_cast<size_t>(options.gen_batch), ++batches) {
        std::vector<const GritGeneration*> rows;
        for (size_t i = start; i < std::min(held_out_generations.size(), start + static_cast<size_t>(options.gen_batch)); ++i)
          rows.push_back(&held_out_generations[i]);
        sum += generative_loss(model, rows, options, tokens).item<double>();
      }
      metrics["val_gen_loss"] = sum / static_cast<double>(batches);
      val += options.lambda_gen * sum / static_cast<double>(batches);
      any = true;
    }
    if (any) metrics["val_loss"] = val;
    if (was_training) model.embedder->train();
  };
  objective.description = Json{{"kind", "grit"}, {"attention", model.attention.code}, {"grit", options.to_json()}, {"embed_batch", embed_batch}};
  return objective;
}

double mean_response_loss(model::LoadedGrit& model, const std::vector<GritGeneration>& rows, const GritOptions& options, int64_t batch) {
  if (rows.empty() || batch < 1) throw Error("response loss: no rows, or a batch below 1");
  torch::NoGradGuard no_grad;
  const bool was_training = model.embedder->is_training();
  model.embedder->eval();
  auto token_level = options;
  token_level.gen_loss = GenLossAggregation::token;
  double nats = 0, tokens = 0;
  for (size_t start = 0; start < rows.size(); start += static_cast<size_t>(batch)) {
    std::vector<const GritGeneration*> chunk;
    for (size_t i = start; i < std::min(rows.size(), start + static_cast<size_t>(batch)); ++i) chunk.push_back(&rows[i]);
    const auto b = grit_generation_batch(*model.tokenizer, chunk, token_level);
    const auto device = model.embedder->backbone->token_embedding->weight.device();
    model::ForwardOptions forward;
    forward.attention_mask = b.attention_mask.to(device);
    const auto losses = next_token_losses(model.embedder->backbone->forward(b.tokens.to(device), forward).logits, b.tokens.to(device),
                                          b.counted.to(device));
    nats += (losses.losses * losses.counted.to(losses.losses.dtype())).sum().item<double>();
    tokens += losses.counted.sum().item<double>();
  }
  if (was_training) model.embedder->train();
  return nats / tokens;
}

GritRun train_grit(const fs::path& model_path, const std::string& attention, const std::string& pooling,
                   const std::vector<GritDataset>& datasets, const std::vector<GritGeneration>& generations,
                   const std::vector<text::TextPair>& held_out_pairs, const std::vector<GritGeneration>& held_out_generations,
                   const GritOptions& options, const TrainConfig& train, const fs::path& out, bool resume, bool quiet, torch::Device device) {
  options.validate();
  claim_run_folder(out, "garden embed train", resume);
  const fs::path folder = model_folder(model_path);
  model::LoadedGrit model;
  if (model::is_grit_folder(folder)) {
    model = model::load_grit(folder, device);
    if (!attention.empty() && attention != model.attention.code)
      usage_error(fmt::format("{} was trained with attention {}; drop --attention or start from its LM", folder.string(), model.attention.code));
  } else {
    // Texts are cut at the backbone's context when embedded later (training cuts them shorter).
    const auto context = options.embed_max_tokens > 0 ? options.embed_max_tokens : model::load_model(folder).model->config().max_seq;
    model = model::grit_from_lm(folder, model::parse_grit_attention(attention.empty() ? "bbcc" : attention), model::parse_pooling(pooling),
                                context, out / "tokenizer.model", device);
  }
  model.embedder->backbone->set_dropout(0.0);
  auto log = std::make_shared<GritLossLog>();
  Trainer trainer(train, out);
  trainer.quiet = quiet;
  trainer.tokenizer_spec = model.tokenizer_spec;
  if (!quiet)
    fmt::print(stderr, "GritLM ({} mode, attention {}, {} pooling): {} embedding datasets, {} generative rows; batches {} queries x {} passages + {} rows\n",
               to_string(options.mode), model.attention.code, model::to_string(model.embedder->config().pooling), datasets.size(),
               generations.size(), train.batch, options.group_size, options.gen_batch);
  // Nothing here draws from libtorch's generator (no dropout; batches come from their own
  // seeded generator), so arms may train side by side.
  const auto objective = grit_objective(model, datasets, generations, held_out_pairs, held_out_generations, options, train.batch, train.seed, log, quiet);
  GritRun run;
  run.result = trainer.fit(*model.embedder, objective, resume);
  run.losses = *log;
  return run;
}

}  // namespace garden::train
