// Training throughput of garden's trainer step against the same model trained by PyTorch in
// Python (bench/peers/lm_train_peer.py), measured in the same run, plus garden's model-FLOPs
// utilisation against a matmul peak measured here too. I/O and data preparation are outside
// the timed region; the timed region is forward + loss + backward + clip + AdamW.
#include <fmt/core.h>

#include <ATen/autocast_mode.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/model/transformer.h"
#include "garden/train/objectives/lm.h"

namespace {

struct Size {
  int64_t d, layers, heads;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Matmul peak in the given dtype, FLOP/s: the best of a few square sizes and repetitions,
// since the largest products are where BLAS gets closest to the hardware limit.
double matmul_peak(torch::ScalarType dtype) {
  double best = 0;
  for (int64_t n : {512, 1024, 2048}) {
    auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
    torch::mm(a, b);
    for (int round = 0; round < 3; ++round) {
      const int reps = n == 2048 ? 2 : 8;
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) torch::mm(a, b);
      best = std::max(best, reps * 2.0 * static_cast<double>(n * n * n) / seconds_since(start));
    }
  }
  return best;
}

garden::model::TransformerConfig gpt_config(const Size& s, int64_t seq) {
  garden::model::TransformerConfig c;
  c.vocab = 259;
  c.d_model = s.d;
  c.n_layers = s.layers;
  c.n_heads = s.heads;
  c.max_seq = seq;
  c.norm = garden::model::Norm::layernorm;
  c.pos = garden::model::Positions::learned;
  c.mlp = garden::model::Mlp::gelu;
  c.tie_embeddings = true;
  return c;
}

double garden_tokens_per_second(const Size& s, int64_t seq, int64_t batch, int steps, int warmup, int rounds, bool bf16) {
  torch::manual_seed(0);
  garden::model::Transformer model(gpt_config(s, seq));
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).weight_decay(0.1));
  auto tokens = torch::randint(0, 259, {batch, seq + 1}, torch::kLong);
  auto input = tokens.narrow(1, 0, seq), target = tokens.narrow(1, 1, seq);
  auto step = [&] {
    opt.zero_grad();
    torch::Tensor logits;
    if (bf16) {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
    logits = model->forward(input).logits;
    if (bf16) {
      at::autocast::set_cpu_enabled(false);
      at::autocast::clear_cache();
    }
    garden::train::lm_loss(logits, target).loss.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
  };
  for (int i = 0; i < warmup; ++i) step();
  double best = 0;
  for (int round = 0; round < rounds; ++round) {  // best of several rounds, as the peer does
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) step();
    best = std::max(best, static_cast<double>(steps * batch * seq) / seconds_since(start));
  }
  return best;
}

double peer_tokens_per_second(const Size& s, int64_t seq, int64_t batch, int steps, int warmup, int rounds, bool bf16,
                              int threads) {
  const std::string command = fmt::format(
      "/usr/bin/python3 {}/lm_train_peer.py --d {} --layers {} --heads {} --seq {} --batch {} --steps {} --warmup {} "
      "--rounds {} --threads {}{}",
      GARDEN_PEER_DIR, s.d, s.layers, s.heads, seq, batch, steps, warmup, rounds, threads, bf16 ? " --bf16" : "");
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string out;
  std::array<char, 4096> buffer{};
  while (pipe && std::fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
  try {
    return garden::Json::parse(out).at("tokens_per_second").get<double>();
  } catch (const std::exception&) {
    fmt::print(stderr, "peer failed (is python3-torch installed?): {}\n", out);
    return 0;
  }
}

// Training FLOPs per token: 6 per non-embedding parameter, plus attention scores and
// values, 12 * L * C * T (PaLM appendix B), plus the tied LM head's 6 * C * V.
double flops_per_token(const Size& s, int64_t seq) {
  const double c = static_cast<double>(s.d), l = static_cast<double>(s.layers);
  const double block_params = l * (4 * c * c + 8 * c * c);
  return 6 * block_params + 12 * l * c * static_cast<double>(seq) + 6 * c * 259;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = garden::configure_threads(argc > 1 ? std::atoi(argv[1]) : 0);
  const int64_t seq = 128, batch = 8;
  const int steps = 8, warmup = 3, rounds = 5;
  const std::vector<Size> sizes = {{128, 2, 4}, {256, 4, 4}, {512, 6, 8}};
  const double peak32 = matmul_peak(torch::kFloat32), peak16 = matmul_peak(torch::kBFloat16);
  fmt::print("LM training throughput, {} threads, batch {} x seq {}, best of {} rounds of {} steps after {} warm-up\n",
             threads, batch, seq, rounds, steps, warmup);
  fmt::print("matmul peak (best square product up to 2048, same run): fp32 {:.1f} GFLOP/s, bf16 {:.1f} GFLOP/s\n\n",
             peak32 / 1e9, peak16 / 1e9);
  fmt::print("| model | dtype | garden tok/s | PyTorch tok/s | garden / PyTorch | garden MFU |\n");
  fmt::print("| --- | --- | ---: | ---: | ---: | ---: |\n");
  for (const auto& s : sizes) {
    for (bool bf16 : {false, true}) {
      const double ours = garden_tokens_per_second(s, seq, batch, steps, warmup, rounds, bf16);
      const double peer = peer_tokens_per_second(s, seq, batch, steps, warmup, rounds, bf16, threads);
      const double mfu = ours * flops_per_token(s, seq) / (bf16 ? peak16 : peak32);
      fmt::print("| d={} L={} | {} | {:.0f} | {:.0f} | {:.2f}x | {:.1f}% |\n", s.d, s.layers, bf16 ? "bf16" : "fp32", ours,
                 peer, peer > 0 ? ours / peer : 0.0, 100 * mfu);
      std::fflush(stdout);
    }
  }
  return 0;
}
