#include "garden/train/collapse_lm.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/core/safetensors.h"
#include "garden/model/beam_search.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/text/prepare.h"
#include "garden/train/batches.h"
#include "garden/train/trainer.h"

namespace garden::train {

namespace fs = std::filesystem;

void LmCollapseOptions::validate() const {
  if (generations < 0) usage_error("collapse: generations must be >= 0");
  if (!(real_fraction >= 0 && real_fraction <= 1)) usage_error("collapse: the real fraction must be within 0..1");
  if (start_from != "gen0-best" && start_from != "pretrained" && start_from != "previous")
    usage_error("collapse: --start-from must be gen0-best, pretrained or previous, not '" + start_from + "'");
  if (decoding != "beam" && decoding != "sample") usage_error("collapse: --decoding must be beam or sample, not '" + decoding + "'");
  // More beams than that only multiply the decoding's memory (prompts x width rows).
  if (beam_width > 256) usage_error(fmt::format("collapse: --beam-width must be 1..256, got {}", beam_width));
  if (beam_width < 1 || block < 2 || epochs < 1 || batch < 1 || decode_batch < 1 || !(lr > 0))
    usage_error("collapse: beam width, epochs, batch and decode batch >= 1, block >= 2 and lr > 0 are needed");
}

Json LmCollapseOptions::to_json() const {
  return {{"generations", generations}, {"real_fraction", real_fraction}, {"start_from", start_from},
          {"decoding", decoding},       {"beam_width", beam_width},       {"block", block},
          {"epochs", epochs},           {"batch", batch},                 {"lr", lr},
          {"seed", seed}};
}

Json GenerationStats::to_json() const {
  return {{"generation", generation}, {"val_ppl", val_ppl},         {"test_ppl", test_ppl},
          {"best_epoch", best_epoch}, {"real_blocks", real_blocks}, {"blocks", blocks},
          {"sequence_ppl", sequence_ppl}, {"distinct", distinct},   {"seconds", seconds}};
}

CollapseText default_collapse_text(const fs::path& cache, const std::optional<fs::path>& data_root) {
  if (const auto dir = find_collection(data_root, "tinyshakespeare"); dir && fs::exists(*dir / "input.txt"))
    return {*dir / "input.txt", "tiny-shakespeare"};
  const auto docs = text::prepare_docs_corpus(text::docs_corpus_dir(cache));
  return {docs.split("train"), "the docs corpus's training split (Python documentation + Perl manuals; no tiny-shakespeare under the data root)"};
}

LmCollapseData split_collapse_text(const text::Tokenizer& tokenizer, const std::string& text, int64_t train_tokens,
                                   int64_t eval_tokens) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.emplace_back(text.data() + start, end - start);
    start = end + 1;
  }
  const size_t train_end = lines.size() * 9 / 10, valid_end = lines.size() * 19 / 20;
  const auto join = [&](size_t from, size_t to) {
    std::string out;
    for (size_t i = from; i < to; ++i) out.append(lines[i]).push_back('\n');
    return out;
  };
  LmCollapseData data;
  data.train = encode_corpus(tokenizer, join(0, train_end));
  if (train_tokens > 0 && static_cast<int64_t>(data.train.size()) > train_tokens) data.train.resize(static_cast<size_t>(train_tokens));
  data.valid = encode_corpus(tokenizer, join(train_end, valid_end));
  data.test = encode_corpus(tokenizer, join(valid_end, lines.size()));
  for (auto* part : {&data.valid, &data.test})
    if (eval_tokens > 0 && static_cast<int64_t>(part->size()) > eval_tokens) part->resize(static_cast<size_t>(eval_tokens));
  data.bos = tokenizer.bos_id();
  return data;
}

std::vector<std::vector<int64_t>> cut_blocks(const std::vector<int32_t>& tokens, int64_t block) {
  if (block < 1) throw Error("cut_blocks: the block must hold at least one token");
  std::vector<std::vector<int64_t>> blocks;
  for (size_t start = 0; start + static_cast<size_t>(block) <= tokens.size(); start += static_cast<size_t>(block))
    blocks.emplace_back(tokens.begin() + static_cast<std::ptrdiff_t>(start), tokens.begin() + static_cast<std::ptrdiff_t>(start + block));
  return blocks;
}

