#include "garden/train/creative.h"

#include <fmt/core.h>

#include <algorithm>
#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/safetensors.h"
#include "garden/model/generation.h"
#include "garden/train/run_folder.h"

namespace garden::train {

namespace tc = text::creative;
using tc::Vocab;

CreativeObjective parse_creative_objective(const std::string& name) {
  if (name == "ntp") return CreativeObjective::ntp;
  if (name == "teacherless") return CreativeObjective::teacherless;
  if (name == "diffusion") return CreativeObjective::diffusion;
  usage_error(fmt::format("unknown objective '{}' (ntp, teacherless or diffusion)", name));
}

std::string to_string(CreativeObjective objective) {
  switch (objective) {
    case CreativeObjective::ntp: return "ntp";
    case CreativeObjective::teacherless: return "teacherless";
    case CreativeObjective::diffusion: return "diffusion";
  }
  return "?";
}

PrefixKind parse_prefix_kind(const std::string& name) {
  if (name == "null") return PrefixKind::null;
  if (name == "hash") return PrefixKind::hash;
  usage_error(fmt::format("unknown prefix '{}' (null or hash)", name));
}

std::string to_string(PrefixKind prefix) { return prefix == PrefixKind::hash ? "hash" : "null"; }

void CreativeOptions::validate() const {
  if (teacherless_share < 0 || teacherless_share > 1) usage_error(fmt::format("--teacherless-share {} must be in [0, 1]", teacherless_share));
  if (d_model < 1 || layers < 1 || heads < 1 || d_model % heads != 0)
    usage_error(fmt::format("--d-model {} must be a positive multiple of --n-heads {} (and --n-layers {} >= 1)", d_model, heads, layers));
}

Json CreativeOptions::to_json() const {
  return {{"objective", to_string(objective)}, {"prefix", to_string(prefix)}, {"teacherless_share", teacherless_share},
          {"d_model", d_model}, {"layers", layers}, {"heads", heads}};
}

std::vector<int64_t> creative_prompt(const Vocab& vocab, const std::string& hash, int64_t marker, PrefixKind prefix) {
  std::vector<int64_t> p;
  if (prefix == PrefixKind::hash) p = vocab.hash_tokens(hash);
  p.push_back(marker);
  return p;
}

namespace {

int64_t max_row_length(const tc::TaskData& data) {
  // hash, marker, the longest answer (an edge fact is shorter than a triangle) and </a>.
  return data.options.hash_length + 1 + data.answer_length() + 1;
}

// Rows right-padded with the dummy token to one length.
torch::Tensor pad_rows(const std::vector<std::vector<int64_t>>& rows, int64_t length) {
  auto t = torch::full({static_cast<int64_t>(rows.size()), length}, Vocab::kDummy, torch::kLong);
  auto a = t.accessor<int64_t, 2>();
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) a[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = rows[i][j];
  return t;
}

}  // namespace

CreativeBatch next_token_batch(const tc::TaskData& data, const std::vector<const tc::Example*>& examples, PrefixKind prefix,
                               const std::vector<bool>& teacherless) {
  std::vector<std::vector<int64_t>> inputs, targets;
  std::vector<std::pair<size_t, size_t>> scored;  // [first, last) target positions of each row
  int64_t longest = 1;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& ex = *examples[i];
    auto row = creative_prompt(data.vocab, ex.hash, ex.marker, prefix);
    const size_t prompt = row.size();
    row.insert(row.end(), ex.answer.begin(), ex.answer.end());
    row.push_back(Vocab::kEnd);
    std::vector<int64_t> in(row.begin(), row.end() - 1), out(row.begin() + 1, row.end());
    // Teacherless: the answer's inputs (every position after the prompt) read the dummy.
    if (teacherless[i] && ex.marker != Vocab::kEdge) std::fill(in.begin() + static_cast<std::ptrdiff_t>(prompt), in.end(), Vocab::kDummy);
    scored.emplace_back(prompt - 1, out.size());
    longest = std::max<int64_t>(longest, static_cast<int64_t>(in.size()));
    inputs.push_back(std::move(in));
    targets.push_back(std::move(out));
  }
  CreativeBatch b;
  b.inputs = pad_rows(inputs, longest);
  b.targets = pad_rows(targets, longest);
  b.weights = torch::zeros({static_cast<int64_t>(examples.size()), longest});
  auto w = b.weights.accessor<float, 2>();
  double counted = 0;
  for (size_t i = 0; i < scored.size(); ++i)
    for (size_t j = scored[i].first; j < scored[i].second; ++j) {
      w[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = 1;
      ++counted;
    }
  b.denominator = std::max(1.0, counted);
  b.mask = model::MaskMode::causal;
  return b;
}

CreativeBatch diffusion_batch(const tc::TaskData& data, const std::vector<const tc::Example*>& examples, PrefixKind prefix,
                              const std::vector<double>& times, const std::vector<std::vector<double>>& uniforms) {
  if (times.size() != examples.size() || uniforms.size() != examples.size())
    throw Error(fmt::format("diffusion batch: {} examples, {} times and {} uniform rows", examples.size(), times.size(), uniforms.size()));
  std::vector<std::vector<int64_t>> inputs, targets;
  std::vector<std::vector<float>> weight_rows;
  int64_t longest = 1;
  double positions = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& ex = *examples[i];
    if (times[i] <= 0 || times[i] > 1) throw Error(fmt::format("diffusion batch: time {} outside (0, 1]", times[i]));
    auto row = creative_prompt(data.vocab, ex.hash, ex.marker, prefix);
    const size_t prompt = row.size();
    row.insert(row.end(), ex.answer.begin(), ex.answer.end());
    row.push_back(Vocab::kEnd);
    const size_t answer = row.size() - prompt;
    if (uniforms[i].size() < answer) throw Error(fmt::format("diffusion batch: {} uniforms for {} answer positions", uniforms[i].size(), answer));
    const auto first = std::min_element(uniforms[i].begin(), uniforms[i].begin() + static_cast<std::ptrdiff_t>(answer)) - uniforms[i].begin();
    std::vector<int64_t> in = row;
    std::vector<float> weights(row.size(), 0.0F);
    for (size_t j = 0; j < answer; ++j)
      if (uniforms[i][j] < times[i] || static_cast<std::ptrdiff_t>(j) == first) {
        in[prompt + j] = Vocab::kMask;
        weights[prompt + j] = static_cast<float>(1.0 / times[i]);
      }
    positions += static_cast<double>(answer);
    longest = std::max<int64_t>(longest, static_cast<int64_t>(row.size()));
    inputs.push_back(std::move(in));
    targets.push_back(std::move(row));
    weight_rows.push_back(std::move(weights));
  }
  CreativeBatch b;
  b.inputs = pad_rows(inputs, longest);
  b.targets = pad_rows(targets, longest);
  b.weights = torch::zeros({static_cast<int64_t>(examples.size()), longest});
  auto w = b.weights.accessor<float, 2>();
  for (size_t i = 0; i < weight_rows.size(); ++i)
    for (size_t j = 0; j < weight_rows[i].size(); ++j) w[static_cast<int64_t>(i)][static_cast<int64_t>(j)] = weight_rows[i][j];
  b.denominator = std::max(1.0, positions);
  b.mask = model::MaskMode::bidirectional;
  b.attention_mask = torch::zeros({static_cast<int64_t>(examples.size()), longest}, torch::kLong);
  for (size_t i = 0; i < targets.size(); ++i) b.attention_mask[static_cast<int64_t>(i)].slice(0, 0, static_cast<int64_t>(targets[i].size())).fill_(1);
  return b;
}

