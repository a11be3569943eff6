#include "garden/train/base_lm.h"

#include <fmt/core.h>

#include <string_view>
#include <unordered_set>

#include "garden/core/artifact_cache.h"
#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/safetensors.h"
#include "garden/model/config.h"
#include "garden/model/model_folder.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/batches.h"
#include "garden/train/trainer.h"

namespace garden::train {

namespace fs = std::filesystem;

Json BaseLmOptions::to_json() const {
  Json json = {{"vocab", vocab}, {"steps", steps}, {"batch", batch}, {"seq", seq}, {"lr", lr},
               {"dropout", dropout}, {"seed", seed}, {"tokenizer_sentences", tokenizer_sentences}};
  // v1's key predates these fields (its architecture is in the key's model config); leaving
  // them out for v1 keeps the entries built before valid.
  if (recipe != "v1") json.update({{"recipe", recipe}, {"bf16", bf16}});
  return json;
}

BaseLmOptions base_lm_recipe(const std::string& name) {
  BaseLmOptions o;
  if (name == "v1") return o;
  if (name == "kjv") {
    // The model-collapse reproduction's pretrained model (model-collapse.md): v1's shape over
    // a 2,000-piece vocabulary, on the built-in corpus alone, so that tiny-shakespeare, which
    // its generation 0 is fine-tuned on, stays unseen.
    o.recipe = "kjv";
    o.vocab = 2000;
    o.steps = 400;
    return o;
  }
  if (name != "v2") usage_error("base LM: unknown recipe '" + name + "' (v1, v2 or kjv)");
  o.recipe = "v2";
  // The widest of three ~10M-parameter shapes won at equal wall time (docs/base-lm.md).
  o.d_model = 384;
  o.layers = 4;
  o.heads = 6;
  o.seq = 256;
  o.batch = 16;
  o.steps = 3000;
  o.lr = 2e-3;
  o.dropout = 0.0;  // about two epochs over the text: too little repetition for dropout to pay
  o.bf16 = true;
  return o;
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
  c.d_model = options.d_model;
  c.n_layers = options.layers;
  c.n_heads = options.heads;
  c.max_seq = std::max<int64_t>(256, options.seq);
  c.pos = model::Positions::rope;
  c.norm = model::Norm::rmsnorm;
  c.mlp = model::Mlp::swiglu;
  c.dropout = options.dropout;
  return c;
}

void append_lines(std::string& out, const std::string& text) {
  out += text;
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
}

// Calls `visit` with each line of `text`, without its '\n'.
template <typename Visit>
void for_each_line(std::string_view text, Visit&& visit) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    visit(text.substr(start, end - start));
    start = end + 1;
  }
}

// `text` without the lines that `held_out` contains.
std::string without_lines(const std::string& text, const std::unordered_set<std::string_view>& held_out) {
  std::string kept;
  kept.reserve(text.size());
  for_each_line(text, [&](std::string_view line) {
    if (!held_out.count(line)) kept.append(line).push_back('\n');
  });
  return kept;
}

}  // namespace

BaseLmText base_lm_text(const fs::path& cache, const std::optional<fs::path>& data_root, const BaseLmOptions& options) {
  const auto corpus = text::prepare_default_corpus(text::default_corpus_dir(cache));
  std::vector<Source> sources = {{"built-in corpus (King James Bible + WordNet glosses, train split)", corpus.split("train")}};
  std::vector<fs::path> held_out = {corpus.split("valid"), corpus.split("test")};
  if (options.recipe == "v2") {
    const auto docs = text::prepare_docs_corpus(text::docs_corpus_dir(cache));
    sources.push_back({"Python documentation + Perl manuals (train split)", docs.split("train")});
    held_out.push_back(docs.split("valid"));
    held_out.push_back(docs.split("test"));
  }
  if (options.recipe != "kjv") {  // kjv: the built-in corpus alone
    if (auto dir = find_collection(data_root, "tinyshakespeare"); dir && fs::exists(*dir / "input.txt"))
      sources.push_back({"tiny-shakespeare (first 90%)", *dir / "input.txt", 9});
    const auto wikitext = find_collection(data_root, "wikitext2-raw");
    const bool has_wikitext = wikitext && fs::exists(*wikitext / "test.txt");
    // v1 trained on wikitext-2 test; v2 keeps it for evaluation only.
    if (options.recipe == "v1" && has_wikitext) sources.push_back({"wikitext-2 raw", *wikitext / "test.txt"});
    if (options.recipe == "v2" && has_wikitext) held_out.push_back(*wikitext / "test.txt");
  }

  BaseLmText out;
  for (const auto& s : sources) {
    const std::string all = read_file(s.file);
    append_lines(out.train, all.substr(0, all.size() * s.keep_fraction_tenths / 10));
    out.sources.append(out.sources.empty() ? "" : "; ").append(s.name);
    out.files.emplace_back(s.name, s.file);
  }
  append_lines(out.valid, read_file(corpus.split("valid")));
  if (options.recipe == "v2") {
    append_lines(out.valid, read_file(text::docs_corpus_dir(cache) / "valid.txt"));
    // A line that also occurs in a held-out split (a repeated verse, a WordNet gloss shared by
    // two synsets, a wikitext sentence quoted elsewhere) is not trained on.
    std::vector<std::string> held_texts;
    for (const auto& file : held_out) held_texts.push_back(read_file(file));
    std::unordered_set<std::string_view> held_lines;
    for (const auto& t : held_texts)
      for_each_line(t, [&](std::string_view line) {
        if (!line.empty()) held_lines.insert(line);
      });
    out.train = without_lines(out.train, held_lines);
    for (const auto& file : held_out) out.files.emplace_back("held out: " + file.filename().string(), file);
  }
  return out;
}