std::vector<double> block_perplexities(model::Transformer& model, const std::vector<std::vector<int64_t>>& blocks, int64_t bos,
                                       int64_t batch) {
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  if (was_training) model->eval();
  const auto device = model->token_embedding->weight.device();
  std::vector<double> out;
  out.reserve(blocks.size());
  for (size_t start = 0; start < blocks.size(); start += static_cast<size_t>(batch)) {
    const size_t stop = std::min(blocks.size(), start + static_cast<size_t>(batch));
    const auto length = static_cast<int64_t>(blocks[start].size());
    std::vector<int64_t> input, target;
    for (size_t i = start; i < stop; ++i) {
      if (static_cast<int64_t>(blocks[i].size()) != length) throw Error("block_perplexities: blocks of different lengths");
      input.push_back(bos);
      input.insert(input.end(), blocks[i].begin(), blocks[i].end() - 1);
      target.insert(target.end(), blocks[i].begin(), blocks[i].end());
    }
    const auto rows = static_cast<int64_t>(stop - start);
    const auto logits = model->forward(torch::tensor(input, torch::kLong).view({rows, length}).to(device)).logits.to(torch::kFloat32);
    const auto nll = torch::nn::functional::cross_entropy(
        logits.reshape({rows * length, -1}), torch::tensor(target, torch::kLong).to(device),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    const auto mean = nll.view({rows, length}).mean(1).exp().to(torch::kCPU, torch::kFloat64);
    for (int64_t i = 0; i < rows; ++i) out.push_back(mean[i].item<double>());
  }
  if (was_training) model->train();
  return out;
}

double distinct_n(const std::vector<std::vector<int64_t>>& blocks, int64_t n) {
  std::set<std::vector<int64_t>> unique;
  int64_t total = 0;
  for (const auto& b : blocks)
    for (size_t i = 0; i + static_cast<size_t>(n) <= b.size(); ++i) {
      unique.emplace(b.begin() + static_cast<std::ptrdiff_t>(i), b.begin() + static_cast<std::ptrdiff_t>(i + n));
      ++total;
    }
  return total ? static_cast<double>(unique.size()) / static_cast<double>(total) : 0.0;
}

std::pair<std::vector<std::vector<int64_t>>, int64_t> mix_real_blocks(const std::vector<std::vector<int64_t>>& continuations,
                                                                      const std::vector<std::vector<int64_t>>& real,
                                                                      double real_fraction, uint64_t seed) {
  if (continuations.size() != real.size()) throw Error("mix_real_blocks: one continuation per real block is needed");
  std::vector<size_t> order(real.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  const auto real_count = static_cast<size_t>(std::llround(real_fraction * static_cast<double>(real.size())));
  auto mixed = continuations;
  for (size_t i = 0; i < real_count; ++i) mixed[order[i]] = real[order[i]];
  return {mixed, static_cast<int64_t>(real_count)};
}

namespace {

std::vector<int32_t> concatenated(const std::vector<std::vector<int64_t>>& blocks) {
  std::vector<int32_t> out;
  for (const auto& b : blocks)
    for (int64_t t : b) out.push_back(static_cast<int32_t>(t));
  return out;
}

struct Fitted {
  model::Transformer model{nullptr};
  double val_loss = 0;
  int64_t best_epoch = 0;
};

// Fine-tunes a copy of the model in `start` on `blocks` for the options' epochs, keeping the
// weights of the epoch with the lowest loss on the real validation text.
Fitted fine_tune(const fs::path& start, const std::vector<std::vector<int64_t>>& blocks, const LmCollapseData& data,
                 const LmCollapseOptions& o, uint64_t seed, const fs::path& run, bool quiet) {
  auto loaded = model::load_model(start);
  Fitted f{loaded.model, std::numeric_limits<double>::infinity(), 0};
  const TokenWindows windows(concatenated(blocks), data.valid, data.bos, o.block + 1, o.batch,
                             static_cast<int64_t>(data.valid.size()) / o.block, seed);
  const int64_t per_epoch = std::max<int64_t>(1, (static_cast<int64_t>(blocks.size()) + o.batch - 1) / o.batch);
  TrainConfig tc;
  tc.steps = per_epoch * o.epochs;
  tc.batch = o.batch;
  tc.seq = o.block + 1;
  tc.lr = o.lr;
  tc.warmup = std::max<int64_t>(1, per_epoch / 10);
  tc.eval_every = per_epoch;
  tc.eval_windows = static_cast<int64_t>(data.valid.size()) / o.block;
  tc.checkpoint_every = 0;
  tc.keep_checkpoints = 1;
  tc.seed = seed;
  torch::manual_seed(static_cast<int64_t>(seed));
  TensorMap best;
  // The Trainer has just put this epoch's validation loss into `metrics`.
  const EvalHook keep_best = [&](model::Transformer& m, int64_t step, Json& metrics) {
    const double val = metrics.at("val_loss").get<double>();
    metrics["val_ppl"] = std::exp(val);
    if (val < f.val_loss) {
      f.val_loss = val;
      f.best_epoch = (step + per_epoch - 1) / per_epoch;
      best.clear();
      for (const auto& [name, tensor] : module_tensors(*m)) best[name] = tensor.detach().clone();
    }
  };
  Trainer trainer(tc, run);
  trainer.quiet = quiet;
  trainer.tokenizer_spec = loaded.tokenizer_spec;
  trainer.fit(f.model, windows, false, keep_best);
  load_module_tensors(*f.model, best, run / "best");
  model::save_model(run / "model", f.model, loaded.tokenizer_spec);
  return f;
}

// Generation n - 1's continuation of every prompt block: beam search or sampling.
std::vector<std::vector<int64_t>> continue_blocks(model::Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                                                  const LmCollapseOptions& o, uint64_t seed, bool quiet) {
  std::vector<std::vector<int64_t>> out(prompts.size());
  Progress progress(o.decoding == "beam" ? fmt::format("beam search (width {})", o.beam_width) : "sampling", static_cast<int64_t>(prompts.size()),
                    "blocks");
  for (size_t start = 0; start < prompts.size(); start += static_cast<size_t>(o.decode_batch)) {
    const size_t stop = std::min(prompts.size(), start + static_cast<size_t>(o.decode_batch));
    const std::vector<std::vector<int64_t>> chunk(prompts.begin() + static_cast<std::ptrdiff_t>(start),
                                                  prompts.begin() + static_cast<std::ptrdiff_t>(stop));
    if (o.decoding == "beam") {
      const auto beams = model::beam_search(model, chunk, {.width = o.beam_width, .max_new_tokens = o.block, .eos_id = -1}, o.decode_batch);
      for (size_t i = 0; i < chunk.size(); ++i) out[start + i] = beams[i][0].tokens;
    } else {
      for (size_t i = 0; i < chunk.size(); ++i) {
        model::GenerateOptions g;
        g.max_new_tokens = o.block;
        g.temperature = 1.0;
        g.seed = seed + start + i;
        out[start + i] = model::generate(model, chunk[i], g)[0].tokens;
      }
    }
    if (!quiet) progress.update(static_cast<int64_t>(stop));
  }
  if (!quiet) progress.finish();
  return out;
}

}  // namespace

std::vector<GenerationStats> run_lm_collapse(const fs::path& pretrained, const LmCollapseData& data, const LmCollapseOptions& o,
                                             const fs::path& out, bool quiet,
                                             const std::function<void(const GenerationStats&)>& on_generation) {
  o.validate();
  const auto real = cut_blocks(data.train, o.block);
  if (real.size() < 2) throw Error(fmt::format("collapse: the training text holds {} blocks of {} tokens; at least 2 are needed",
                                               real.size(), o.block));
  if (static_cast<int64_t>(data.valid.size()) < o.block + 1 || static_cast<int64_t>(data.test.size()) < o.block + 1)
    throw Error("collapse: the validation and test texts need more than one block of tokens each");
  const TokenWindows test(data.test, data.test, data.bos, o.block + 1, o.batch, static_cast<int64_t>(data.test.size()) / o.block, o.seed);
  // A rerun in the same folder replaces the earlier run's generations; those beyond this
  // run's last would otherwise sit beside its figures.
  if (fs::exists(out))
    for (const auto& entry : fs::directory_iterator(out)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("gen-", 0) == 0 && name.size() > 4 &&
          name.find_first_not_of("0123456789", 4) == std::string::npos && std::stoll(name.substr(4)) > o.generations)
        fs::remove_all(entry.path());
    }
  std::vector<GenerationStats> stats;
  model::Transformer reference{nullptr};  // generation 0, the judge of every synthetic set
  fs::path previous;
  for (int64_t n = 0; n <= o.generations; ++n) {
    const auto started = std::chrono::steady_clock::now();
    GenerationStats g;
    g.generation = n;
    g.blocks = static_cast<int64_t>(real.size());
    std::vector<std::vector<int64_t>> blocks;
    if (n == 0) {
      blocks = real;
      g.real_blocks = g.blocks;
    } else {
      auto source = model::load_model(previous / "model").model;
      // The prompts are the real blocks; a perfect model would continue each as the text does.
      const auto continuations = continue_blocks(source, real, o, o.seed + 1000 * static_cast<uint64_t>(n), quiet);
      std::tie(blocks, g.real_blocks) = mix_real_blocks(continuations, real, o.real_fraction, o.seed + static_cast<uint64_t>(n));
    }
    const fs::path start = n == 0 || o.start_from == "pretrained" ? pretrained
                           : o.start_from == "previous"            ? previous / "model"
                                                                   : out / "gen-0" / "model";
    const fs::path run = out / fmt::format("gen-{}", n);
    Fitted fitted = fine_tune(start, blocks, data, o, o.seed + static_cast<uint64_t>(n), run, quiet);
    if (n == 0) reference = fitted.model;
    g.best_epoch = fitted.best_epoch;
    g.val_ppl = std::exp(fitted.val_loss);
    g.test_ppl = std::exp(Trainer::evaluate(fitted.model, test, false));
    g.sequence_ppl = block_perplexities(reference, blocks, data.bos);
    for (int64_t k = 1; k <= 3; ++k) g.distinct.push_back(distinct_n(blocks, k));
    g.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    previous = run;
    stats.push_back(g);
    if (on_generation) on_generation(g);
  }
  return stats;
}

}  // namespace garden::train