torch::Tensor creative_loss(model::Transformer& model, const CreativeBatch& batch) {
  const auto device = model->parameters().front().device();
  model::ForwardOptions fo;
  fo.mask = batch.mask;
  if (batch.attention_mask.defined()) fo.attention_mask = batch.attention_mask.to(device);
  // A causal row's padding (the dummy token after its end) comes after every scored position,
  // so it needs no mask.
  const auto logits = model->forward(batch.inputs.to(device), fo).logits;  // [B,T,V]
  const auto ce = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat),
                                                       batch.targets.to(device).reshape({-1}),
                                                       torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  return (ce * batch.weights.to(device).reshape({-1})).sum() / batch.denominator;
}

model::Transformer new_creative_model(const tc::TaskData& data, const CreativeOptions& options) {
  options.validate();
  model::TransformerConfig config;
  config.vocab = data.vocab.size();
  config.d_model = options.d_model;
  config.n_layers = options.layers;
  config.n_heads = options.heads;
  config.max_seq = max_row_length(data) + 1;
  return model::Transformer(config);
}

void save_creative_model(const std::filesystem::path& dir, model::Transformer& model, const CreativeOptions& options,
                         const tc::TaskOptions& task) {
  std::filesystem::create_directories(dir);
  save_safetensors(dir / "model.safetensors", module_tensors(*model), {{"format", "garden"}});
  write_json_atomic(dir / "config.json", Json{{"model", model->config().to_json()}, {"creative", options.to_json()}, {"task", task.to_json()}});
}

