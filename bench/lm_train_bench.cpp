// garden's side of the LM training benchmark, one measurement per process; bench/lm_train.py
// runs it and its peer (bench/peers/lm_train_peer.py) in fresh processes, alternating, and
// compares them. Subcommands, each printing one JSON line:
//   prepare --d D --layers L --heads H --seq T --batch B --batches N --out FILE
//       the starting point both sides load: garden's initial weights (seed 0) as "model.<name>"
//       and N token batches [N,B,T+1] (seed 1) as "tokens", in safetensors
//   run --init FILE --d D --layers L --heads H --warmup W --steps S [--bf16] [--threads N]
//       the loss of batch 0 before any update (the peer must agree), then W + S steps of
//       garden's own Trainer (AdamW on matrices with decay, clipping, cosine schedule) cycling
//       over the batches; tokens/s over the last S steps from the Trainer's per-step times
//   gemm --d D --seq T --batch B [--bf16] [--training] [--products libtorch|garden]
//       the matmul rate at the model's own shapes (Q/K/V/O, MLP in and out, the tied head),
//       weighted by their FLOPs: the measured ceiling for model-FLOPs utilisation. With
//       --training also the two backward products of each (X^T G and G W^T, the layouts a
//       training step runs), and the largest relative error of the products against float64.
//       libtorch (default): torch::mm on operands already in the dtype; garden: the model's
//       linear layer (model/onednn_linear.h) on float32 operands, forward (and backward with
//       --training) as a training step runs it, bf16 casts under autocast included.
//   clock
//       the core clock, from a chain of dependent additions (one per cycle)
//   peak [--threads N]
//       FLOPs per cycle per core that the multiply-adds the nominal peak counts reach with
//       their operands in registers, on N threads at once (default 2): the widest fp32 FMA,
//       and AVX512_BF16's dot product where the core has it (null otherwise; AMX not measured)
//   optimizer --d D --layers L --heads H [--threads N] [--rounds R]
//       the optimizer step alone on the model's parameters with fixed random gradients:
//       libtorch's AdamW after clip_grad_norm_ (what the Trainer ran before) against garden's
//       FusedAdamW with the clipping folded in, each on its own copy, alternating which goes
//       first, R rounds of 5 steps; median ms per step of each, and the largest difference
//       between the two copies' parameters afterwards (above 1e-4 the run fails)
//   attention --seq T --batch B --heads H --head-dim D [--bf16] [--threads N] [--rounds R]
//             [--tile Q] [--bidirectional] [--inference] [--only explicit|blockwise]
//       causal (or unmasked) self-attention forward and backward (forward alone without
//       autograd with --inference) on random q, k, v (seed 0), as the model
//       runs it (bf16 under autocast): the written-out softmax(QK^T/sqrt(D)) V against
//       blockwise_attention with Q x Q tiles (default: the model's), alternating which goes first, R
//       rounds (default 5); median ms of each and the largest differences of the outputs and
//       gradients relative to their largest magnitude (above 1e-4, or 2e-2 in bf16, the run
//       fails). With --only, that side alone, and this process's peak resident memory: run
//       each side in its own process to compare memory.
#include <dlfcn.h>
#include <fmt/core.h>
#include <unistd.h>

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "garden/core/error.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/core/safetensors.h"
#include "garden/model/attention.h"
#include "garden/model/autocast.h"
#include "garden/model/blockwise_attention.h"
#include "garden/model/onednn_linear.h"
#include "garden/model/transformer.h"
#include "garden/train/batches.h"
#include "garden/train/fused_adamw.h"
#include "garden/train/objectives/lm.h"
#include "garden/train/trainer.h"

#include "peers/process_stats.h"

