// Generation throughput, garden's side of bench/generation.py (which runs garden, llama.cpp
// through its C API on the library node-llama-cpp ships (bench/peers/llama_cpp_peer.cpp) and
// PyTorch in Python (bench/peers/generation_peer.py) in fresh processes, alternating):
//   garden_bench_generation prepare DIR
//       makes sure the shared base LM exists (garden lm base: 4 layers, d=128, SentencePiece
//       8k), exports it to DIR/base.gguf for llama.cpp, and prints {"model", "gguf",
//       "prompt_ids", "parameters", "llama_peer", "llama_backends"} (the peer's fields null
//       when it is not built)
//   garden_bench_generation run MODEL single|batched PROMPT_IDS NEW N THREADS ROUNDS
//       one warm-up, then ROUNDS rounds of the workload (prefill + every decode step):
//       single = one greedy completion of NEW tokens, batched = N completions of NEW tokens
//       sampled at temperature 1; prints {"seconds": [per round], "tokens": [the first
//       round's completions], "peak_rss_bytes"}, the peers' format.
#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "garden/core/data_root.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/model/generation.h"
#include "garden/model/gguf_export.h"
#include "garden/model/model_folder.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"
#include "peers/process_stats.h"

namespace {

std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) ids.push_back(std::stoll(item));
  return ids;
}

int prepare(const std::filesystem::path& dir) {
  const auto base = garden::train::ensure_base_lm(garden::resolve_cache_dir(""), garden::resolve_data_root(""),
                                                  garden::train::BaseLmOptions{});
  auto loaded = garden::model::load_model(base.model);
  auto tokenizer = garden::text::load_tokenizer(loaded.tokenizer_spec);
  std::vector<int64_t> prompt{tokenizer->bos_id()};
  for (auto id : tokenizer->encode("And the LORD spake unto Moses, saying,")) prompt.push_back(id);
  std::string prompt_ids;
  for (auto id : prompt) {
    if (!prompt_ids.empty()) prompt_ids += ',';
    prompt_ids += std::to_string(id);
  }
  std::filesystem::create_directories(dir);
  garden::model::export_gguf(base.model, dir / "base.gguf", garden::model::GgufDtype::f32);
  garden::Json out{{"model", base.model.string()}, {"gguf", (dir / "base.gguf").string()}, {"prompt_ids", prompt_ids},
                   {"parameters", loaded.model->parameter_count()}, {"llama_peer", nullptr}, {"llama_backends", nullptr}};
#ifdef GARDEN_LLAMA_PEER
  out["llama_peer"] = GARDEN_LLAMA_PEER;
  out["llama_backends"] = GARDEN_LLAMA_BACKENDS;
#endif
  fmt::print("{}\n", out.dump());
  return 0;
}

int run(char** argv) {
  const auto model_dir = std::filesystem::path(argv[2]);
  const std::string mode = argv[3];
  const auto prompt = parse_ids(argv[4]);
  garden::model::GenerateOptions o;
  o.max_new_tokens = std::stoll(argv[5]);
  o.n_samples = mode == "single" ? 1 : std::stoll(argv[6]);
  o.temperature = mode == "single" ? 0.0 : 1.0;  // no stop tokens: every completion runs its full length, as in the peers
  garden::configure_threads(std::atoi(argv[7]));
  const int rounds = std::atoi(argv[8]);
  auto loaded = garden::model::load_model(model_dir);
  garden::model::generate(loaded.model, prompt, o);  // warm-up
  std::vector<double> seconds;
  std::vector<std::vector<int64_t>> first;
  for (int round = 0; round < rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    auto completions = garden::model::generate(loaded.model, prompt, o);
    seconds.push_back(bench::seconds_since(start));
    if (round == 0)
      for (auto& c : completions) first.push_back(c.tokens);
  }
  fmt::print("{}\n", garden::Json{{"seconds", seconds}, {"tokens", first}, {"peak_rss_bytes", bench::peak_resident_bytes()}}.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "prepare" && argc == 3) return prepare(argv[2]);
    if (command == "run" && argc == 9) return run(argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "garden_bench_generation {}: {}\n", command, e.what());
    return 1;
  }
  fmt::print(stderr, "usage: garden_bench_generation prepare DIR | run MODEL single|batched PROMPT_IDS NEW N THREADS ROUNDS\n");
  return 2;
}
