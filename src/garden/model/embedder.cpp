#include "garden/model/embedder.h"

#include <fmt/core.h>

#include <algorithm>
#include <numeric>

#include "garden/core/error.h"
#include "garden/core/safetensors.h"
#include "garden/model/autocast.h"
#include "garden/model/model_folder.h"

namespace garden::model {

CaseFolding parse_case_folding(const std::string& name) {
  if (name == "none") return CaseFolding::none;
  if (name == "all-caps") return CaseFolding::all_caps;
  if (name == "all") return CaseFolding::all;
  usage_error("case folding must be none, all-caps or all, not '" + name + "'");
}

std::string to_string(CaseFolding folding) {
  switch (folding) {
    case CaseFolding::none: return "none";
    case CaseFolding::all_caps: return "all-caps";
    case CaseFolding::all: return "all";
  }
  throw Error("unknown case folding");
}

std::string fold_case(const std::string& text, CaseFolding folding) {
  if (folding == CaseFolding::none) return text;
  const auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  const auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  if (folding == CaseFolding::all_caps) {
    const auto upper = std::count_if(text.begin(), text.end(), is_upper);
    const auto letters = upper + std::count_if(text.begin(), text.end(), is_lower);
    if (letters < 4 || upper * 10 < letters * 9) return text;
  }
  std::string folded = text;
  for (char& c : folded)
    if (is_upper(c)) c = static_cast<char>(c - 'A' + 'a');
  return folded;
}

Json EmbedderConfig::to_json() const {
  return {{"pooling", to_string(pooling)},
          {"mask", to_string(mask)},
          {"latents", latent.latents},
          {"latent_heads", latent.heads},
          {"latent_head_dim", latent.head_dim},
          {"latent_ff_mult", latent.ff_mult},
          {"projection", projection},
          {"projection_layernorm", projection_layernorm},
          {"score", unit_vectors ? "cosine" : "dot"},
          {"max_tokens", max_tokens},
          {"case_folding", to_string(case_folding)},
          {"bf16", bf16}};
}

EmbedderConfig EmbedderConfig::from_json(const Json& json, const std::string& where) {
  if (!json.is_object()) throw Error(where + ": the embedder section must be a JSON object");
  EmbedderConfig c;
  const std::string section = where + " embedder";
  refuse_unknown_keys(json, c.to_json(), section);
  std::string pooling = "mean", mask = "bidirectional", case_folding = "none";  // "none": models saved before the field
  read_field(json, "pooling", pooling, section);
  read_field(json, "case_folding", case_folding, section);
  c.case_folding = parse_case_folding(case_folding);
  read_field(json, "mask", mask, section);
  c.pooling = parse_pooling(pooling);
  c.mask = parse_mask_mode(mask);
  read_field(json, "latents", c.latent.latents, section);
  read_field(json, "latent_heads", c.latent.heads, section);
  read_field(json, "latent_head_dim", c.latent.head_dim, section);
  read_field(json, "latent_ff_mult", c.latent.ff_mult, section);
  read_field(json, "projection", c.projection, section);
  read_field(json, "projection_layernorm", c.projection_layernorm, section);  // false for models saved before the field
  std::string score = "cosine";
  read_field(json, "score", score, section);
  if (score != "cosine" && score != "dot") usage_error(fmt::format("{}: score must be cosine or dot, not '{}'", section, score));
  c.unit_vectors = score == "cosine";
  read_field(json, "max_tokens", c.max_tokens, section);
  read_field(json, "bf16", c.bf16, section);  // false for models saved before the field
  if (c.max_tokens < 2 || c.projection < 0)
    usage_error(fmt::format("{}: embedder max_tokens must be >= 2 and projection >= 0", where));
  if (c.mask == MaskMode::prefix)
    usage_error(fmt::format("{}: an embedder's mask is causal, bidirectional or causal_prefix", where));
  if (c.projection_layernorm && c.projection == 0)
    usage_error(fmt::format("{}: projection_layernorm needs a projection (its LayerNorm follows the linear head)", where));
  return c;
}

EmbedderImpl::EmbedderImpl(Transformer backbone_model, const EmbedderConfig& config) : config_(config) {
  backbone = register_module("backbone", backbone_model);
  const int64_t d = backbone->config().d_model;
  if (config.pooling == Pooling::latent_attention) latent = register_module("latent", LatentAttentionPooler(d, config.latent));
  if (config.projection > 0) projection = register_module("projection", torch::nn::Linear(d, config.projection));
  if (config.projection_layernorm)
    projection_norm = register_module("projection_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.projection})));
}

int64_t EmbedderImpl::dims() const { return config_.projection > 0 ? config_.projection : backbone->config().d_model; }

torch::Tensor EmbedderImpl::features(const torch::Tensor& tokens, const torch::Tensor& attention_mask, const torch::Tensor& pool_mask) {
  ForwardOptions options;
  options.mask = config_.mask;
  options.attention_mask = attention_mask;
  options.compute_logits = false;
  // GritLM's `cb`: the instruction (everything before the first pooled token) reads causally.
  if (config_.mask == MaskMode::causal_prefix) options.prefix_lengths = (pool_mask > 0).to(torch::kLong).argmax(1);
  auto pooled = pool(backbone->forward(tokens, options).hidden, pool_mask, config_.pooling, latent);
  if (!projection) return pooled;
  auto z = projection(pooled);
  return projection_norm ? projection_norm(z) : z;
}

torch::Tensor EmbedderImpl::forward(const torch::Tensor& tokens, const torch::Tensor& attention_mask, const torch::Tensor& pool_mask) {
  const auto z = features(tokens, attention_mask, pool_mask);
  // Poolers already return unit vectors; only a projection's output needs normalising.
  if (!config_.unit_vectors || !projection) return z;
  return torch::nn::functional::normalize(z, torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

EmbeddingBatch pad_embedding_rows(const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, int64_t pool_from) {
  if (rows.empty()) throw Error("embedding batch: no texts");
  int64_t longest = 0;
  for (const auto& row : rows) longest = std::max<int64_t>(longest, static_cast<int64_t>(row.size()));
  const int64_t b = static_cast<int64_t>(rows.size());
  EmbeddingBatch batch{torch::full({b, longest}, pad_id, torch::kLong), torch::zeros({b, longest}, torch::kLong),
                       torch::zeros({b, longest}, torch::kLong)};
  auto tok = batch.tokens.accessor<int64_t, 2>(), att = batch.attention_mask.accessor<int64_t, 2>(),
       pm = batch.pool_mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i)
    for (int64_t t = 0; t < static_cast<int64_t>(rows[i].size()); ++t) {
      tok[i][t] = rows[i][t];
      att[i][t] = 1;
      pm[i][t] = t >= pool_from ? 1 : 0;
    }
  return batch;
}

EmbeddingBatch make_embedding_batch(const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                    const std::string& instruction, int64_t max_tokens, CaseFolding folding) {
  if (texts.empty()) throw Error("embedding batch: no texts");
  const std::vector<int64_t> prefix = instruction.empty() ? std::vector<int64_t>{} : tokenizer.encode(instruction);
  if (static_cast<int64_t>(prefix.size()) + 2 > max_tokens)
    usage_error(fmt::format("the instruction takes {} tokens, more than max_tokens {} allows", prefix.size(), max_tokens));
  std::vector<std::vector<int64_t>> rows;
  for (const auto& t : texts) {
    std::vector<int64_t> body = tokenizer.encode(fold_case(t, folding));
    body.resize(std::min<size_t>(body.size(), static_cast<size_t>(max_tokens) - prefix.size() - 1));
    std::vector<int64_t> row = prefix;
    row.insert(row.end(), body.begin(), body.end());
    row.push_back(tokenizer.eos_id());
    rows.push_back(std::move(row));
  }
  return pad_embedding_rows(rows, tokenizer.pad_id(), static_cast<int64_t>(prefix.size()));
}

namespace {

// Runs the embedder over `order` (a permutation of the n inputs, similar lengths together to
// waste less padding) in chunks of batch_size; batch_of(positions) builds a chunk's batch.
// Rows of the result are in input order.
torch::Tensor encode_in_order(Embedder& embedder, const std::vector<size_t>& order, int64_t batch_size,
                              const std::function<EmbeddingBatch(const std::vector<size_t>&)>& batch_of,
                              const std::function<void(int64_t)>& progress, bool unit_vectors) {
  if (batch_size < 1) usage_error(fmt::format("batch size must be at least 1, not {}", batch_size));
  torch::NoGradGuard no_grad;
  const bool was_training = embedder->is_training();
  if (was_training) embedder->eval();
  const auto device = embedder->backbone->token_embedding->weight.device();
  auto out = torch::empty({static_cast<int64_t>(order.size()), embedder->dims()}, torch::kFloat32);
  const AutocastScope autocast(embedder->config().bf16, device);
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    const size_t stop = std::min(order.size(), start + static_cast<size_t>(batch_size));
    const std::vector<size_t> chunk(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(stop));
    const auto batch = batch_of(chunk);
    const auto vectors =
        (unit_vectors ? embedder->forward(batch.tokens.to(device), batch.attention_mask.to(device), batch.pool_mask.to(device))
                      : embedder->features(batch.tokens.to(device), batch.attention_mask.to(device), batch.pool_mask.to(device)))
            .to(torch::kCPU, torch::kFloat32);
    for (size_t i = start; i < stop; ++i) out[static_cast<int64_t>(order[i])].copy_(vectors[static_cast<int64_t>(i - start)]);
    if (progress) progress(static_cast<int64_t>(stop));
  }
  if (was_training) embedder->train();
  return out;
}

// The permutation of 0..n-1 that sorts by `length` (stable).
std::vector<size_t> order_by_length(size_t n, const std::function<size_t(size_t)>& length) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return length(a) < length(b); });
  return order;
}

