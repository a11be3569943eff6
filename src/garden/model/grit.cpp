#include "garden/model/grit.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/safetensors.h"
#include "garden/model/model_folder.h"
#include "garden/text/sentencepiece_model.h"

namespace garden::model {

GritAttention parse_grit_attention(const std::string& code) {
  GritAttention a;
  a.code = code;
  if (code == "bbcc" || code == "bb") a.embedding = MaskMode::bidirectional;
  else if (code == "cccc" || code == "cc") a.embedding = MaskMode::causal;
  else if (code == "cb") a.embedding = MaskMode::causal_prefix;
  else usage_error(fmt::format("--attention must be bbcc, cccc, bb, cc or cb (GritLM's codes), not '{}'", code));
  a.generates = code.size() == 4;
  return a;
}

std::string grit_embedding_prefix(const std::string& instruction) {
  if (instruction.empty()) return std::string(kEmbedPiece) + "\n";
  return fmt::format("{}\n{}\n{}\n", kUserPiece, instruction, kEmbedPiece);
}

std::vector<int64_t> grit_prompt_tokens(const text::Tokenizer& tokenizer, const std::string& prompt) {
  auto ids = tokenizer.encode(fmt::format("{}\n{}\n{}\n", kUserPiece, prompt, kAssistantPiece));
  ids.insert(ids.begin(), tokenizer.bos_id());
  return ids;
}

EmbeddingRow grit_embedding_row(const text::Tokenizer& tokenizer, const std::string& prefix, const std::string& text, int64_t max_tokens) {
  EmbeddingRow row;
  row.tokens = tokenizer.encode(prefix);
  row.pool_from = static_cast<int64_t>(row.tokens.size());
  if (row.pool_from + 2 > max_tokens)
    usage_error(fmt::format("the embedding prefix takes {} tokens, more than max_tokens {} allows", row.pool_from, max_tokens));
  auto body = tokenizer.encode(text);
  body.resize(std::min<size_t>(body.size(), static_cast<size_t>(max_tokens - row.pool_from - 1)));
  row.tokens.insert(row.tokens.end(), body.begin(), body.end());
  row.tokens.push_back(tokenizer.eos_id());
  return row;
}

RowStates grit_row_states(Embedder& embedder, const EmbeddingRow& row, MaskMode mask) {
  c10::InferenceMode inference;
  const bool was_training = embedder->is_training();
  if (was_training) embedder->eval();
  const auto device = embedder->backbone->token_embedding->weight.device();
  const auto t = static_cast<int64_t>(row.tokens.size());
  RowStates out;
  ForwardOptions forward;
  forward.mask = mask;
  forward.cache = &out.states;
  forward.compute_logits = false;
  if (mask == MaskMode::causal_prefix || mask == MaskMode::prefix) forward.prefix_lengths = torch::tensor({row.pool_from}, torch::kLong);
  const auto hidden = embedder->backbone->forward(torch::tensor(row.tokens, torch::kLong).view({1, t}).to(device), forward).hidden;
  auto pool_mask = torch::zeros({1, t}, torch::kLong);
  pool_mask.narrow(1, row.pool_from, t - row.pool_from).fill_(1);
  out.embedding = pool(hidden, pool_mask.to(device), embedder->config().pooling, embedder->latent)[0].to(torch::kCPU, torch::kFloat32);
  if (was_training) embedder->train();
  return out;
}

RagOrder parse_rag_order(const std::string& name) {
  if (name == "query-first") return RagOrder::query_first;
  if (name == "doc-first") return RagOrder::doc_first;
  usage_error(fmt::format("--prompt must be query-first or doc-first, not '{}'", name));
}

std::string to_string(RagOrder order) { return order == RagOrder::query_first ? "query-first" : "doc-first"; }

std::vector<int64_t> grit_answer_cue(const text::Tokenizer& tokenizer) { return tokenizer.encode(std::string(kAssistantPiece) + "\n"); }

std::vector<int64_t> grit_rag_prompt(const EmbeddingRow& query, const EmbeddingRow& document, RagOrder order, const std::vector<int64_t>& cue) {
  const auto& first = order == RagOrder::query_first ? query : document;
  const auto& second = order == RagOrder::query_first ? document : query;
  std::vector<int64_t> prompt = first.tokens;
  prompt.insert(prompt.end(), second.tokens.begin(), second.tokens.end());
  prompt.insert(prompt.end(), cue.begin(), cue.end());
  return prompt;
}

Transformer grow_vocabulary(Transformer& model, int64_t vocab) {
  auto config = model->config();
  if (vocab < config.vocab) throw Error(fmt::format("cannot shrink a vocabulary of {} to {}", config.vocab, vocab));
  const int64_t old_vocab = config.vocab;
  config.vocab = vocab;
  Transformer grown(config);
  auto source = module_tensors(*model);
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : module_tensors(*grown)) {
    const auto& old = source.at(name);
    if (old.sizes() == tensor.sizes()) {
      tensor.copy_(old);
    } else {  // a vocabulary-sized table: the token embedding or an untied output head
      tensor.narrow(0, 0, old_vocab).copy_(old);
      tensor.narrow(0, old_vocab, vocab - old_vocab).copy_(old.mean(0, /*keepdim=*/true).expand({vocab - old_vocab, old.size(1)}));
    }
  }
  grown->to(model->token_embedding->weight.device());
  return grown;
}