namespace {

constexpr int64_t kVocab = 259;

struct Args {
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
  std::string get(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end()) throw garden::Error("missing --" + key);
    return it->second;
  }
  int64_t integer(const std::string& key) const {
    const std::string text = get(key);
    size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) throw garden::Error("--" + key + " needs an integer, got '" + text + "'");
    return value;
  }
  bool flag(const std::string& key) const { return switches.count(key) > 0; }
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0) throw garden::Error("unexpected argument " + key);
    key = key.substr(2);
    if (key == "bf16" || key == "training" || key == "bidirectional" || key == "inference") a.switches.insert(key);
    else if (i + 1 < argc) a.values[key] = argv[++i];
    else throw garden::Error("--" + key + " needs a value");
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The GPT-2-style model of the peer: pre-norm LayerNorm, learned positions, GELU MLP (4C),
// tied embeddings, no biases in the linear layers.
garden::model::TransformerConfig gpt_config(const Args& a) {
  garden::model::TransformerConfig c;
  c.vocab = kVocab;
  c.d_model = a.integer("d");
  c.n_layers = a.integer("layers");
  c.n_heads = a.integer("heads");
  c.max_seq = a.values.count("seq") ? a.integer("seq") : 128;
  c.norm = garden::model::Norm::layernorm;
  c.pos = garden::model::Positions::learned;
  c.mlp = garden::model::Mlp::gelu;
  c.tie_embeddings = true;
  return c;
}

int prepare(const Args& a) {
  auto config = gpt_config(a);
  if (a.integer("batches") < 1 || a.integer("batch") < 1) throw garden::Error("--batches and --batch must be >= 1");
  torch::manual_seed(0);
  garden::model::Transformer model(config);
  garden::TensorMap out;
  for (const auto& [name, tensor] : garden::module_tensors(*model)) out["model." + name] = tensor;
  torch::manual_seed(1);
  out["tokens"] = torch::randint(0, kVocab, {a.integer("batches"), a.integer("batch"), config.max_seq + 1}, torch::kLong);
  garden::save_safetensors(a.get("out"), out);
  fmt::print("{}\n", garden::Json{{"parameters", model->parameter_count()}}.dump());
  return 0;
}

// The prepared batches in order, cycling: batch s of the run is tokens[s mod N].
class PreparedBatches final : public garden::train::BatchSource {
 public:
  explicit PreparedBatches(torch::Tensor tokens) : tokens_(std::move(tokens)) {}
  garden::train::Batch train_batch(int64_t step) const override {
    auto rows = tokens_[step % tokens_.size(0)];
    return {rows.narrow(1, 0, rows.size(1) - 1), rows.narrow(1, 1, rows.size(1) - 1), {}, {}};
  }
  std::vector<garden::train::Batch> eval_batches() const override { return {train_batch(0)}; }
  std::string describe() const override { return "prepared batches"; }

 private:
  torch::Tensor tokens_;
};

