#include "garden/train/base_lm.h"

#include <fmt/core.h>

#include "garden/core/artifact_cache.h"
#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/config.h"
#include "garden/model/model_folder.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"
#include "garden/train/trainer.h"

namespace garden::train {

namespace fs = std::filesystem;

Json BaseLmOptions::to_json() const {
  return {{"vocab", vocab}, {"steps", steps}, {"batch", batch}, {"seq", seq}, {"lr", lr},
          {"dropout", dropout}, {"seed", seed}, {"tokenizer_sentences", tokenizer_sentences}};
}

namespace {

struct Source {
  std::string name;
  fs::path file;
  size_t keep_fraction_tenths = 10;  // tiny-shakespeare keeps its first 90% (its usual split)
};

model::TransformerConfig base_model_config(const BaseLmOptions& options, int64_t vocab) {
  model::TransformerConfig c;
  c.vocab = vocab;
  c.d_model = 128;
  c.n_layers = 4;
  c.n_heads = 4;
  c.max_seq = 256;
  c.pos = model::Positions::rope;
  c.norm = model::Norm::rmsnorm;
  c.mlp = model::Mlp::swiglu;
  c.dropout = options.dropout;
  return c;
}

}  // namespace

BaseLm ensure_base_lm(const fs::path& cache, const std::optional<fs::path>& data_root, const BaseLmOptions& options,
                      bool rebuild, bool quiet) {
  if (options.vocab < 300 || options.steps < 1 || options.batch < 1 || options.seq < 8)
    usage_error("base LM: vocab >= 300, steps >= 1, batch >= 1 and seq >= 8 are needed");
  const auto corpus = text::prepare_default_corpus(text::default_corpus_dir(cache));
  std::vector<Source> sources = {{"built-in corpus (King James Bible + WordNet glosses, train split)", corpus.split("train")}};
  if (auto dir = find_collection(data_root, "tinyshakespeare"); dir && fs::exists(*dir / "input.txt"))
    sources.push_back({"tiny-shakespeare (first 90%)", *dir / "input.txt", 9});
  if (auto dir = find_collection(data_root, "wikitext2-raw"); dir && fs::exists(*dir / "test.txt"))
    sources.push_back({"wikitext-2 raw", *dir / "test.txt"});

  // The cache key: options, architecture and the exact bytes of every source.
  ArtifactRecipe recipe{"base-lm", kBaseLmRecipeVersion,
                        {{"options", options.to_json()}, {"model", base_model_config(options, options.vocab).to_json()}, {"sources", Json::array()}}};
  std::string described;
  for (const auto& s : sources) {
    recipe.key["sources"].push_back({{"name", s.name}, {"sha256", sha256_file_hex(s.file)}});
    described.append(described.empty() ? "" : "; ").append(s.name);
  }
  // The final folder goes unused: the model folder carries its tokenizer, so nothing names it.
  const auto build = [&](const fs::path& staged, const fs::path&) {
    std::string text;
    for (const auto& s : sources) {
      const std::string all = read_file(s.file);
      text.append(all.substr(0, all.size() * s.keep_fraction_tenths / 10));
      if (!text.empty() && text.back() != '\n') text.push_back('\n');
    }
    write_file_atomic(staged / "pretrain.txt", text);
    if (!quiet) fmt::print(stderr, "base LM: training a {}-piece tokenizer on {} MB ({})\n", options.vocab, text.size() >> 20, described);
    text::TokenizerTrainOptions tok;
    tok.inputs = {staged / "pretrain.txt"};
    tok.vocab = options.vocab;
    tok.user_symbols = {kMaskPiece};
    tok.max_sentences = options.tokenizer_sentences;
    text::train_tokenizer(tok, staged / "tokenizer.model");
    const text::SentencePieceTokenizer tokenizer(staged / "tokenizer.model");
    if (tokenizer.piece_to_id(kMaskPiece) < 0) throw Error("base LM: the tokenizer lost its <mask> piece");

    TokenWindows data(encode_corpus(tokenizer, text), encode_corpus(tokenizer, read_file(corpus.split("valid"))), tokenizer.bos_id(),
                      options.seq, options.batch, /*eval_windows=*/64, options.seed);
    TrainConfig tc;
    tc.steps = options.steps;
    tc.batch = options.batch;
    tc.seq = options.seq;
    tc.lr = options.lr;
    tc.warmup = std::min<int64_t>(50, options.steps / 10);
    tc.eval_every = 0;
    tc.eval_windows = 64;
    tc.checkpoint_every = 0;
    tc.keep_checkpoints = 1;
    tc.seed = options.seed;
    torch::manual_seed(static_cast<int64_t>(options.seed));
    model::Transformer model(base_model_config(options, tokenizer.vocab_size()));
    Trainer trainer(tc, staged / "run");
    trainer.quiet = quiet;
    trainer.tokenizer_spec = (staged / "tokenizer.model").string();
    const auto result = trainer.fit(model, data, /*resume=*/false);
    model::save_model(staged / "model", model, trainer.tokenizer_spec);
    fs::remove_all(staged / "run" / "checkpoints");  // the model folder holds the weights
    fs::remove(staged / "pretrain.txt");
    write_json_atomic(staged / "done.json", Json{{"val_loss", result.val_loss}, {"seconds", result.seconds},
                                                 {"parameters", model->parameter_count()}, {"sources", described}});
  };
  const Artifact artifact = ensure_artifact(cache, recipe, build, rebuild);
  BaseLm lm{artifact.dir / "model", artifact.dir / "tokenizer.model", described, artifact.built, 0};
  lm.val_loss = read_json_file(artifact.dir / "done.json").value("val_loss", 0.0);
  return lm;
}

}  // namespace garden::train