BaseLm ensure_base_lm(const fs::path& cache, const std::optional<fs::path>& data_root, const BaseLmOptions& options,
                      bool rebuild, bool quiet) {
  if (options.vocab < 300 || options.steps < 1 || options.batch < 1 || options.seq < 8)
    usage_error("base LM: vocab >= 300, steps >= 1, batch >= 1 and seq >= 8 are needed");
  if (options.d_model < 8 || options.layers < 1 || options.heads < 1 || options.d_model % options.heads != 0)
    usage_error("base LM: d_model >= 8, layers >= 1 and heads >= 1 dividing d_model are needed");
  base_lm_recipe(options.recipe);  // rejects an unknown recipe name
  const BaseLmText text = base_lm_text(cache, data_root, options);

  // The cache key: options, architecture and the exact bytes of every input.
  ArtifactRecipe recipe{"base-lm", kBaseLmRecipeVersion,
                        {{"options", options.to_json()}, {"model", base_model_config(options, options.vocab).to_json()}, {"sources", Json::array()}}};
  for (const auto& [name, file] : text.files) recipe.key["sources"].push_back({{"name", name}, {"sha256", sha256_file_hex(file)}});
  // The final folder goes unused: the model folder carries its tokenizer, so nothing names it.
  const auto build = [&](const fs::path& staged, const fs::path&) {
    write_file_atomic(staged / "pretrain.txt", text.train);
    if (!quiet) fmt::print(stderr, "base LM {}: training a {}-piece tokenizer on {} MB ({})\n", options.recipe, options.vocab,
                           text.train.size() >> 20, text.sources);
    text::TokenizerTrainOptions tok;
    tok.inputs = {staged / "pretrain.txt"};
    tok.vocab = options.vocab;
    tok.user_symbols = {kMaskPiece};
    tok.max_sentences = options.tokenizer_sentences;
    text::train_tokenizer(tok, staged / "tokenizer.model");
    const text::SentencePieceTokenizer tokenizer(staged / "tokenizer.model");
    if (tokenizer.piece_to_id(kMaskPiece) < 0) throw Error("base LM: the tokenizer lost its <mask> piece");

    auto train_tokens = encode_corpus(tokenizer, text.train);
    const auto train_token_count = static_cast<int64_t>(train_tokens.size());
    TokenWindows data(std::move(train_tokens), encode_corpus(tokenizer, text.valid), tokenizer.bos_id(), options.seq,
                      options.batch, /*eval_windows=*/64, options.seed);
    TrainConfig tc;
    tc.steps = options.steps;
    tc.batch = options.batch;
    tc.seq = options.seq;
    tc.lr = options.lr;
    tc.bf16 = options.bf16;
    tc.warmup = std::min<int64_t>(options.recipe == "v1" ? 50 : 100, options.steps / 10);
    tc.eval_every = options.recipe == "v1" ? 0 : 500;
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
    write_json_atomic(staged / "done.json",
                      Json{{"val_loss", result.val_loss}, {"seconds", result.seconds}, {"parameters", model->parameter_count()},
                           {"sources", text.sources}, {"recipe", options.to_json()}, {"train_tokens", train_token_count},
                           {"tokens_seen", options.steps * options.batch * options.seq}});
  };
  const Artifact artifact = ensure_artifact(cache, recipe, build, rebuild, shipped_artifacts_dir());
  BaseLm lm{artifact.dir / "model", artifact.dir / "tokenizer.model", text.sources, options.recipe, artifact.built, artifact.shipped};
  const Json done = read_json_file(artifact.dir / "done.json");
  lm.val_loss = done.value("val_loss", 0.0);
  lm.parameters = done.value("parameters", int64_t{0});
  lm.bf16 = options.bf16;
  return lm;
}

fs::path ship_base_lm(const BaseLm& lm, const fs::path& shipped) {
  const fs::path entry = lm.model.parent_path();
  return ship_artifact(entry, shipped, [&](const fs::path& staged) {
    for (const auto& item : fs::recursive_directory_iterator(entry)) {
      const fs::path relative = fs::relative(item.path(), entry);
      if (item.is_directory()) {
        fs::create_directories(staged / relative);
      } else if (relative == fs::path("model") / "model.safetensors") {
        TensorMap weights = load_safetensors(item.path());
        for (auto& [name, tensor] : weights)
          if (tensor.is_floating_point()) tensor = tensor.to(torch::kBFloat16);
        save_safetensors(staged / relative, weights, {{"format", "garden"}, {"rounded", "bf16"}});
      } else if (relative == fs::path("run") / "config.json") {
        // The run recorded its tokenizer by the build's staging path; the copy names the
        // entry's own tokenizer instead of a path of the machine that built it.
        Json config = read_json_file(item.path());
        if (config.contains("tokenizer")) config["tokenizer"] = "tokenizer.model";
        write_json_atomic(staged / relative, config);
      } else if (relative != "artifact.json") {
        fs::copy_file(item.path(), staged / relative);
      }
    }
  });
}

}  // namespace garden::train