int run(const Args& a) {
  garden::configure_threads(a.values.count("threads") ? static_cast<int>(a.integer("threads")) : 0);
  auto tensors = garden::load_safetensors(a.get("init"));
  auto config = gpt_config(a);
  config.max_seq = tensors.at("tokens").size(2) - 1;
  garden::model::Transformer model(config);
  garden::TensorMap weights;
  for (const auto& [name, tensor] : tensors)
    if (name.rfind("model.", 0) == 0) weights[name.substr(6)] = tensor;
  garden::load_module_tensors(*model, weights, a.get("init"));
  const PreparedBatches data(tensors.at("tokens"));
  const bool bf16 = a.flag("bf16");

  double step0_loss = 0;
  {
    torch::NoGradGuard no_grad;
    const auto batch = data.train_batch(0);
    if (bf16) {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
    const auto logits = model->forward(batch.input).logits;
    if (bf16) {
      at::autocast::set_cpu_enabled(false);
      at::autocast::clear_cache();
    }
    step0_loss = garden::train::lm_loss(logits, batch.target).loss.item<double>();
  }

  const int64_t warmup = a.integer("warmup"), steps = a.integer("steps");
  if (warmup < 0 || steps < 1) throw garden::Error("--warmup must be >= 0 and --steps >= 1");
  garden::train::TrainConfig tc;
  tc.steps = warmup + steps;
  tc.batch = tensors.at("tokens").size(1);
  tc.seq = config.max_seq;
  tc.lr = 1e-3;
  tc.warmup = 0;
  tc.weight_decay = 0.1;
  tc.bf16 = bf16;
  tc.eval_every = 0;
  tc.checkpoint_every = 0;
  tc.log_every = 1000000;
  // A run folder of its own (mkdtemp), removed afterwards: nothing else's is touched.
  std::string pattern = (std::filesystem::temp_directory_path() / "garden-bench-lm-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw garden::Error("cannot create a temporary run folder in " + pattern);
  const std::filesystem::path out = pattern;
  garden::train::Trainer trainer(tc, out / "run");
  trainer.quiet = true;
  const auto result = trainer.fit(model, data, /*resume=*/false);
  std::filesystem::remove_all(out);
  double timed = 0;
  std::vector<double> step_ms;
  for (size_t i = static_cast<size_t>(warmup); i < result.step_seconds.size(); ++i) {
    timed += result.step_seconds[i];
    step_ms.push_back(1e3 * result.step_seconds[i]);
  }
  const double tokens = static_cast<double>(steps * tc.batch * tc.seq);
  fmt::print("{}\n", garden::Json{{"tokens_per_second", tokens / timed}, {"step0_loss", step0_loss}, {"step_ms", step_ms},
                                  {"final_loss", result.final_train_loss}, {"peak_rss_mb", static_cast<double>(bench::peak_resident_bytes()) / (1 << 20)}}
                         .dump());
  return 0;
}

// OpenBLAS's kernel set ("Haswell", "Cooperlake", ...); "" when the BLAS is not OpenBLAS.
std::string openblas_kernels() {
  using CoreName = char* (*)();
  const auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return core_name ? core_name() : "";
}

// The BLAS libraries this process has mapped (which one libblas.so.3 resolved to).
std::vector<std::string> loaded_blas() {
  std::set<std::string> found;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && (line.find("blas") != std::string::npos || line.find("blis") != std::string::npos))
      found.insert(std::filesystem::canonical(line.substr(slash)).string());
  }
  return {found.begin(), found.end()};
}

