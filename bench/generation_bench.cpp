// Generation throughput of garden against llama.cpp (its C API through the libllama that
// node-llama-cpp ships: bench/peers/llama_cpp_peer.cpp) and PyTorch in Python
// (bench/peers/generation_peer.py), on the same model in the same run: the shared base LM
// (garden lm base: 4 layers, d=128, SentencePiece 8k), exported to GGUF for llama.cpp.
//   single:  one greedy completion of 128 tokens (single-stream decode);
//   batched: 64 completions of 64 tokens sampled at temperature 1 from one prompt (the pass@k
//            workload of the RLVR paper).
// Each engine runs a warm-up and then ROUNDS rounds of the whole workload (prefill + every
// decode step, nothing else) on THREADS threads; the table gives the median tokens/s and the
// spread (slowest and fastest round). The single-stream greedy tokens must be the same for
// all three (llama.cpp with attention in f32), else the row says so: a faster wrong answer
// does not count. llama.cpp at its own defaults (f16 kv-cache, flash attention) is a row too.
//   garden_bench_generation [THREADS] [ROUNDS]
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>

#include "garden/core/data_root.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/model/generation.h"
#include "garden/model/gguf_export.h"
#include "garden/model/model_folder.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"

namespace {

struct Workload {
  std::string name;
  int64_t new_tokens, n;
};

struct Measured {
  std::vector<double> seconds;
  std::vector<std::vector<int64_t>> tokens;  // the first round's completions
  std::string error;                         // empty when the engine ran
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

Measured garden_run(garden::model::Transformer& model, const std::vector<int64_t>& prompt, const Workload& w, int rounds) {
  garden::model::GenerateOptions o;
  o.max_new_tokens = w.new_tokens;
  o.n_samples = w.n;
  o.temperature = w.n == 1 ? 0.0 : 1.0;  // no stop tokens: every completion runs its full length, as in the peers
  garden::model::generate(model, prompt, o);  // warm-up
  Measured m;
  for (int round = 0; round < rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    auto completions = garden::model::generate(model, prompt, o);
    m.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (round == 0)
      for (auto& c : completions) m.tokens.push_back(c.tokens);
  }
  return m;
}

Measured peer_run(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen((command + " 2>&1").c_str(), "r"), ::pclose);
  std::string out;
  std::array<char, 65536> buffer{};
  while (pipe && std::fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
  Measured m;
  try {
    const auto json = garden::Json::parse(out);
    m.seconds = json.at("seconds").get<std::vector<double>>();
    m.tokens = json.at("tokens").get<std::vector<std::vector<int64_t>>>();
  } catch (const std::exception&) {
    m.error = out.substr(0, 300);
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = garden::configure_threads(argc > 1 ? std::atoi(argv[1]) : 0);
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  const auto base = garden::train::ensure_base_lm(garden::resolve_cache_dir(""), garden::resolve_data_root(""),
                                                  garden::train::BaseLmOptions{});
  auto loaded = garden::model::load_model(base.model);
  auto tokenizer = garden::text::load_tokenizer(loaded.tokenizer_spec);
  std::vector<int64_t> prompt{tokenizer->bos_id()};
  for (auto id : tokenizer->encode("And the LORD spake unto Moses, saying,")) prompt.push_back(id);
  std::string prompt_ids;
  for (auto id : prompt) prompt_ids += (prompt_ids.empty() ? "" : ",") + std::to_string(id);

  const auto scratch = std::filesystem::temp_directory_path() / fmt::format("garden-bench-generation-{}", ::getpid());
  std::filesystem::create_directories(scratch);
  const auto gguf = scratch / "base.gguf";
  garden::model::export_gguf(base.model, gguf, garden::model::GgufDtype::f32);

  fmt::print("Generation throughput, {} threads, base LM ({} parameters), prompt of {} tokens, warm-up + {} rounds\n",
             threads, loaded.model->parameter_count(), prompt.size(), rounds);
  fmt::print("tokens/s: median over rounds (slowest - fastest); ratio = garden's median / the engine's\n\n");
  fmt::print("| workload | engine | tokens/s | spread | garden / engine | same greedy tokens |\n");
  fmt::print("| --- | --- | ---: | ---: | ---: | --- |\n");
  const std::vector<Workload> workloads{{"single: 1 x 128 greedy", 128, 1}, {"batched: 64 x 64 sampled", 64, 64}};
  for (const auto& w : workloads) {
    const std::string mode = w.n == 1 ? "single" : "batched";
    std::vector<std::pair<std::string, Measured>> engines;
    engines.emplace_back("garden", garden_run(loaded.model, prompt, w, rounds));
#ifdef GARDEN_LLAMA_PEER
    for (const char* attention : {"exact", "defaults"})
      engines.emplace_back(std::string("llama.cpp (") + (attention == std::string("exact") ? "f32 attention" : "its defaults") + ")",
                           peer_run(fmt::format("{} {} {} {} {} {} {} {} {} {}", GARDEN_LLAMA_PEER, gguf.string(),
                                                GARDEN_LLAMA_BACKENDS, mode, prompt_ids, w.new_tokens, w.n, threads, rounds,
                                                attention)));
#else
    engines.emplace_back("llama.cpp", Measured{{}, {}, "not built: node-llama-cpp is not installed (scripts/setup)"});
#endif
    engines.emplace_back("PyTorch (Python)", peer_run(fmt::format("/usr/bin/python3 {}/generation_peer.py {} {} {} {} {} {} {}",
                                                                  GARDEN_PEER_DIR, base.model.string(), mode, prompt_ids,
                                                                  w.new_tokens, w.n, threads, rounds)));
    const double tokens = static_cast<double>(w.new_tokens * w.n);
    const double ours = tokens / median(engines.front().second.seconds);
    for (const auto& [name, m] : engines) {
      if (!m.error.empty()) {
        fmt::print("| {} | {} | - | - | - | failed: {} |\n", w.name, name, m.error);
        continue;
      }
      std::vector<double> rates;
      for (double s : m.seconds) rates.push_back(tokens / s);
      const bool complete = m.tokens.size() == static_cast<size_t>(w.n) &&
                            std::all_of(m.tokens.begin(), m.tokens.end(), [&](const auto& t) { return t.size() == static_cast<size_t>(w.new_tokens); });
      std::string same = !complete ? "INCOMPLETE" : w.n > 1 ? "(sampled)" : m.tokens == engines.front().second.tokens ? "yes" : "NO";
      if (name == "llama.cpp (its defaults)" && w.n == 1 && same == "NO") same = "no (f16 attention)";
      const double rate = median(rates);
      fmt::print("| {} | {} | {:.0f} | {:.0f} - {:.0f} | {} | {} |\n", w.name, name, rate,
                 *std::min_element(rates.begin(), rates.end()), *std::max_element(rates.begin(), rates.end()),
                 name == "garden" ? "-" : fmt::format("{:.2f}x", ours / rate), same);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(scratch);
  return 0;
}
