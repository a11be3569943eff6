// The llama.cpp peer of bench/generation.py: the same decoding work through llama.cpp's
// C API, against the libllama that node-llama-cpp ships (tests/clients/, pinned 3.21.1), so
// that no JavaScript runs in the timed region. Built by bench/CMakeLists.txt only when that
// package is installed; its headers come from the llama.cpp source bundle in the package.
//
//   garden_llama_cpp_peer MODEL.gguf BACKENDS_DIR single|batched PROMPT_IDS NEW N THREADS ROUNDS exact|defaults
//
// PROMPT_IDS: comma-separated token ids (BOS first). single: one greedy completion of NEW
// tokens; batched: N completions of NEW tokens sampled at temperature 1 from one prompt
// (prefilled once, shared by all N sequences). exact: f32 kv-cache and no flash attention
// (garden's arithmetic); defaults: llama.cpp's own context defaults. Prints one JSON line:
// {"seconds": [per round], "tokens": [the first round's completion(s)], "peak_rss_bytes"}. A round covers the
// prompt's prefill and every decode step, as garden's timed region does.
//
// llama.cpp's threads are pinned to distinct CPUs (the first THREADS this process may run
// on): on a 2-CPU virtual machine the scheduler was seen to keep both of its polling threads
// on one CPU for a whole process, about 55 instead of 2,200 tokens/s with thousands of
// involuntary context switches, in 1 to 4 of 5 single-stream processes. That measures the
// scheduler, not llama.cpp. (garden's OpenMP threads do not poll that way and are not pinned.)
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <llama.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "process_stats.h"

namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "llama_cpp_peer: %s\n", message.c_str());
  std::exit(1);
}

std::vector<llama_token> parse_ids(const std::string& text) {
  std::vector<llama_token> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) ids.push_back(static_cast<llama_token>(std::stol(item)));
  return ids;
}

void add(llama_batch& batch, llama_token token, llama_pos pos, const std::vector<llama_seq_id>& seqs, bool logits) {
  const int i = batch.n_tokens++;
  batch.token[i] = token;
  batch.pos[i] = pos;
  batch.n_seq_id[i] = static_cast<int32_t>(seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) batch.seq_id[i][s] = seqs[s];
  batch.logits[i] = logits;
}

// One round: prefill the prompt into every sequence, then NEW decode steps of one token per
// sequence. Returns the tokens of each sequence.
std::vector<std::vector<llama_token>> run(llama_context* ctx, llama_sampler* sampler, const std::vector<llama_token>& prompt,
                                          int new_tokens, int n) {
  llama_memory_clear(llama_get_memory(ctx), true);
  llama_sampler_reset(sampler);
  std::vector<llama_seq_id> all(static_cast<size_t>(n));
  for (int s = 0; s < n; ++s) all[static_cast<size_t>(s)] = s;
  llama_batch batch = llama_batch_init(static_cast<int32_t>(std::max<size_t>(prompt.size(), static_cast<size_t>(n))), 0, n);
  for (size_t i = 0; i < prompt.size(); ++i) add(batch, prompt[i], static_cast<llama_pos>(i), all, i + 1 == prompt.size());
  if (llama_decode(ctx, batch) != 0) die("llama_decode failed on the prompt");
  std::vector<std::vector<llama_token>> out(static_cast<size_t>(n));
  // Every sequence samples from the prompt's last logits first.
  std::vector<int32_t> logit_index(static_cast<size_t>(n), batch.n_tokens - 1);
  for (int step = 0; step < new_tokens; ++step) {
    std::vector<llama_token> next(static_cast<size_t>(n));
    for (int s = 0; s < n; ++s) {
      next[static_cast<size_t>(s)] = llama_sampler_sample(sampler, ctx, logit_index[static_cast<size_t>(s)]);
      out[static_cast<size_t>(s)].push_back(next[static_cast<size_t>(s)]);
    }
    if (step + 1 == new_tokens) break;
    batch.n_tokens = 0;
    for (int s = 0; s < n; ++s) {
      add(batch, next[static_cast<size_t>(s)], static_cast<llama_pos>(prompt.size()) + step, {s}, true);
      logit_index[static_cast<size_t>(s)] = s;
    }
    if (llama_decode(ctx, batch) != 0) die("llama_decode failed at step " + std::to_string(step));
  }
  llama_batch_free(batch);
  return out;
}