int gemm(const Args& a) {
  garden::configure_threads(a.values.count("threads") ? static_cast<int>(a.integer("threads")) : 0);
  const int64_t c = a.integer("d"), rows = a.integer("seq") * a.integer("batch");
  if (c < 1 || a.integer("layers") < 1 || a.integer("seq") < 1 || a.integer("batch") < 1)
    throw garden::Error("--d, --layers, --seq and --batch must be >= 1");
  const auto dtype = a.flag("bf16") ? torch::kBFloat16 : torch::kFloat32;
  // (inner, outer, times per layer or once): Q, K, V, O; MLP in; MLP out; the head.
  struct Shape {
    int64_t inner, outer, count;
  };
  const std::vector<Shape> shapes = {{c, c, 4 * a.integer("layers")}, {c, 4 * c, a.integer("layers")},
                                     {4 * c, c, a.integer("layers")}, {c, kVocab, 1}};
  double flops = 0, seconds = 0, worst_error = 0;
  // The best of 5 rounds of 10 products: contention on this machine can only slow one down.
  const auto timed = [](const std::function<torch::Tensor()>& product) {
    for (int i = 0; i < 3; ++i) product();
    double best = 1e30;
    for (int round = 0; round < 5; ++round) {
      const int reps = 10;
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) product();
      best = std::min(best, bench::seconds_since(start) / reps);
    }
    return best;
  };
  const auto relative_error = [](const torch::Tensor& got, const torch::Tensor& a, const torch::Tensor& b) {
    const auto exact = torch::mm(a.to(torch::kFloat64), b.to(torch::kFloat64));
    return ((got.to(torch::kFloat64) - exact).abs().max() / exact.abs().max()).item<double>();
  };
  const auto products_of = a.values.count("products") ? a.get("products") : std::string("libtorch");
  if (products_of != "libtorch" && products_of != "garden") throw garden::Error("--products must be libtorch or garden");
  for (const auto& s : shapes) {
    const double f = 2.0 * static_cast<double>(rows * s.inner * s.outer);
    if (products_of == "garden") {
      const auto x = torch::randn({rows, s.inner}).requires_grad_(a.flag("training"));
      const auto weight = torch::randn({s.outer, s.inner}).requires_grad_(a.flag("training"));
      const auto g = torch::randn({rows, s.outer}).to(dtype);
      const garden::model::AutocastScope autocast(a.flag("bf16"), torch::kCPU);
      const auto run_once = [&] {
        if (!a.flag("training")) {
          torch::NoGradGuard no_grad;
          return garden::model::apply_linear(x, weight);
        }
        auto out = garden::model::apply_linear(x, weight);
        out.backward(g);
        return out;
      };
      const int64_t count = a.flag("training") ? 3 : 1;
      flops += f * static_cast<double>(count * s.count);
      seconds += timed(run_once) * static_cast<double>(s.count);
      // Against the exact products of the operands the products ran on (bf16-rounded under autocast).
      torch::Tensor x_used = x.detach().to(dtype), w_used = weight.detach().to(dtype);
      worst_error = std::max(worst_error, relative_error(garden::model::apply_linear(x.detach(), weight.detach()), x_used, w_used.t()));
      continue;
    }
    auto x = torch::randn({rows, s.inner}).to(dtype), w = torch::randn({s.inner, s.outer}).to(dtype);
    auto g = torch::randn({rows, s.outer}).to(dtype);
    std::vector<std::function<torch::Tensor()>> products = {[&] { return torch::mm(x, w); }};
    if (a.flag("training")) {
      products.push_back([&] { return torch::mm(x.t(), g); });  // the weight's gradient
      products.push_back([&] { return torch::mm(g, w.t()); });  // the input's gradient
    }
    for (const auto& product : products) {
      flops += f * static_cast<double>(s.count);
      seconds += timed(product) * static_cast<double>(s.count);
    }
    worst_error = std::max(worst_error, relative_error(torch::mm(x, w), x, w));
    if (a.flag("training")) {
      worst_error = std::max(worst_error, relative_error(torch::mm(x.t(), g), x.t(), g));
      worst_error = std::max(worst_error, relative_error(torch::mm(g, w.t()), g, w.t()));
    }
  }
  fmt::print("{}\n", garden::Json{{"gflops", flops / seconds / 1e9}, {"max_relative_error", worst_error}, {"blas", loaded_blas()}, {"openblas_kernels", openblas_kernels()}}.dump());
  return 0;
}