CreativeModel load_creative_model(const std::filesystem::path& path) {
  const auto dir = model_folder(path);
  const auto config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path) || !std::filesystem::exists(dir / "model.safetensors"))
    throw Error(fmt::format("{}: no model.safetensors and config.json (a model of garden creative train is needed)", path.string()));
  const Json config = read_json_file(config_path);
  if (!config.contains("creative") || !config.contains("task"))
    throw Error(fmt::format("{}: not a model of garden creative train (no 'creative' section)", config_path.string()));
  CreativeModel m;
  try {
    const auto& c = config.at("creative");
    m.options.objective = parse_creative_objective(c.at("objective").get<std::string>());
    m.options.prefix = parse_prefix_kind(c.at("prefix").get<std::string>());
    m.options.teacherless_share = c.at("teacherless_share").get<double>();
    m.options.d_model = c.at("d_model").get<int64_t>();
    m.options.layers = c.at("layers").get<int64_t>();
    m.options.heads = c.at("heads").get<int64_t>();
  } catch (const Json::exception& e) {
    throw Error(fmt::format("{}: bad 'creative' section ({})", config_path.string(), e.what()));
  }
  m.task = tc::TaskOptions::from_json(config.at("task"), config_path.string());
  m.model = model::Transformer(model::TransformerConfig::from_json(config.at("model"), config_path.string()));
  load_module_tensors(*m.model, load_safetensors(dir / "model.safetensors"), dir / "model.safetensors");
  m.model->eval();
  return m;
}

CreativeBatch training_batch(const tc::TaskData& data, const CreativeOptions& options, int64_t size, uint64_t seed, int64_t index) {
  // A pure function of (seed, index), so a resumed run sees the same rows.
  std::mt19937_64 rng(seed * 7919 + static_cast<uint64_t>(index) * 104729 + 1);
  std::uniform_int_distribution<size_t> pick(0, data.train.size() - 1);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<const tc::Example*> rows;
  for (int64_t i = 0; i < size; ++i) rows.push_back(&data.train[pick(rng)]);
  if (options.objective == CreativeObjective::diffusion) {
    std::vector<double> times;
    std::vector<std::vector<double>> uniforms;
    for (size_t i = 0; i < rows.size(); ++i) {
      times.push_back(1.0 - unit(rng));  // (0, 1]
      std::vector<double> u(static_cast<size_t>(data.answer_length() + 1));
      for (auto& x : u) x = unit(rng);
      uniforms.push_back(std::move(u));
    }
    return diffusion_batch(data, rows, options.prefix, times, uniforms);
  }
  std::vector<bool> teacherless;
  for (size_t i = 0; i < rows.size(); ++i)
    teacherless.push_back(options.objective == CreativeObjective::teacherless && unit(rng) < options.teacherless_share);
  return next_token_batch(data, rows, options.prefix, teacherless);
}

TrainResult train_creative(model::Transformer& model, const tc::TaskData& data, const CreativeOptions& options, const TrainConfig& config,
                           const std::filesystem::path& out, bool resume, bool quiet) {
  if (data.train.empty()) throw Error("creative training: the task has no training examples");
  if (model->config().vocab != data.vocab.size())
    throw Error(fmt::format("creative training: a model of vocabulary {} for a task of {} tokens", model->config().vocab, data.vocab.size()));
  Objective objective;
  objective.micro_step = [&](int64_t index) {
    const auto batch = training_batch(data, options, config.batch, config.seed, index);
    return MicroStep{creative_loss(model, batch), batch.inputs.numel()};
  };
  objective.save = [&](const std::filesystem::path& dir) { save_creative_model(dir, model, options, data.options); };
  objective.description = Json{{"model", model->config().to_json()}, {"objective", {{"kind", "creative"}, {"creative", options.to_json()}}},
                               {"task", data.options.to_json()}};
  Trainer trainer(config, out);
  trainer.quiet = quiet;
  return trainer.fit(*model, objective, resume);
}

std::vector<std::pair<std::string, int64_t>> test_prompts(const tc::TaskData& data) {
  std::vector<std::pair<std::string, int64_t>> prompts;
  for (const auto& h : data.test_hashes) prompts.emplace_back(h, data.test_marker());
  return prompts;
}

