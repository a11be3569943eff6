#include "garden/model/generative_embedder.h"

#include <fmt/core.h>

#include <algorithm>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/safetensors.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"

namespace garden::model {

Json GenerativeEmbedderConfig::to_json() const {
  return {{"special_tokens", special_tokens}, {"embedding_dims", embedding_dims}, {"max_tokens", max_tokens}, {"query_suffix", query_suffix}};
}

GenerativeEmbedderConfig GenerativeEmbedderConfig::from_json(const Json& json, const std::string& where) {
  GenerativeEmbedderConfig c;
  if (!json.is_object()) throw Error(where + ": the generative embedder's config must be a JSON object");
  refuse_unknown_keys(json, c.to_json(), where);
  read_field(json, "special_tokens", c.special_tokens, where);
  read_field(json, "embedding_dims", c.embedding_dims, where);
  read_field(json, "max_tokens", c.max_tokens, where);
  read_field(json, "query_suffix", c.query_suffix, where);
  if (c.special_tokens < 1) usage_error(fmt::format("{}: special_tokens must be >= 1, got {}", where, c.special_tokens));
  if (c.embedding_dims < 0) usage_error(fmt::format("{}: embedding_dims must be >= 0 (0: the backbone's width), got {}", where, c.embedding_dims));
  if (c.max_tokens < 1) usage_error(fmt::format("{}: max_tokens must be >= 1, got {}", where, c.max_tokens));
  return c;
}

GenerativeEmbedderImpl::GenerativeEmbedderImpl(Transformer backbone_model, const GenerativeEmbedderConfig& config) : config_(config) {
  backbone = register_module("backbone", std::move(backbone_model));
  for (auto& p : backbone->parameters()) p.set_requires_grad(false);
  const int64_t width = backbone->config().d_model;
  if (config_.embedding_dims == 0) config_.embedding_dims = width;
  // As garden initialises token embeddings: N(0, 0.02).
  special_tokens = register_parameter("special_tokens", torch::randn({config_.special_tokens, width}) * 0.02);
  reconstruction = register_module("reconstruction", torch::nn::Linear(width, width));
  alignment = register_module("alignment", torch::nn::Linear(width, config_.embedding_dims));
  to(backbone->token_embedding->weight.device());
}

GenerativeEncoding GenerativeEmbedderImpl::encode(const std::vector<std::vector<int64_t>>& queries) {
  if (queries.empty()) throw Error("generative embedder: no queries to encode");
  const auto device = backbone->token_embedding->weight.device();
  const int64_t batch = static_cast<int64_t>(queries.size()), k = config_.special_tokens;
  int64_t longest = 0;
  for (const auto& q : queries) longest = std::max(longest, std::min<int64_t>(static_cast<int64_t>(q.size()), config_.max_tokens));
  // Left padding: every query ends where its special tokens begin, so under RoPE each is
  // encoded as it would be alone.
  auto tokens = torch::zeros({batch, longest}, torch::kLong);
  auto real = torch::zeros({batch, longest + k}, torch::kLong);
  for (int64_t i = 0; i < batch; ++i) {
    const auto& q = queries[static_cast<size_t>(i)];
    const int64_t kept = std::min<int64_t>(static_cast<int64_t>(q.size()), config_.max_tokens);
    const std::vector<int64_t> last(q.end() - kept, q.end());
    if (kept > 0) tokens[i].narrow(0, longest - kept, kept).copy_(torch::tensor(last, torch::kLong));
    real[i].narrow(0, longest - kept, kept + k).fill_(1);
  }
  ForwardOptions options;
  options.input_embeddings = torch::cat({backbone->token_embedding(tokens.to(device)), special_tokens.unsqueeze(0).expand({batch, k, -1})}, 1);
  options.attention_mask = real.to(device);
  options.compute_logits = false;
  const auto states = backbone->forward({}, options).hidden.narrow(1, longest, k);  // H [B,K,C]
  GenerativeEncoding out;
  out.soft_prompt = reconstruction(states);
  out.embedding = alignment(out.soft_prompt).mean(1);
  return out;
}

torch::Tensor GenerativeEmbedderImpl::reconstruction_loss(const torch::Tensor& soft_prompt, const std::vector<std::vector<int64_t>>& responses) {
  const int64_t batch = soft_prompt.size(0), k = soft_prompt.size(1);
  if (static_cast<int64_t>(responses.size()) != batch)
    throw Error(fmt::format("generative embedder: {} responses for {} soft prompts", responses.size(), batch));
  const auto device = soft_prompt.device();
  int64_t longest = 0;
  for (const auto& r : responses) {
    if (r.empty()) throw Error("generative embedder: a response is empty (end it with EOS)");
    longest = std::max(longest, static_cast<int64_t>(r.size()));
  }
  auto targets = torch::zeros({batch, longest}, torch::kLong);
  auto counted = torch::zeros({batch, longest}, torch::kFloat);
  for (int64_t i = 0; i < batch; ++i) {
    const auto& r = responses[static_cast<size_t>(i)];
    targets[i].narrow(0, 0, static_cast<int64_t>(r.size())).copy_(torch::tensor(r, torch::kLong));
    counted[i].narrow(0, 0, static_cast<int64_t>(r.size())).fill_(1);
  }
  targets = targets.to(device);
  counted = counted.to(device);
  // The decoder reads [S; r_1..r_T]: position K-1+t predicts r_{t+1}; the query is not there.
  ForwardOptions options;
  options.input_embeddings = torch::cat({soft_prompt, backbone->token_embedding(targets)}, 1);
  options.attention_mask = torch::cat({torch::ones({batch, k}, counted.options()), counted}, 1);
  const auto logits = backbone->forward({}, options).logits.narrow(1, k - 1, longest);  // [B,T,V]
  const auto nll = -torch::log_softmax(logits.to(torch::kFloat), -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  return (nll * counted).sum() / counted.sum();
}

torch::Tensor alignment_loss(const torch::Tensor& embedding, const torch::Tensor& teacher) {
  if (embedding.sizes() != teacher.sizes())
    throw Error(fmt::format("alignment loss: embeddings {} and teacher vectors {} differ in shape", c10::str(embedding.sizes()),
                            c10::str(teacher.sizes())));
  return (embedding - teacher).pow(2).mean();
}

std::vector<int64_t> generative_query_row(const GenerativeEmbedderConfig& config, const text::Tokenizer& tokenizer,
                                          const std::string& instruction, const std::string& text) {
  auto ids = tokenizer.encode(instruction + text + config.query_suffix);
  ids.insert(ids.begin(), tokenizer.bos_id());
  return ids;
}

torch::Tensor encode_generative_texts(GenerativeEmbedder& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                      const std::string& instruction, int64_t batch_size, const std::function<void(int64_t)>& progress) {
  if (batch_size < 1) usage_error(fmt::format("batch size must be >= 1, got {}", batch_size));
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<torch::Tensor> parts;
  const auto size = static_cast<size_t>(batch_size);
  for (size_t start = 0; start < texts.size(); start += size) {
    std::vector<std::vector<int64_t>> rows;
    for (size_t i = start; i < std::min(texts.size(), start + size); ++i) rows.push_back(generative_query_row(model->config(), tokenizer, instruction, texts[i]));
    parts.push_back(model->encode(rows).embedding.to(torch::kCPU, torch::kFloat));
    if (progress) progress(static_cast<int64_t>(std::min(texts.size(), start + size)));
  }
  model->train(was_training);
  if (parts.empty()) return torch::zeros({0, model->config().embedding_dims});
  return torch::nn::functional::normalize(torch::cat(parts), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

std::vector<std::string> decode_soft_prompts(GenerativeEmbedder& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                             const std::string& instruction, int64_t max_new_tokens) {
  if (max_new_tokens < 1) usage_error(fmt::format("max_new_tokens must be >= 1, got {}", max_new_tokens));
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  GenerateOptions options;
  options.max_new_tokens = max_new_tokens;
  options.temperature = 0;
  options.stop_tokens = {tokenizer.eos_id()};
  std::vector<std::string> out;
  for (const auto& text : texts) {
    const auto soft_prompt = model->encode({generative_query_row(model->config(), tokenizer, instruction, text)}).soft_prompt[0];
    auto tokens = generate_from_embeddings(model->backbone, soft_prompt, options).front().tokens;
    if (!tokens.empty() && tokens.back() == tokenizer.eos_id()) tokens.pop_back();
    out.push_back(tokenizer.decode(tokens));
  }
  model->train(was_training);
  return out;
}

void save_generative_embedder(const std::filesystem::path& dir, GenerativeEmbedder& model, const std::string& tokenizer_spec) {
  std::filesystem::create_directories(dir);
  const std::string stored = store_tokenizer(dir, tokenizer_spec);
  save_safetensors(dir / "model.safetensors", module_tensors(*model), {{"format", "garden"}});
  write_json_atomic(dir / "config.json", Json{{"kind", "generative_embedder"},
                                              {"model", model->backbone->config().to_json()},
                                              {"generative", model->config().to_json()},
                                              {"tokenizer", stored}});
}

bool is_generative_embedder_folder(const std::filesystem::path& dir) {
  const auto config = dir / "config.json";
  return std::filesystem::exists(config) && read_json_file(config).value("kind", std::string()) == "generative_embedder";
}

LoadedGenerativeEmbedder load_generative_embedder(const std::filesystem::path& dir, torch::Device device) {
  if (!std::filesystem::exists(dir / "model.safetensors") || !std::filesystem::exists(dir / "config.json"))
    throw Error("generative embedder " + dir.string() + ": no model.safetensors and config.json");
  const auto where = (dir / "config.json").string();
  const auto json = read_json_file(dir / "config.json");
  if (json.value("kind", "") != "generative_embedder")
    throw Error(fmt::format("{}: not a generative embedder (LLM2Vec-Gen) but a {}", where, json.value("kind", std::string("language model"))));
  if (!json.contains("model") || !json.contains("generative")) throw Error(where + ": needs \"model\" and \"generative\" sections");
  LoadedGenerativeEmbedder loaded;
  loaded.model = GenerativeEmbedder(Transformer(TransformerConfig::from_json(json["model"], where)),
                                    GenerativeEmbedderConfig::from_json(json["generative"], where + " generative"));
  loaded.tokenizer_spec = load_folder_weights(dir, *loaded.model, json, where);
  loaded.model->to(device);
  return loaded;
}

}  // namespace garden::model