int optimizer_step(const Args& a) {
  garden::configure_threads(a.values.count("threads") ? static_cast<int>(a.integer("threads")) : 0);
  const int64_t rounds = a.values.count("rounds") ? a.integer("rounds") : 9;
  if (rounds < 1) throw garden::Error("--rounds must be >= 1");
  torch::manual_seed(0);
  garden::model::Transformer model(gpt_config(a));
  // Two copies of the parameters with the same gradients, large enough to be clipped.
  std::vector<torch::Tensor> plain, fused;
  for (const auto& p : model->parameters()) {
    auto grad = torch::randn_like(p);
    for (auto* copies : {&plain, &fused}) {
      auto copy = p.detach().clone().requires_grad_(true);
      copy.mutable_grad() = grad.clone();
      copies->push_back(copy);
    }
  }
  const auto groups = [](const std::vector<torch::Tensor>& ps) {
    std::vector<torch::Tensor> decay, no_decay;
    for (const auto& p : ps) (p.dim() >= 2 ? decay : no_decay).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> g;
    g.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).weight_decay(0.1)));
    g.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).weight_decay(0.0)));
    return g;
  };
  torch::optim::AdamW libtorch_adamw(groups(plain), torch::optim::AdamWOptions(1e-3));
  garden::train::FusedAdamW fused_adamw(groups(fused), torch::optim::AdamWOptions(1e-3));
  // The gradients are restored before every step, so clip_grad_norm_'s in-place scaling does
  // not compound and both sides see the same gradients every time.
  std::vector<torch::Tensor> gradients;
  for (const auto& p : plain) gradients.push_back(p.grad().clone());
  const auto restore = [&](const std::vector<torch::Tensor>& ps) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < ps.size(); ++i) ps[i].mutable_grad().copy_(gradients[i]);
  };
  const std::function<void()> libtorch_step = [&] {
    torch::nn::utils::clip_grad_norm_(plain, 1.0);
    libtorch_adamw.step();
  };
  const std::function<void()> fused_step = [&] { fused_adamw.step_scaled(garden::train::gradient_clip(fused, 1.0).scale); };
  const auto timed = [&](const std::function<void()>& step, const std::vector<torch::Tensor>& ps) {
    double seconds = 0;
    for (int i = 0; i < 5; ++i) {
      restore(ps);
      const auto start = std::chrono::steady_clock::now();
      step();
      seconds += bench::seconds_since(start);
    }
    return 1e3 * seconds / 5;
  };
  std::vector<double> libtorch_ms, fused_ms;
  for (int64_t round = 0; round <= rounds; ++round) {  // round 0 warms up both
    const bool fused_first = round % 2 == 0;
    const double first = timed(fused_first ? fused_step : libtorch_step, fused_first ? fused : plain);
    const double second = timed(fused_first ? libtorch_step : fused_step, fused_first ? plain : fused);
    if (round == 0) continue;
    fused_ms.push_back(fused_first ? first : second);
    libtorch_ms.push_back(fused_first ? second : first);
  }
  double gap = 0;
  for (size_t i = 0; i < plain.size(); ++i) gap = std::max(gap, (plain[i].detach() - fused[i].detach()).abs().max().item<double>());
  // Timings of two optimizers that did not take the same steps compare nothing.
  if (!(gap <= 1e-4)) throw garden::Error(fmt::format("the two optimizers' parameters differ by {:.2e} after the timed steps", gap));
  int64_t parameters = 0;
  for (const auto& p : plain) parameters += p.numel();
  fmt::print("{}\n", garden::Json{{"parameters", parameters}, {"tensors", plain.size()}, {"libtorch_ms", median(libtorch_ms)},
                                  {"fused_ms", median(fused_ms)}, {"libtorch_ms_all", libtorch_ms}, {"fused_ms_all", fused_ms},
                                  {"max_parameter_gap", gap}}.dump());
  return 0;
}

