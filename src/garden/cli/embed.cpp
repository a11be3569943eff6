// garden embed init | encode.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/runtime.h"
#include "garden/model/embedder.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/text/corpus.h"
#include "garden/train/trainer.h"

namespace garden::cli {

void register_embed(CLI::App& app) {
  auto* group = app.add_subcommand("embed", "embedding models: make one from a language model, encode texts");
  group->require_subcommand(1);

  struct InitOptions {
    std::string lm, out, pooler = "mean", mask = "bidirectional";
    model::EmbedderConfig config;
  };
  auto init = std::make_shared<InitOptions>();
  auto* init_cmd = group->add_subcommand("init", "an embedding model from a garden LM (its weights, a pooler, a mask)");
  init_cmd->add_option("--lm", init->lm, "a garden LM: model folder, run folder or checkpoint")->required();
  init_cmd->add_option("--pooler", init->pooler, "mean | weighted_mean | first_token | last_token | latent_attention")
      ->capture_default_str();
  init_cmd->add_option("--mask", init->mask, "bidirectional | causal")->capture_default_str();
  init_cmd->add_option("--latents", init->config.latent.latents, "latent attention: r")->capture_default_str();
  init_cmd->add_option("--latent-heads", init->config.latent.heads, "latent attention: heads")->capture_default_str();
  init_cmd->add_option("--projection", init->config.projection, "output dimensions of a linear head (0 = none)")
      ->capture_default_str();
  init_cmd->add_option("--max-tokens", init->config.max_tokens, "tokens per text at most")->capture_default_str();
  init_cmd->add_option("--out", init->out, "model folder to write")->required();
  init_cmd->callback([init] {
    init->config.pooling = model::parse_pooling(init->pooler);
    init->config.mask = model::parse_mask_mode(init->mask);
    if (init->config.mask == model::MaskMode::prefix) usage_error("--mask must be bidirectional or causal");
    const model::EmbedderConfig checked = model::EmbedderConfig::from_json(init->config.to_json(), "--options");
    torch::manual_seed(0);  // the pooler's and head's initial weights
    auto lm = train::load_model(init->lm);
    model::Embedder embedder(lm.model, checked);
    model::save_embedder(init->out, embedder, lm.tokenizer_spec);
    fmt::print("wrote {}: {} pooling, {} mask, {} dimensions\n", init->out, init->pooler, init->mask, embedder->dims());
  });

  struct EncodeOptions {
    std::string model, input, out, side = "corpus", instruction;
    int64_t batch = 32;
    int threads = 0;
  };
  auto enc = std::make_shared<EncodeOptions>();
  auto* enc_cmd = group->add_subcommand("encode", "embed texts into a .npy matrix (row i = i-th text)");
  enc_cmd->add_option("--model", enc->model, "embedding model folder (garden embed init / train)")->required();
  enc_cmd->add_option("--input", enc->input, "a collection folder (BEIR layout) or a text file, one text a line")->required();
  enc_cmd->add_option("--side", enc->side, "collection: corpus (title + text) or queries")->capture_default_str();
  enc_cmd->add_option("--instruction", enc->instruction, "prefix of every text, excluded from pooling (queries)");
  enc_cmd->add_option("--batch", enc->batch, "texts per forward pass")->capture_default_str();
  enc_cmd->add_option("--threads", enc->threads, "CPU threads (0 = all cores)");
  enc_cmd->add_option("--out", enc->out, ".npy file to write")->required();
  enc_cmd->callback([enc] {
    configure_threads(enc->threads);
    if (enc->side != "corpus" && enc->side != "queries") usage_error("--side must be corpus or queries, not '" + enc->side + "'");
    std::vector<std::string> texts;
    if (std::filesystem::is_directory(enc->input)) {
      const auto collection = retrieval::read_beir_collection(enc->input);
      if (enc->side == "corpus") {
        for (const auto& doc : collection.corpus) texts.push_back(retrieval::document_text(doc));
      } else {
        for (const auto& q : collection.queries) texts.push_back(q.text);
      }
    } else {
      texts = text::read_text_documents(enc->input, text::TextUnit::line);
    }
    if (texts.empty()) throw Error(fmt::format("{}: no texts to encode", enc->input));
    const auto vectors = retrieval::encode_with_model(enc->model, texts, enc->instruction, enc->batch, "encode");
    retrieval::write_npy(enc->out, vectors);
    fmt::print("wrote {}: {} x {}\n", enc->out, vectors.rows, vectors.cols);
  });
}

}  // namespace garden::cli