bool is_grit_folder(const std::filesystem::path& dir) {
  const auto config = dir / "config.json";
  return std::filesystem::exists(config) && read_json_file(config).contains("grit");
}

void save_grit(const std::filesystem::path& dir, Embedder& embedder, const std::string& tokenizer_spec, const GritAttention& attention) {
  save_embedder(dir, embedder, tokenizer_spec);
  Json config = read_json_file(dir / "config.json");
  config["grit"] = Json{{"attention", attention.code}};
  write_json_atomic(dir / "config.json", config);
}

LoadedGrit load_grit(const std::filesystem::path& dir, torch::Device device) {
  if (!is_grit_folder(dir)) throw Error(fmt::format("{}: not a GritLM model (no \"grit\" section in config.json)", dir.string()));
  const auto where = (dir / "config.json").string();
  const Json config = read_json_file(dir / "config.json");
  const Json& grit = config["grit"];
  if (!grit.is_object() || !grit.contains("attention") || !grit["attention"].is_string())
    throw Error(where + ": the grit section needs an \"attention\" code");
  auto loaded = load_embedder(dir, device);
  LoadedGrit out;
  out.attention = parse_grit_attention(grit["attention"].get<std::string>());
  out.embedder = loaded.embedder;
  out.tokenizer = std::move(loaded.tokenizer);
  out.tokenizer_spec = loaded.tokenizer_spec;
  for (const char* piece : {kUserPiece, kEmbedPiece, kAssistantPiece})
    if (out.tokenizer->piece_to_id(piece) < 0) throw Error(fmt::format("{}: its tokenizer lacks the piece {}", dir.string(), piece));
  return out;
}

LoadedGrit grit_from_lm(const std::filesystem::path& lm_dir, const GritAttention& attention, Pooling pooling, int64_t max_tokens,
                        const std::filesystem::path& tokenizer_out, torch::Device device) {
  auto lm = load_model(lm_dir);
  if (lm.tokenizer_spec.empty() || lm.tokenizer_spec == "bytes")
    throw Error(fmt::format("{}: GritLM adds its format pieces to a SentencePiece tokenizer; this model has {}", lm_dir.string(),
                            lm.tokenizer_spec.empty() ? std::string("none") : lm.tokenizer_spec));
  const auto ids = text::append_user_pieces(lm.tokenizer_spec, tokenizer_out, {kUserPiece, kEmbedPiece, kAssistantPiece});
  int64_t vocab = lm.model->config().vocab;
  for (const auto id : ids) vocab = std::max(vocab, id + 1);
  EmbedderConfig config;
  config.pooling = pooling;
  config.mask = attention.embedding;
  config.max_tokens = max_tokens;
  LoadedGrit out;
  out.embedder = Embedder(grow_vocabulary(lm.model, vocab), config);
  out.embedder->to(device);
  out.tokenizer_spec = tokenizer_out.string();
  out.tokenizer = text::load_tokenizer(out.tokenizer_spec);
  out.attention = attention;
  return out;
}

}  // namespace garden::model