int attention(const Args& a) {
  garden::configure_threads(a.values.count("threads") ? static_cast<int>(a.integer("threads")) : 0);
  const int64_t t = a.integer("seq"), b = a.integer("batch"), h = a.integer("heads"), d = a.integer("head-dim");
  const int64_t rounds = a.values.count("rounds") ? a.integer("rounds") : 5;
  const int64_t tile = a.values.count("tile") ? a.integer("tile") : garden::model::AttentionTiles{}.queries;
  const std::string only = a.values.count("only") ? a.get("only") : "";
  if (rounds < 1) throw garden::Error("--rounds must be >= 1");
  if (t < 1 || b < 1 || h < 1 || d < 1 || tile < 1) throw garden::Error("--seq, --batch, --heads, --head-dim and --tile must be >= 1");
  if (!only.empty() && only != "explicit" && only != "blockwise") throw garden::Error("--only must be explicit or blockwise");
  const bool bf16 = a.flag("bf16");
  torch::manual_seed(0);
  auto q = torch::randn({b, h, t, d}).requires_grad_(true), k = torch::randn({b, h, t, d}).requires_grad_(true),
       v = torch::randn({b, h, t, d}).requires_grad_(true);
  const auto grad_out = torch::randn({b, h, t, d});
  const auto allowed = a.flag("bidirectional") ? torch::Tensor()
                                               : garden::model::build_attention_mask(garden::model::MaskMode::causal, t, t, 0,
                                                                                     torch::ones({1, t}, torch::kBool), {});
  struct Result {
    torch::Tensor out, dq, dk, dv;
  };
  const bool inference = a.flag("inference");
  const auto pass = [&](bool blockwise) {
    for (auto* x : {&q, &k, &v}) x->mutable_grad() = torch::Tensor();
    torch::Tensor out;
    {
      garden::model::AutocastScope autocast(bf16, torch::kCPU);
      std::optional<torch::NoGradGuard> no_grad;
      if (inference) no_grad.emplace();
      out = blockwise ? garden::model::blockwise_attention(q, k, v, allowed, 1.0 / std::sqrt(static_cast<double>(d)), {tile, tile})
                      : torch::matmul(garden::model::attention_probabilities(q, k, allowed), v);
    }
    if (inference) return Result{out.to(torch::kFloat32), {}, {}, {}};
    out.backward(grad_out.to(out.scalar_type()));
    return Result{out.detach().to(torch::kFloat32), q.grad(), k.grad(), v.grad()};
  };
  const auto timed = [&](bool blockwise) {
    const auto start = std::chrono::steady_clock::now();
    pass(blockwise);
    return 1e3 * bench::seconds_since(start);
  };
  if (!only.empty()) {
    const bool blockwise = only == "blockwise";
    std::vector<double> ms;
    for (int64_t round = 0; round <= rounds; ++round) {  // round 0 warms up
      const double m = timed(blockwise);
      if (round > 0) ms.push_back(m);
    }
    fmt::print("{}\n", garden::Json{{"variant", only}, {"ms", median(ms)}, {"ms_all", ms}, {"peak_rss_mb", static_cast<double>(bench::peak_resident_bytes()) / (1 << 20)}}.dump());
    return 0;
  }
  const auto expected = pass(false), got = pass(true);
  double gap = 0;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> compared{{expected.out, got.out}};
  if (!inference) compared.insert(compared.end(), {{expected.dq, got.dq}, {expected.dk, got.dk}, {expected.dv, got.dv}});
  for (const auto& [x, y] : compared) gap = std::max(gap, ((x - y).abs().max() / x.abs().max()).item<double>());
  // Timings of two functions that do not compute the same thing compare nothing.
  const double tolerance = bf16 ? 2e-2 : 1e-4;
  if (!(gap <= tolerance)) throw garden::Error(fmt::format("blockwise attention differs from the explicit one by {:.2e} (relative)", gap));
  std::vector<double> explicit_ms, blockwise_ms;
  for (int64_t round = 0; round < rounds; ++round) {
    const bool blockwise_first = round % 2 == 0;
    const double first = timed(blockwise_first), second = timed(!blockwise_first);
    blockwise_ms.push_back(blockwise_first ? first : second);
    explicit_ms.push_back(blockwise_first ? second : first);
  }
  fmt::print("{}\n", garden::Json{{"explicit_ms", median(explicit_ms)}, {"blockwise_ms", median(blockwise_ms)},
                                  {"explicit_ms_all", explicit_ms}, {"blockwise_ms_all", blockwise_ms}, {"max_relative_gap", gap}}.dump());
  return 0;
}

// Seconds for n additions each depending on the one before: one per cycle whatever the core's
// width; the empty asm keeps the compiler from folding or vectorising the chain.
double chain_seconds(int64_t n) {
  uint64_t x = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    x += 1;
    asm volatile("" : "+r"(x));
  }
  const double seconds = bench::seconds_since(start);
  if (x != static_cast<uint64_t>(n)) throw garden::Error("the clock's addition chain miscounted");
  return seconds;
}

// The core clock, the best of 3 chains: contention can only lower it.
double measured_ghz() {
  constexpr int64_t n = 400'000'000;
  double best = 0;
  for (int round = 0; round < 3; ++round) best = std::max(best, n / chain_seconds(n));
  return best / 1e9;
}

int clock_rate() {
  fmt::print("{}\n", garden::Json{{"ghz", measured_ghz()}}.dump());
  return 0;
}

// Register-only throughput of the multiply-adds the nominal peak counts, to check its
// assumption (two full-width pipes) on the machine at hand: independent accumulators, more than
// latency x pipes, written in asm (GAS's .irp repeats the instruction for each register) so the
// compiler can neither fold nor spill them. Each function returns the FLOPs it did.
#define GARDEN_FMAS_INTO_0_TO_11(width) \
  ".irp r,0,1,2,3,4,5,6,7,8,9,10,11\n vfmadd231ps %%" width "14, %%" width "15, %%" width "\\r\n .endr\n"
#define GARDEN_REGISTERS_0_TO_11 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"