torch::Tensor encode_in_batches(Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                const std::string& instruction, int64_t batch_size, const std::function<void(int64_t)>& progress,
                                bool unit_vectors) {
  // The byte length is a cheap proxy for the token length.
  const auto order = order_by_length(texts.size(), [&](size_t i) { return texts[i].size(); });
  const auto batch_of = [&](const std::vector<size_t>& chunk) {
    std::vector<std::string> chunk_texts;
    for (size_t i : chunk) chunk_texts.push_back(texts[i]);
    return make_embedding_batch(tokenizer, chunk_texts, instruction, embedder->config().max_tokens, embedder->config().case_folding);
  };
  return encode_in_order(embedder, order, batch_size, batch_of, progress, unit_vectors);
}

}  // namespace

torch::Tensor encode_token_rows(Embedder& embedder, const std::vector<std::vector<int64_t>>& rows, int64_t pad_id, int64_t batch_size) {
  for (const auto& row : rows)
    if (row.empty() || static_cast<int64_t>(row.size()) > embedder->config().max_tokens)
      usage_error(fmt::format("a row of {} tokens: the embedder takes 1 to {}", row.size(), embedder->config().max_tokens));
  const auto order = order_by_length(rows.size(), [&](size_t i) { return rows[i].size(); });
  const auto batch_of = [&](const std::vector<size_t>& chunk) {
    std::vector<std::vector<int64_t>> chunk_rows;
    for (size_t i : chunk) chunk_rows.push_back(rows[i]);
    return pad_embedding_rows(chunk_rows, pad_id, 0);
  };
  return encode_in_order(embedder, order, batch_size, batch_of, {}, true);
}