// A function of the CPU backend, which ggml_backend_load_all_from_path loads at run time (its
// symbols are not linked).
template <typename Function>
Function cpu_backend_function(const char* name) {
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!cpu) die("llama.cpp has no CPU backend");
  auto* function = reinterpret_cast<Function>(ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(cpu), name));
  if (!function) die(std::string("llama.cpp's CPU backend does not offer ") + name);
  return function;
}

// A threadpool whose threads each keep to one CPU of those this process may use.
ggml_threadpool* pinned_threadpool(int threads) {
  auto* make = cpu_backend_function<decltype(&ggml_threadpool_new)>("ggml_threadpool_new");
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) die("cannot read this process's CPU affinity");
  ggml_threadpool_params params = ggml_threadpool_params_default(threads);
  int pinned = 0;
  for (int c = 0; c < CPU_SETSIZE && c < GGML_MAX_N_THREADS && pinned < threads; ++c)
    if (CPU_ISSET(c, &allowed)) {
      params.cpumask[c] = true;
      ++pinned;
    }
  if (pinned < threads) die("fewer CPUs available than the " + std::to_string(threads) + " threads asked for");
  params.strict_cpu = true;
  ggml_threadpool* pool = make(&params);
  if (!pool) die("cannot create llama.cpp's threadpool");
  return pool;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 10)
    die("usage: garden_llama_cpp_peer MODEL.gguf BACKENDS_DIR single|batched PROMPT_IDS NEW N THREADS ROUNDS exact|defaults");
  const std::string model_path = argv[1], backends = argv[2], mode = argv[3], attention = argv[9];
  const auto prompt = parse_ids(argv[4]);
  const int new_tokens = std::atoi(argv[5]), n = mode == "single" ? 1 : std::atoi(argv[6]);
  const int threads = std::atoi(argv[7]), rounds = std::atoi(argv[8]);

  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  ggml_backend_load_all_from_path(backends.c_str());
  llama_backend_init();
  llama_model* model = llama_model_load_from_file(model_path.c_str(), llama_model_default_params());
  if (!model) die("cannot load " + model_path);
  llama_context_params params = llama_context_default_params();
  params.n_ctx = static_cast<uint32_t>(prompt.size() + static_cast<size_t>(new_tokens)) * static_cast<uint32_t>(n) + 64;
  params.n_batch = params.n_ubatch = static_cast<uint32_t>(std::max<size_t>(prompt.size(), static_cast<size_t>(n)));
  params.n_seq_max = static_cast<uint32_t>(n);
  params.n_threads = params.n_threads_batch = threads;
  params.kv_unified = true;  // the N sequences share the prompt's cells
  params.no_perf = true;
  if (attention == "exact") {
    params.type_k = params.type_v = GGML_TYPE_F32;
    params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  } else if (attention != "defaults") {
    die("attention must be exact or defaults");
  }
  llama_context* ctx = llama_init_from_model(model, params);
  if (!ctx) die("cannot create a context");
  ggml_threadpool* pool = pinned_threadpool(threads);
  llama_attach_threadpool(ctx, pool, pool);
  llama_sampler* sampler = llama_sampler_chain_init(llama_sampler_chain_default_params());
  if (mode == "single") {
    llama_sampler_chain_add(sampler, llama_sampler_init_greedy());
  } else {
    llama_sampler_chain_add(sampler, llama_sampler_init_temp(1.0f));
    llama_sampler_chain_add(sampler, llama_sampler_init_dist(0));
  }

  run(ctx, sampler, prompt, new_tokens, n);  // warm-up
  std::vector<double> seconds;
  std::vector<std::vector<llama_token>> first;
  for (int round = 0; round < rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    auto tokens = run(ctx, sampler, prompt, new_tokens, n);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (round == 0) first = std::move(tokens);
  }
  std::printf("{\"seconds\": [");
  for (size_t i = 0; i < seconds.size(); ++i) std::printf("%s%.6f", i ? ", " : "", seconds[i]);
  std::printf("], \"tokens\": [");
  for (size_t s = 0; s < first.size(); ++s) {
    std::printf("%s[", s ? ", " : "");
    for (size_t i = 0; i < first[s].size(); ++i) std::printf("%s%d", i ? ", " : "", first[s][i]);
    std::printf("]");
  }
  std::printf("], \"peak_rss_bytes\": %lld}\n", static_cast<long long>(bench::peak_resident_bytes()));
  llama_sampler_free(sampler);
  llama_free(ctx);
  cpu_backend_function<decltype(&ggml_threadpool_free)>("ggml_threadpool_free")(pool);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