__attribute__((target("avx512f"))) double fma512_flops(int64_t iterations) {
  for (int64_t i = 0; i < iterations; ++i) asm volatile(GARDEN_FMAS_INTO_0_TO_11("zmm")::: GARDEN_REGISTERS_0_TO_11);
  return static_cast<double>(iterations) * 12 * 16 * 2;
}

__attribute__((target("avx2,fma"))) double fma256_flops(int64_t iterations) {
  for (int64_t i = 0; i < iterations; ++i) asm volatile(GARDEN_FMAS_INTO_0_TO_11("ymm")::: GARDEN_REGISTERS_0_TO_11);
  return static_cast<double>(iterations) * 12 * 8 * 2;
}

// VDPBF16PS has a longer latency than an FMA: with 12 accumulators Zen 5 reached 90% of its
// two per cycle, with 24 all of it.
__attribute__((target("avx512f,avx512bf16"))) double dpbf16_flops(int64_t iterations) {
  for (int64_t i = 0; i < iterations; ++i)
    asm volatile(".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23\n"
                 " vdpbf16ps %%zmm30, %%zmm31, %%zmm\\r\n .endr\n" ::
                     : GARDEN_REGISTERS_0_TO_11, "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19",
                       "xmm20", "xmm21", "xmm22", "xmm23");
  return static_cast<double>(iterations) * 24 * 16 * 2 * 2;
}

// The loop on every thread at once (as a training step runs both cores), in 30 short stretches,
// each after the addition chain. FLOPs per cycle per core: the median stretch's rate over the
// fastest clock the chain saw, averaged over the threads. The fastest clock, as for the nominal
// peak: time taken from this virtual machine by others slows a stretch or a chain, never
// speeds one up, and a slowed chain would credit the loop with cycles it did not have.
double flops_per_cycle(double (*loop)(int64_t), int threads) {
  constexpr int64_t kChain = 10'000'000, kIterations = 500'000, kStretches = 30;
  std::vector<double> per_thread(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&per_thread, loop, t] {
      std::vector<double> rates;
      double fastest_hz = 0;
      for (int64_t stretch = 0; stretch < kStretches; ++stretch) {
        fastest_hz = std::max(fastest_hz, kChain / chain_seconds(kChain));
        const auto start = std::chrono::steady_clock::now();
        const double flops = loop(kIterations);
        rates.push_back(flops / bench::seconds_since(start));
      }
      per_thread[t] = median(rates) / fastest_hz;
    });
  for (auto& worker : workers) worker.join();
  double sum = 0;
  for (double r : per_thread) sum += r;
  return sum / threads;
}

int instruction_peak(const Args& a) {
  const int64_t requested = a.values.count("threads") ? a.integer("threads") : 2;
  // One thread per core: more would share a core's pipes and report a fraction of them.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (requested < 1 || requested > cores) throw garden::Error(fmt::format("--threads must be between 1 and {} (the cores), got {}", cores, requested));
  const int threads = static_cast<int>(requested);
  garden::Json out{{"threads", threads}};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) out["fp32_flops_per_cycle"] = flops_per_cycle(fma512_flops, threads);
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    out["fp32_flops_per_cycle"] = flops_per_cycle(fma256_flops, threads);
  else out["fp32_flops_per_cycle"] = nullptr;
  out["bf16_flops_per_cycle"] = __builtin_cpu_supports("avx512bf16") ? garden::Json(flops_per_cycle(dpbf16_flops, threads))
                                                                      : garden::Json(nullptr);
  fmt::print("{}\n", out.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    const auto args = parse(argc, argv);
    if (command == "prepare") return prepare(args);
    if (command == "run") return run(args);
    if (command == "gemm") return gemm(args);
    if (command == "clock") return clock_rate();
    if (command == "peak") return instruction_peak(args);
    if (command == "optimizer") return optimizer_step(args);
    if (command == "attention") return attention(args);
    fmt::print(stderr, "usage: garden_bench_lm prepare|run|gemm|clock|peak|optimizer|attention ... (see bench/lm_train.py)\n");
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "garden_bench_lm: {}\n", e.what());
    return 1;
  }
}