torch::Tensor encode_texts(Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                           const std::string& instruction, int64_t batch_size, const std::function<void(int64_t)>& progress) {
  return encode_in_batches(embedder, tokenizer, texts, instruction, batch_size, progress, true);
}

torch::Tensor encode_features(Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                              int64_t batch_size) {
  return encode_in_batches(embedder, tokenizer, texts, "", batch_size, {}, false);
}

void save_embedder(const std::filesystem::path& dir, Embedder& embedder, const std::string& tokenizer_spec) {
  std::filesystem::create_directories(dir);
  const std::string stored = store_tokenizer(dir, tokenizer_spec);
  save_safetensors(dir / "model.safetensors", module_tensors(*embedder), {{"format", "garden-embedder"}});
  write_json_atomic(dir / "config.json", Json{{"model", embedder->backbone->config().to_json()},
                                              {"embedder", embedder->config().to_json()},
                                              {"tokenizer", stored}});
}

LoadedEmbedder load_embedder(const std::filesystem::path& path, torch::Device device) {
  const auto config_path = path / "config.json";
  if (!std::filesystem::exists(path / "model.safetensors") || !std::filesystem::exists(config_path))
    throw Error(fmt::format("embedding model {}: no such model folder (model.safetensors + config.json) or training run",
                            path.string()));
  const Json config = read_json_file(config_path);
  if (!config.contains("model") || !config.contains("embedder"))
    throw Error(fmt::format("{}: not an embedding model (no 'model' and 'embedder' sections)", config_path.string()));
  LoadedEmbedder loaded;
  loaded.embedder = Embedder(Transformer(TransformerConfig::from_json(config["model"], config_path.string())),
                             EmbedderConfig::from_json(config["embedder"], config_path.string()));
  load_module_tensors(*loaded.embedder, load_safetensors(path / "model.safetensors"), path / "model.safetensors");
  loaded.tokenizer_spec = folder_tokenizer_spec(path, config.value("tokenizer", std::string()));
  loaded.tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
  loaded.embedder->to(device);
  return loaded;
}

}  // namespace garden::model