namespace {

text::creative::Output cut_at_end(const std::vector<int64_t>& tokens) {
  text::creative::Output out;
  const auto end = std::find(tokens.begin(), tokens.end(), Vocab::kEnd);
  out.answer.assign(tokens.begin(), end);
  out.ended = end != tokens.end();
  return out;
}

// Iterative unmasking of one chunk of prompts of equal length.
std::vector<text::creative::Output> unmask(model::Transformer& model, const tc::TaskData& data, const std::vector<std::vector<int64_t>>& prompts,
                                         const std::vector<uint64_t>& seeds, const CreativeSampling& sampling) {
  const auto n = static_cast<int64_t>(prompts.size());
  const auto p = static_cast<int64_t>(prompts.front().size());
  const int64_t length = data.answer_length() + 1;
  const int64_t steps = sampling.diffusion_steps > 0 ? std::min(sampling.diffusion_steps, length) : length;
  std::vector<std::mt19937_64> rngs;
  for (const auto s : seeds) rngs.emplace_back(s);
  std::uniform_real_distribution<double> unit(0, 1);
  auto x = torch::full({n, p + length}, Vocab::kMask, torch::kLong);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < p; ++j) x[i][j] = prompts[static_cast<size_t>(i)][static_cast<size_t>(j)];
  auto masked = torch::ones({n, length}, torch::kBool);
  const auto device = model->parameters().front().device();
  model::ForwardOptions fo;
  fo.mask = model::MaskMode::bidirectional;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t count = (s + 1) * length / steps - s * length / steps;
    if (count == 0) continue;
    auto logits = model->forward(x.to(device), fo).logits.slice(1, p).to(torch::kCPU, torch::kFloat);  // [n,L,V]
    // Never write the absorbing state, the dummy or a hash character into an answer.
    logits.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(Vocab::kDummy, Vocab::kDummy + 1)},
                      -std::numeric_limits<float>::infinity());
    logits.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(Vocab::kMask, Vocab::kEntityBase)},
                      -std::numeric_limits<float>::infinity());
    torch::Tensor chosen, tokens;  // [n,count] positions, [n,count] tokens
    if (sampling.temperature <= 0) {
      const auto [confidence, argmax] = torch::softmax(logits, -1).max(-1);  // [n,L]
      chosen = std::get<1>(confidence.masked_fill(masked.logical_not(), -1.0).topk(count, 1));
      tokens = argmax.gather(1, chosen);
    } else {
      auto scores = torch::empty({n, length});
      auto sa = scores.accessor<float, 2>();
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < length; ++j) sa[i][j] = static_cast<float>(unit(rngs[static_cast<size_t>(i)]));
      chosen = std::get<1>(scores.masked_fill(masked.logical_not(), -1.0).topk(count, 1));
      const auto rows = logits.gather(1, chosen.unsqueeze(-1).expand({n, count, logits.size(-1)})).reshape({n * count, -1});
      const auto probs = torch::softmax(rows / sampling.temperature, -1);
      std::vector<double> uniforms;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < count; ++c) uniforms.push_back(unit(rngs[static_cast<size_t>(i)]));
      tokens = model::sample_rows(probs, uniforms).reshape({n, count});
    }
    masked.scatter_(1, chosen, false);
    x.slice(1, p).scatter_(1, chosen, tokens);
  }
  std::vector<text::creative::Output> outputs;
  const auto answers = x.slice(1, p).contiguous();
  for (int64_t i = 0; i < n; ++i) {
    const auto row = answers[i];
    outputs.push_back(cut_at_end(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + length)));
  }
  return outputs;
}

}  // namespace

std::vector<text::creative::Output> sample_creative(model::Transformer& model, const tc::TaskData& data, const CreativeOptions& options,
                                                  const std::vector<std::pair<std::string, int64_t>>& prompts,
                                                  const CreativeSampling& sampling) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<text::creative::Output> outputs;
  const auto batch = static_cast<size_t>(std::max<int64_t>(1, sampling.batch));
  for (size_t begin = 0; begin < prompts.size(); begin += batch) {
    const size_t end = std::min(prompts.size(), begin + batch);
    std::vector<std::vector<int64_t>> rows;
    std::vector<uint64_t> seeds;
    for (size_t i = begin; i < end; ++i) {
      rows.push_back(creative_prompt(data.vocab, prompts[i].first, prompts[i].second, options.prefix));
      seeds.push_back(sampling.seed + i);
    }
    const bool same_length = std::all_of(rows.begin(), rows.end(), [&](const auto& r) { return r.size() == rows.front().size(); });
    if (!same_length) throw Error("creative sampling: prompts of one batch differ in length (hashes of different lengths)");
    if (options.objective == CreativeObjective::diffusion) {
      auto chunk = unmask(model, data, rows, seeds, sampling);
      outputs.insert(outputs.end(), chunk.begin(), chunk.end());
      continue;
    }
    model::GenerateOptions generate;
    generate.max_new_tokens = data.answer_length() + 1;
    generate.temperature = sampling.temperature;
    generate.stop_tokens = {Vocab::kEnd};
    for (const auto& c : model::generate_batch(model, rows, seeds, generate)) outputs.push_back(cut_at_end(c.tokens));
  }
  return outputs;
}

}  // namespace garden::train
